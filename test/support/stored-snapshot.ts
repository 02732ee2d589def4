import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  applyEntries,
  applyLayers,
  indexOf,
  manifestOf,
} from '../../shared/domain/snapshot/apply-layers.ts';
import {
  type ChunkLocation,
  ENTRIES_FORMAT,
  type Entries,
  EntriesSchema,
  FORMAT_V1,
  FORMAT_V2,
  keys,
  LAYER_FORMAT_V2,
  LayerSchema,
  LOCATIONS_FORMAT,
  type Locations,
  LocationsSchema,
  type Manifest,
  type ManifestObject,
  ManifestV1Schema,
  type MemberRef,
  type Root,
  RootSchema,
  type RootV2,
  RootV2Schema,
} from '../../shared/domain/snapshot/format.ts';
import type { InMemoryBlobStore } from '../fakes/blob-store.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The root of a stored snapshot, parsed; throws unless it is version 3. */
export function rootIn(vault: InMemoryBlobStore, instanceId: string, snapshotId: string): Root {
  return RootSchema.parse(
    JSON.parse(vault.bytes(keys.manifest(instanceId, snapshotId)).toString('utf8')),
  );
}

function cut(vault: InMemoryBlobStore, instanceId: string, ref: MemberRef): unknown {
  const pack = vault.bytes(keys.pack(instanceId, ref.pack));
  return JSON.parse(
    gunzipSync(pack.subarray(ref.offset, ref.offset + ref.length)).toString('utf8'),
  );
}

/** The entries member of one layer, cut out of its pack and parsed. */
export function entriesIn(
  vault: InMemoryBlobStore,
  instanceId: string,
  ref: Root['layers'][number],
): Entries {
  return EntriesSchema.parse(cut(vault, instanceId, ref.entries));
}

/** The locations member of one layer, cut out of its pack and parsed. */
export function locationsIn(
  vault: InMemoryBlobStore,
  instanceId: string,
  ref: Root['layers'][number],
): Locations {
  return LocationsSchema.parse(cut(vault, instanceId, ref.locations));
}

/** A layer as one view: its entries member's objects and deleted keys, its locations' chunks. */
export interface LayerView {
  objects: ManifestObject[];
  deleted: string[];
  chunks: Record<string, ChunkLocation>;
}

/** One version-3 layer of a stored snapshot, both members read. */
export function layerIn(
  vault: InMemoryBlobStore,
  instanceId: string,
  ref: Root['layers'][number],
): LayerView {
  const entries = entriesIn(vault, instanceId, ref);
  return {
    objects: entries.objects,
    deleted: entries.deleted,
    chunks: locationsIn(vault, instanceId, ref).chunks,
  };
}

/**
 * A stored snapshot as readers see it (any format), read straight from the bucket without the
 * code under test: every object and the chunk index.
 */
export function manifestIn(
  vault: InMemoryBlobStore,
  instanceId: string,
  snapshotId: string,
): Manifest {
  const stored = JSON.parse(vault.bytes(keys.manifest(instanceId, snapshotId)).toString('utf8'));
  if (stored.format === FORMAT_V1) {
    const v1 = ManifestV1Schema.parse(stored);
    return { ...v1, packs: [...new Set(Object.values(v1.chunks).map((c) => c.pack))].sort() };
  }
  if (stored.format === FORMAT_V2) {
    const root = RootV2Schema.parse(stored);
    const { objects, chunks } = applyLayers(
      root.layers.map((ref) => LayerSchema.parse(cut(vault, instanceId, ref))),
    );
    return manifestOf(root, objects, chunks);
  }
  const root = RootSchema.parse(stored);
  const objects = applyEntries(root.layers.map((ref) => entriesIn(vault, instanceId, ref)));
  const chunks = indexOf(
    objects,
    root.layers.map((ref) => locationsIn(vault, instanceId, ref).chunks),
  );
  return manifestOf(root, objects, chunks);
}

/**
 * Rewrites a stored snapshot as a version-1 manifest over the same packs: what a writer before
 * version 2 left on the bucket.
 */
export function downgradeToV1(
  vault: InMemoryBlobStore,
  instanceId: string,
  snapshotId: string,
): void {
  const m = manifestIn(vault, instanceId, snapshotId);
  const v1 = {
    format: FORMAT_V1,
    instanceId: m.instanceId,
    snapshotId: m.snapshotId,
    createdAt: m.createdAt,
    sourceRegion: m.sourceRegion,
    region: m.region,
    configDigest: m.configDigest,
    totals: m.totals,
    objects: m.objects,
    chunks: m.chunks,
  };
  vault.overwrite(
    keys.manifest(instanceId, snapshotId),
    Buffer.from(`${JSON.stringify(v1, null, 1)}\n`),
  );
}

/**
 * What a version-2 writer would have stored for a snapshot (read as a manifest): one full
 * layer (entries and locations together) in a metadata pack of its own, and a root over the
 * same data packs.
 */
export function formatV2Of(m: Manifest): { root: RootV2; pack: { id: string; body: Buffer } } {
  const layer = { format: LAYER_FORMAT_V2, objects: m.objects, chunks: m.chunks, deleted: [] };
  const raw = Buffer.from(JSON.stringify(layer));
  const body = gzipSync(raw);
  const pack = sha(body);
  const dataPacks = Object.values(m.chunks).map((c) => c.pack);
  const root: RootV2 = {
    format: FORMAT_V2,
    instanceId: m.instanceId,
    snapshotId: m.snapshotId,
    createdAt: m.createdAt,
    sourceRegion: m.sourceRegion,
    region: m.region,
    configDigest: m.configDigest,
    totals: m.totals,
    layers: [
      {
        id: sha(raw),
        pack,
        offset: 0,
        length: body.length,
        size: raw.length,
        objects: m.objects.length,
        deleted: 0,
      },
    ],
    packs: [...new Set([...dataPacks, pack])].sort(),
  };
  return { root: RootV2Schema.parse(root), pack: { id: pack, body } };
}

/** Rewrites a stored snapshot as a version-2 snapshot over the same data packs (`formatV2Of`). */
export function downgradeToV2(
  vault: InMemoryBlobStore,
  instanceId: string,
  snapshotId: string,
): void {
  const { root, pack } = formatV2Of(manifestIn(vault, instanceId, snapshotId));
  void vault.put(keys.pack(instanceId, pack.id), pack.body);
  vault.overwrite(
    keys.manifest(instanceId, snapshotId),
    Buffer.from(`${JSON.stringify(root, null, 1)}\n`),
  );
}

/** Pack ids holding a version-3 snapshot's metadata members (entries and locations). */
export function metadataPacks(
  vault: InMemoryBlobStore,
  instanceId: string,
  snapshotId: string,
): Set<string> {
  return new Set(
    rootIn(vault, instanceId, snapshotId).layers.flatMap((l) => [l.entries.pack, l.locations.pack]),
  );
}

function storeMember(vault: InMemoryBlobStore, instanceId: string, member: unknown): MemberRef {
  const raw = Buffer.from(JSON.stringify(member));
  const body = gzipSync(raw);
  const pack = sha(body);
  void vault.put(keys.pack(instanceId, pack), body);
  return { id: sha(raw), pack, offset: 0, length: body.length, size: raw.length };
}

/**
 * Replaces one layer of a stored snapshot by a changed copy, consistently: its members get new
 * ids and metadata packs and the root points at them, so every hash still holds. What it
 * models: a writer that recorded wrong entries, not bit rot.
 */
export function rewriteLayer(
  vault: InMemoryBlobStore,
  instanceId: string,
  snapshotId: string,
  index: number,
  change: (layer: LayerView) => void,
): void {
  const root = rootIn(vault, instanceId, snapshotId);
  const ref = root.layers[index];
  if (!ref) throw new Error(`test: snapshot ${snapshotId} has no layer ${index}`);
  const layer = layerIn(vault, instanceId, ref);
  change(layer);
  const entries = storeMember(vault, instanceId, {
    format: ENTRIES_FORMAT,
    objects: layer.objects,
    deleted: layer.deleted,
  });
  const locations = storeMember(vault, instanceId, {
    format: LOCATIONS_FORMAT,
    chunks: layer.chunks,
  });
  root.layers[index] = {
    entries,
    locations,
    objects: layer.objects.length,
    deleted: layer.deleted.length,
    packs: [...new Set([...ref.packs, entries.pack, locations.pack])].sort(),
  };
  root.packs = [...new Set([...root.packs, entries.pack, locations.pack])].sort();
  vault.overwrite(
    keys.manifest(instanceId, snapshotId),
    Buffer.from(`${JSON.stringify(root, null, 1)}\n`),
  );
}
