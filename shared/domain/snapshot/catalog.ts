import { gunzipSync } from 'node:zlib';
import type { z } from 'zod';
import { SnapshotIntegrityError, SnapshotNotFoundError } from '../../errors.ts';
import { firstProblem } from '../../validation.ts';
import type { BlobStore, MetadataCache } from '../ports.ts';
import {
  type ChunkLocation,
  FORMAT,
  FORMAT_V1,
  idFromKey,
  isSnapshotId,
  keys,
  type Layer,
  type LayerRef,
  LayerSchema,
  type Manifest,
  type ManifestObject,
  ManifestV1Schema,
  type Root,
  RootSchema,
  sha256Hex,
} from './format.ts';

/** Ids of the snapshots committed in one backup bucket, newest first. */
export async function listCommittedSnapshotIds(
  vault: BlobStore,
  instanceId: string,
): Promise<string[]> {
  const markers = await vault.list(keys.commitsPrefix(instanceId));
  return markers
    .map((m) => idFromKey(m.key))
    .filter(isSnapshotId)
    .sort()
    .reverse();
}

/** How to read a snapshot's metadata: an optional local cache of layers, by content address. */
export interface ReadOptions {
  cache?: MetadataCache;
}

/** A stored snapshot root, v1 manifest or v2 root, parsed and checked against its key. */
export type StoredRoot = { format: typeof FORMAT_V1; manifest: Manifest } | Root;

/**
 * Reads and validates what `snapshots/<id>.json` holds: a version-2 root, or a whole version-1
 * manifest. A malformed one is an integrity failure, named by key and field.
 */
export async function readRoot(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
): Promise<StoredRoot> {
  const key = keys.manifest(instanceId, snapshotId);
  const bytes = await vault.get(key);
  if (!bytes) throw new SnapshotNotFoundError(instanceId, vault.location, snapshotId);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw badManifest(instanceId, snapshotId, key, 'not JSON', cause);
  }
  const format = (parsed as { format?: unknown } | null)?.format;
  // The format field decides the schema, so an old snapshot is read by the old rules.
  const schema: z.ZodType<Root | z.infer<typeof ManifestV1Schema>> =
    format === FORMAT_V1 ? ManifestV1Schema : RootSchema;
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const { field, message } = firstProblem(result.error);
    const detail =
      format !== FORMAT && format !== FORMAT_V1
        ? `format: unknown snapshot format ${JSON.stringify(format)} (this reader knows ${FORMAT_V1} and ${FORMAT})`
        : field
          ? `${field}: ${message}`
          : message;
    throw badManifest(instanceId, snapshotId, key, detail, result.error);
  }
  for (const [field, expected] of [
    ['instanceId', instanceId],
    ['snapshotId', snapshotId],
  ] as const) {
    if (result.data[field] !== expected) {
      const found = JSON.stringify(result.data[field].slice(0, 100));
      const detail = `${field}: names another instance or snapshot (${found}, expected "${expected}")`;
      throw badManifest(instanceId, snapshotId, key, detail);
    }
  }
  if (result.data.format === FORMAT_V1) {
    const v1 = result.data as z.infer<typeof ManifestV1Schema>;
    const packs = [...new Set(Object.values(v1.chunks).map((c) => c.pack))].sort();
    return { format: FORMAT_V1, manifest: { ...v1, packs } };
  }
  return result.data as Root;
}

/** The packs a stored snapshot needs, from its root alone (no layer is read). */
export function packsOf(root: StoredRoot): string[] {
  return root.format === FORMAT_V1 ? root.manifest.packs : root.packs;
}

/**
 * Reads one layer: from the cache when it holds the id, else from its pack. Its bytes must
 * gunzip to JSON whose SHA-256 is the layer id and which matches the layer schema.
 */
export async function readLayer(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  ref: LayerRef,
  options: ReadOptions = {},
): Promise<Layer> {
  const packKey = keys.pack(instanceId, ref.pack);
  const name = `layer ${ref.id} in ${packKey}`;
  const fail = (detail: string, cause?: unknown) =>
    new SnapshotIntegrityError(
      instanceId,
      snapshotId,
      [{ kind: 'bad-manifest', name, affectedObjects: [], detail }],
      { cause },
    );
  let raw = await cached(options.cache, ref.id);
  if (!raw) {
    const pack = await vault.get(packKey);
    if (!pack) {
      throw new SnapshotIntegrityError(instanceId, snapshotId, [
        {
          kind: 'missing-pack',
          name: packKey,
          affectedObjects: [],
          detail: `pack object is absent; it holds metadata layer ${ref.id}`,
        },
      ]);
    }
    const body = Buffer.from(pack.buffer, pack.byteOffset, pack.byteLength);
    if (sha256Hex(body) !== ref.pack) {
      throw new SnapshotIntegrityError(instanceId, snapshotId, [
        {
          kind: 'corrupt-pack',
          name: packKey,
          affectedObjects: [],
          detail: `pack bytes do not match the pack id; it holds metadata layer ${ref.id}`,
        },
      ]);
    }
    const member = body.subarray(ref.offset, ref.offset + ref.length);
    try {
      raw = gunzipSync(member);
    } catch (cause) {
      throw fail('does not decompress', cause);
    }
    if (raw.length !== ref.size || sha256Hex(raw) !== ref.id) {
      throw fail('does not match its SHA-256');
    }
    await options.cache?.put(ref.id, raw).catch(() => undefined);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw fail('not JSON', cause);
  }
  const result = LayerSchema.safeParse(parsed);
  if (!result.success) {
    const { field, message } = firstProblem(result.error);
    throw fail(field ? `${field}: ${message}` : message, result.error);
  }
  return result.data;
}

/** A cache hit only counts when its bytes still hash to the id: the cache is never trusted. */
async function cached(cache: MetadataCache | undefined, id: string): Promise<Buffer | undefined> {
  if (!cache) return undefined;
  const hit = await cache.get(id).catch(() => undefined);
  if (!hit) return undefined;
  const bytes = Buffer.from(hit.buffer, hit.byteOffset, hit.byteLength);
  return sha256Hex(bytes) === id ? bytes : undefined;
}

/**
 * Applies layers in order: each removes its `deleted` keys, then adds or replaces its entries.
 * The result is every object sorted by key, with the chunk index its objects need.
 */
export function applyLayers(layers: readonly Layer[]): {
  objects: ManifestObject[];
  chunks: Record<string, ChunkLocation>;
} {
  const byKey = new Map<string, ManifestObject>();
  const locations = new Map<string, ChunkLocation>();
  for (const layer of layers) {
    for (const key of layer.deleted) byKey.delete(key);
    for (const object of layer.objects) byKey.set(object.key, object);
    for (const [id, location] of Object.entries(layer.chunks)) locations.set(id, location);
  }
  const objects = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const chunks: Record<string, ChunkLocation> = {};
  for (const object of objects) {
    for (const id of object.chunks) {
      const location = locations.get(id);
      if (location) chunks[id] = location;
    }
  }
  return { objects, chunks };
}

/** A snapshot as stored: its root, and for version 2 the layers it is made of. */
export interface StoredSnapshot {
  manifest: Manifest;
  /** Version 2 only, in root order. */
  layers: Layer[];
}

/**
 * Reads one snapshot, either format, with its layers: every layer is read (or taken from the
 * cache), checked by hash and applied.
 */
export async function readSnapshot(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  options: ReadOptions = {},
): Promise<StoredSnapshot> {
  const root = await readRoot(vault, instanceId, snapshotId);
  if (root.format === FORMAT_V1) return { manifest: root.manifest, layers: [] };
  const layers = await Promise.all(
    root.layers.map((ref) => readLayer(vault, instanceId, snapshotId, ref, options)),
  );
  const { objects, chunks } = applyLayers(layers);
  const bytes = objects.reduce((sum, o) => sum + o.size, 0);
  if (objects.length !== root.totals.objects || bytes !== root.totals.bytes) {
    throw badManifest(
      instanceId,
      snapshotId,
      keys.manifest(instanceId, snapshotId),
      `totals: the layers hold ${objects.length} objects of ${bytes} bytes, the root says ${root.totals.objects} of ${root.totals.bytes}`,
    );
  }
  const manifest: Manifest = {
    format: FORMAT,
    instanceId,
    snapshotId,
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
  return { manifest, layers };
}

/** Reads one snapshot, either format, as readers use it: every object and the chunk index. */
export async function readManifest(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  options: ReadOptions = {},
): Promise<Manifest> {
  return (await readSnapshot(vault, instanceId, snapshotId, options)).manifest;
}

function badManifest(
  instanceId: string,
  snapshotId: string,
  key: string,
  detail: string,
  cause?: unknown,
) {
  return new SnapshotIntegrityError(
    instanceId,
    snapshotId,
    [{ kind: 'bad-manifest', name: key, affectedObjects: [], detail }],
    { cause },
  );
}

/** The newest committed manifest in a bucket, or undefined when none is committed yet. */
export async function latestCommittedManifest(
  vault: BlobStore,
  instanceId: string,
  options: ReadOptions & { committedIds?: readonly string[] } = {},
): Promise<Manifest | undefined> {
  const [newest] = options.committedIds ?? (await listCommittedSnapshotIds(vault, instanceId));
  return newest ? readManifest(vault, instanceId, newest, options) : undefined;
}

/**
 * The objects of a stored snapshot, decoded synchronously from bytes already at hand (the
 * simulator's buckets, tests): the root's bytes and a lookup of pack bytes by pack id. No
 * hash is checked here; readers that restore use `readManifest`.
 */
export function objectsOfStored(
  rootBytes: Uint8Array,
  packBytes: (packId: string) => Uint8Array | undefined,
): ManifestObject[] {
  const root = JSON.parse(Buffer.from(rootBytes).toString('utf8')) as
    | { format: typeof FORMAT_V1; objects: ManifestObject[] }
    | Root;
  if (root.format === FORMAT_V1) return root.objects;
  const layers = root.layers.map((ref) => {
    const pack = packBytes(ref.pack);
    if (!pack) throw new Error(`pack ${ref.pack} of layer ${ref.id} is absent`);
    const member = Buffer.from(pack).subarray(ref.offset, ref.offset + ref.length);
    return LayerSchema.parse(JSON.parse(gunzipSync(member).toString('utf8')));
  });
  return applyLayers(layers).objects;
}
