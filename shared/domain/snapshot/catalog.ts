import { gunzipSync } from 'node:zlib';
import type { z } from 'zod';
import { SnapshotIntegrityError, SnapshotNotFoundError } from '../../errors.ts';
import { firstProblem } from '../../validation.ts';
import type { BlobStore } from '../ports.ts';
import {
  type AppliedEntries,
  applied,
  applyEntries,
  applyLayers,
  indexOf,
  manifestOf,
} from './apply-layers.ts';
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
  type LayerRefV3,
  LayerSchema,
  type Manifest,
  type ManifestObject,
  ManifestV1Schema,
  type MemberRef,
  type Root,
  RootSchema,
  type RootV2,
  RootV2Schema,
} from './format.ts';
import { type MemberReads, readAllLocations, readEntries, readLayer } from './members.ts';

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
export interface ReadOptions extends MemberReads {
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
