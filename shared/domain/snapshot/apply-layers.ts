import type { ChunkLocation, Layer, Manifest, ManifestObject, Root, RootV2 } from './format.ts';

// What a snapshot's metadata adds up to, once read and checked (catalog.ts, members.ts): pure
// functions of the layers or entries, in root order, so writers and readers apply them alike.

function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Applies entries in order: each removes its `deleted` keys, then adds or replaces its objects. */
export function applyEntries(
  layers: readonly { objects: readonly ManifestObject[]; deleted: readonly string[] }[],
): ManifestObject[] {
  const at = new Map<string, ManifestObject>();
  for (const layer of layers) {
    for (const key of layer.deleted) at.delete(key);
    for (const object of layer.objects) at.set(object.key, object);
  }
  return [...at.values()].sort(byKey);
}

/** The chunk index of `objects` from location maps in order (a later location wins). */
export function indexOf(
  objects: readonly ManifestObject[],
  maps: readonly Record<string, ChunkLocation>[],
): Record<string, ChunkLocation> {
  const locations = new Map<string, ChunkLocation>();
  for (const map of maps)
    for (const [id, location] of Object.entries(map)) locations.set(id, location);
  const chunks: Record<string, ChunkLocation> = {};
  for (const object of objects) {
    for (const id of object.chunks) {
      const location = locations.get(id);
      if (location) chunks[id] = location;
    }
  }
  return chunks;
}

/**
 * Applies version-2 layers in order: each removes its `deleted` keys, then adds or replaces its
 * entries. The result is every object sorted by key, with the chunk index its objects need.
 */
export function applyLayers(layers: readonly Layer[]): {
  objects: ManifestObject[];
  chunks: Record<string, ChunkLocation>;
} {
  const objects = applyEntries(layers);
  return {
    objects,
    chunks: indexOf(
      objects,
      layers.map((l) => l.chunks),
    ),
  };
}

/** Applied entries of a chain, with the set of chunk ids its objects reference. */
export interface AppliedEntries {
  objects: ManifestObject[];
  chunkIds: Set<string>;
}

/** The applied entries of `objects`, with the chunk ids they reference. */
export function applied(objects: ManifestObject[]): AppliedEntries {
  const chunkIds = new Set<string>();
  for (const object of objects) for (const id of object.chunks) chunkIds.add(id);
  return { objects, chunkIds };
}

/** The manifest readers see: the root's fields with the objects and chunks its layers result in. */
export function manifestOf(
  root: Root | RootV2,
  objects: ManifestObject[],
  chunks: Record<string, ChunkLocation>,
): Manifest {
  return {
    format: root.format,
    instanceId: root.instanceId,
    snapshotId: root.snapshotId,
    createdAt: root.createdAt,
    sourceRegion: root.sourceRegion,
    region: root.region,
    configDigest: root.configDigest,
    totals: root.totals,
    objects,
    chunks,
    packs: root.packs,
    root,
  };
}
