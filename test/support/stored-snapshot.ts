import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { applyLayers } from '../../shared/domain/snapshot/catalog.ts';
import {
  FORMAT_V1,
  keys,
  type Layer,
  LayerSchema,
  type Manifest,
  ManifestV1Schema,
  type Root,
  RootSchema,
} from '../../shared/domain/snapshot/format.ts';
import type { InMemoryBlobStore } from '../fakes/blob-store.ts';

/** The root of a stored snapshot, parsed; throws for a version-1 manifest. */
export function rootIn(vault: InMemoryBlobStore, instanceId: string, snapshotId: string): Root {
  return RootSchema.parse(
    JSON.parse(vault.bytes(keys.manifest(instanceId, snapshotId)).toString('utf8')),
  );
}

/** One layer of a stored snapshot, cut out of its pack and parsed. */
export function layerIn(
  vault: InMemoryBlobStore,
  instanceId: string,
  ref: Root['layers'][number],
): Layer {
  const pack = vault.bytes(keys.pack(instanceId, ref.pack));
  return LayerSchema.parse(
    JSON.parse(gunzipSync(pack.subarray(ref.offset, ref.offset + ref.length)).toString('utf8')),
  );
}

/**
 * A stored snapshot as readers see it (either format), read straight from the bucket without
 * the code under test: every object and the chunk index.
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
  const root = RootSchema.parse(stored);
  const { objects, chunks } = applyLayers(
    root.layers.map((ref) => layerIn(vault, instanceId, ref)),
  );
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

/**
 * Rewrites a stored version-2 snapshot as a version-1 manifest over the same packs: what a
 * writer before version 2 left on the bucket.
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

/** Pack ids holding a version-2 snapshot's metadata layers. */
export function metadataPacks(
  vault: InMemoryBlobStore,
  instanceId: string,
  snapshotId: string,
): Set<string> {
  return new Set(rootIn(vault, instanceId, snapshotId).layers.map((l) => l.pack));
}

/**
 * Replaces one layer of a stored snapshot by a changed copy, consistently: the new layer gets
 * its own id and metadata pack and the root points at it, so every layer hash still holds.
 * What it models: a writer that recorded wrong entries, not bit rot.
 */
export function rewriteLayer(
  vault: InMemoryBlobStore,
  instanceId: string,
  snapshotId: string,
  index: number,
  change: (layer: Layer) => void,
): void {
  const root = rootIn(vault, instanceId, snapshotId);
  const ref = root.layers[index];
  if (!ref) throw new Error(`test: snapshot ${snapshotId} has no layer ${index}`);
  const layer = layerIn(vault, instanceId, ref);
  change(layer);
  const raw = Buffer.from(JSON.stringify(layer));
  const body = gzipSync(raw);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const pack = sha(body);
  void vault.put(keys.pack(instanceId, pack), body);
  root.layers[index] = {
    ...ref,
    id: sha(raw),
    pack,
    offset: 0,
    length: body.length,
    size: raw.length,
    objects: layer.objects.length,
    deleted: layer.deleted.length,
  };
  root.packs = [...new Set([...root.packs, pack])].sort();
  vault.overwrite(
    keys.manifest(instanceId, snapshotId),
    Buffer.from(`${JSON.stringify(root, null, 1)}\n`),
  );
}
