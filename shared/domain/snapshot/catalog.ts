import { gunzipSync } from 'node:zlib';
import type { z } from 'zod';
import { SnapshotIntegrityError, SnapshotNotFoundError } from '../../errors.ts';
import { firstProblem } from '../../validation.ts';
import type { BlobStore, MetadataCache } from '../ports.ts';
import {
  type ChunkLocation,
  type Entries,
  EntriesSchema,
  FORMAT,
  FORMAT_V1,
  FORMAT_V2,
  idFromKey,
  isSnapshotId,
  keys,
  type Layer,
  type LayerRef,
  type LayerRefV3,
  LayerSchema,
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

/**
 * Metadata read once per run and shared by every region whose root names the same member id:
 * a member is content-addressed and re-hashed when read, so one checked copy stands for all.
 * When the first region's read fails, each other region reads its own copy instead.
 */
export class SharedReads {
  private readonly members = new Map<string, Promise<unknown>>();
  private readonly chains = new Map<string, Promise<AppliedEntries>>();

  member<T>(id: string, read: () => Promise<T>): Promise<T> {
    const hit = this.members.get(id) as Promise<T> | undefined;
    // The first reader's failure is its own bucket's: every other region then reads its copy.
    if (hit) return hit.catch(() => read());
    const mine = read();
    this.members.set(id, mine);
    mine.catch(() => {
      if (this.members.get(id) === mine) this.members.delete(id);
    });
    return mine;
  }

  /** The applied entries of a chain of entries members, keyed by their ids in order. */
  chain(ids: readonly string[], apply: () => Promise<AppliedEntries>): Promise<AppliedEntries> {
    const key = ids.join(',');
    let hit = this.chains.get(key);
    if (!hit) {
      hit = apply();
      this.chains.set(key, hit);
      hit.catch(() => this.chains.delete(key));
    }
    return hit;
  }
}

/** How to read a snapshot's metadata: a local cache by content address, and reads shared in a run. */
export interface ReadOptions {
  cache?: MetadataCache;
  shared?: SharedReads;
}

/** A stored snapshot root: a v1 manifest, a v2 root or a v3 root, parsed and checked against its key. */
export type StoredRoot = { format: typeof FORMAT_V1; manifest: Manifest } | RootV2 | Root;

/**
 * Reads and validates what `snapshots/<id>.json` holds: a version-3 or version-2 root, or a
 * whole version-1 manifest. A malformed one is an integrity failure, named by key and field.
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
  const schema: z.ZodType<Root | RootV2 | z.infer<typeof ManifestV1Schema>> =
    format === FORMAT_V1 ? ManifestV1Schema : format === FORMAT_V2 ? RootV2Schema : RootSchema;
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const { field, message } = firstProblem(result.error);
    const detail =
      format !== FORMAT && format !== FORMAT_V2 && format !== FORMAT_V1
        ? `format: unknown snapshot format ${JSON.stringify(format)} (this reader knows ${FORMAT_V1}, ${FORMAT_V2} and ${FORMAT})`
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
  return result.data as Root | RootV2;
}

/** The packs a stored snapshot needs, from its root alone (no layer is read). */
export function packsOf(root: StoredRoot): string[] {
  return root.format === FORMAT_V1 ? root.manifest.packs : root.packs;
}

/** The config digest a stored root records, whatever its format. */
export function digestOf(root: StoredRoot): string {
  return root.format === FORMAT_V1 ? root.manifest.configDigest : root.configDigest;
}

/**
 * Reads one gzip member of a pack (a v2 layer, or a v3 entries or locations member): from the
 * cache when it holds the id, else from its pack, whose bytes must hash to the pack id. The
 * member must gunzip to `size` bytes whose SHA-256 is its id. `what` names it in errors.
 */
async function readMemberBytes(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  ref: MemberRef,
  what: 'layer' | 'entries' | 'locations',
  options: ReadOptions,
): Promise<{ raw: Buffer; fail: (detail: string, cause?: unknown) => Error }> {
  const packKey = keys.pack(instanceId, ref.pack);
  const name = `${what} ${ref.id} in ${packKey}`;
  const holds = what === 'layer' ? `metadata layer ${ref.id}` : `metadata ${what} ${ref.id}`;
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
          detail: `pack object is absent; it holds ${holds}`,
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
          detail: `pack bytes do not match the pack id; it holds ${holds}`,
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
  return { raw, fail };
}

async function readMember<T>(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  ref: MemberRef,
  what: 'layer' | 'entries' | 'locations',
  schema: z.ZodType<T>,
  options: ReadOptions,
): Promise<T> {
  const { raw, fail } = await readMemberBytes(vault, instanceId, snapshotId, ref, what, options);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw fail('not JSON', cause);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const { field, message } = firstProblem(result.error);
    throw fail(field ? `${field}: ${message}` : message, result.error);
  }
  return result.data;
}

/** Reads one version-2 layer (cache first), checked by pack hash, layer hash and schema. */
export function readLayer(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  ref: LayerRef,
  options: ReadOptions = {},
): Promise<Layer> {
  return readMember(vault, instanceId, snapshotId, ref, 'layer', LayerSchema, options);
}

/** Reads one version-3 entries member, once per run for every region that names its id. */
export function readEntries(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  ref: MemberRef,
  options: ReadOptions = {},
): Promise<Entries> {
  const read = () =>
    readMember(vault, instanceId, snapshotId, ref, 'entries', EntriesSchema, options);
  return options.shared ? options.shared.member(ref.id, read) : read();
}

/** Reads one version-3 locations member (this bucket's; never shared between regions' ids by chance). */
export function readLocations(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  ref: MemberRef,
  options: ReadOptions = {},
): Promise<Locations> {
  return readMember(vault, instanceId, snapshotId, ref, 'locations', LocationsSchema, options);
}

/** A cache hit only counts when its bytes still hash to the id: the cache is never trusted. */
async function cached(cache: MetadataCache | undefined, id: string): Promise<Buffer | undefined> {
  if (!cache) return undefined;
  const hit = await cache.get(id).catch(() => undefined);
  if (!hit) return undefined;
  const bytes = Buffer.from(hit.buffer, hit.byteOffset, hit.byteLength);
  return sha256Hex(bytes) === id ? bytes : undefined;
}

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

function applied(objects: ManifestObject[]): AppliedEntries {
  const chunkIds = new Set<string>();
  for (const object of objects) for (const id of object.chunks) chunkIds.add(id);
  return { objects, chunkIds };
}

/** A snapshot as stored: its root, and for version 2 the layers it is made of. */
export interface StoredSnapshot {
  manifest: Manifest;
  /** Version 2 only, in root order. */
  layers: Layer[];
}

function checkTotals(
  instanceId: string,
  snapshotId: string,
  root: Root | RootV2,
  objects: readonly ManifestObject[],
): void {
  const bytes = objects.reduce((sum, o) => sum + o.size, 0);
  if (objects.length !== root.totals.objects || bytes !== root.totals.bytes) {
    throw badManifest(
      instanceId,
      snapshotId,
      keys.manifest(instanceId, snapshotId),
      `totals: the layers hold ${objects.length} objects of ${bytes} bytes, the root says ${root.totals.objects} of ${root.totals.bytes}`,
    );
  }
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

/** Every locations member of a version-3 chain, in root order. */
export function readAllLocations(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  refs: readonly LayerRefV3[],
  options: ReadOptions = {},
): Promise<Locations[]> {
  return Promise.all(
    refs.map((ref) => readLocations(vault, instanceId, snapshotId, ref.locations, options)),
  );
}

/**
 * Reads one snapshot, any format, with all its metadata: every layer or member is read (or
 * taken from the cache), checked by hash and applied.
 */
export async function readSnapshot(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  options: ReadOptions = {},
  stored?: StoredRoot,
): Promise<StoredSnapshot> {
  const root = stored ?? (await readRoot(vault, instanceId, snapshotId));
  if (root.format === FORMAT_V1) return { manifest: root.manifest, layers: [] };
  if (root.format === FORMAT_V2) {
    const layers = await Promise.all(
      root.layers.map((ref) => readLayer(vault, instanceId, snapshotId, ref, options)),
    );
    const { objects, chunks } = applyLayers(layers);
    checkTotals(instanceId, snapshotId, root, objects);
    return { manifest: manifestOf(root, objects, chunks), layers };
  }
  const [entries, locations] = await Promise.all([
    Promise.all(
      root.layers.map((ref) => readEntries(vault, instanceId, snapshotId, ref.entries, options)),
    ),
    readAllLocations(vault, instanceId, snapshotId, root.layers, options),
  ]);
  const objects = applyEntries(entries);
  checkTotals(instanceId, snapshotId, root, objects);
  const chunks = indexOf(
    objects,
    locations.map((l) => l.chunks),
  );
  return { manifest: manifestOf(root, objects, chunks), layers: [] };
}

/**
 * What a writer needs of a region's previous committed snapshot: its objects (for change
 * detection and the layer plan), the chunks it holds, its packs and root. For version 3 only
 * the roots and entries members are read, shared between regions that name the same ids;
 * chunk locations are read only when a full or merged layer needs them (`readAllLocations`).
 */
export interface PreviousSnapshot {
  snapshotId: string;
  format: Manifest['format'];
  packs: readonly string[];
  root?: Root | RootV2;
  objects: readonly ManifestObject[];
  /** Chunk ids of `objects`: what the region holds. */
  held: ReadonlySet<string>;
  /** Version 3: the layers and their entries members, in root order. */
  chain?: { refs: readonly LayerRefV3[]; entries: readonly Entries[] };
  /** Versions 1 and 2: where each held chunk is (their metadata holds it anyway). */
  locations?: Record<string, ChunkLocation>;
}

/**
 * Reads a region's previous snapshot for a writer (see `PreviousSnapshot`), from its root when
 * the caller has read it. With a root given, the shared reads of its entries start before this
 * function first waits, so callers in a given order claim shared members in that order.
 */
export async function readPrevious(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  options: ReadOptions = {},
  stored?: StoredRoot,
): Promise<PreviousSnapshot> {
  const root = stored ?? (await readRoot(vault, instanceId, snapshotId));
  if (root.format !== FORMAT) {
    const { manifest } =
      root.format === FORMAT_V1
        ? { manifest: root.manifest }
        : await readSnapshot(vault, instanceId, snapshotId, options, root);
    return {
      snapshotId,
      format: manifest.format,
      packs: manifest.packs,
      ...(manifest.root ? { root: manifest.root } : {}),
      objects: manifest.objects,
      held: new Set(Object.keys(manifest.chunks)),
      locations: manifest.chunks,
    };
  }
  const entries = await Promise.all(
    root.layers.map((ref) => readEntries(vault, instanceId, snapshotId, ref.entries, options)),
  );
  const apply = async () => applied(applyEntries(entries));
  const ids = root.layers.map((ref) => ref.entries.id);
  const { objects, chunkIds } = await (options.shared ? options.shared.chain(ids, apply) : apply());
  checkTotals(instanceId, snapshotId, root, objects);
  return {
    snapshotId,
    format: FORMAT,
    packs: root.packs,
    root,
    objects,
    held: chunkIds,
    chain: { refs: root.layers, entries },
  };
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
    | RootV2
    | Root;
  if (root.format === FORMAT_V1) return root.objects;
  const cut = (ref: MemberRef): unknown => {
    const pack = packBytes(ref.pack);
    if (!pack) throw new Error(`pack ${ref.pack} of metadata ${ref.id} is absent`);
    const member = Buffer.from(pack).subarray(ref.offset, ref.offset + ref.length);
    return JSON.parse(gunzipSync(member).toString('utf8'));
  };
  if (root.format === FORMAT_V2) {
    return applyLayers(root.layers.map((ref) => LayerSchema.parse(cut(ref)))).objects;
  }
  return applyEntries(root.layers.map((ref) => EntriesSchema.parse(cut(ref.entries))));
}
