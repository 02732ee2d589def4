import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The on-bucket snapshot format. docs/snapshot-format.md is the human description; keep the two
 * in step. Every key lives under `instances/<instanceId>/` of a backup bucket. Writers write
 * version 3; readers read versions 1 to 3, so snapshots taken before version 3 stay restorable.
 */
export const FORMAT = 'lifeboat-snapshot/3';
/** The second format: layers that hold entries and this region's chunk locations together. */
export const FORMAT_V2 = 'lifeboat-snapshot/2';
/** The first format: one manifest object listing every object and every chunk location. */
export const FORMAT_V1 = 'lifeboat-snapshot/1';
/** Version 2 metadata layers: the object entries of a snapshot, or the change to them. */
export const LAYER_FORMAT_V2 = 'lifeboat-layer/2';
/** Version 3, region-independent half of a layer: entries added or replaced, keys removed. */
export const ENTRIES_FORMAT = 'lifeboat-entries/3';
/** Version 3, per-region half of a layer: where this bucket holds chunks its layer needs. */
export const LOCATIONS_FORMAT = 'lifeboat-locations/3';

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Snapshot ids sort lexically in time order: `20261125T193000Z`. */
export const SNAPSHOT_ID = /^\d{8}T\d{6}Z$/;

/** Key layout of one instance's part of a backup bucket. */
export const keys = {
  instancePrefix: (instanceId: string) => `instances/${instanceId}/`,
  pack: (instanceId: string, packId: string) => `instances/${instanceId}/packs/${packId}.pack`,
  packsPrefix: (instanceId: string) => `instances/${instanceId}/packs/`,
  manifest: (instanceId: string, snapshotId: string) =>
    `instances/${instanceId}/snapshots/${snapshotId}.json`,
  manifestsPrefix: (instanceId: string) => `instances/${instanceId}/snapshots/`,
  commit: (instanceId: string, snapshotId: string) =>
    `instances/${instanceId}/commits/${snapshotId}.json`,
  commitsPrefix: (instanceId: string) => `instances/${instanceId}/commits/`,
};

/** Pulls the id out of a `.../<id>.json` or `.../<id>.pack` key. */
export function idFromKey(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return name.replace(/\.(json|pack)$/, '');
}

/** Snapshot id for a trigger time: the UTC second, so a retried trigger maps to the same snapshot. */
export function snapshotIdFor(time: Date): string {
  return time
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** When a snapshot id was taken. */
export function snapshotTime(snapshotId: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(snapshotId);
  const time = m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
  // Round-tripping rejects impossible dates (month 13, 31 November) that Date would roll over.
  if (!time || Number.isNaN(time.getTime()) || snapshotIdFor(time) !== snapshotId) {
    throw new RangeError(`not a snapshot id: ${snapshotId}`);
  }
  return time;
}

/** True for a well-formed snapshot id naming a real instant. */
export function isSnapshotId(value: string): boolean {
  try {
    snapshotTime(value);
    return true;
  } catch {
    return false;
  }
}

/** Hex SHA-256 of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const ChunkLocationSchema = z.strictObject({
  pack: z.string().regex(SHA256_HEX),
  offset: z.int().min(0),
  /** Compressed length inside the pack. */
  length: z.int().min(1),
  /** Uncompressed length. */
  size: z.int().min(0),
});

const ManifestObjectSchema = z.strictObject({
  key: z.string().min(1),
  size: z.int().min(0),
  /** The source listing's ETag when the snapshot read it; unchanged ETag + size = unchanged object. */
  etag: z.string(),
  sha256: z.string().regex(SHA256_HEX),
  /** MD5 of the body: equals a single-part S3 ETag, so a restore can skip objects already in place. */
  md5: z.string().regex(/^[0-9a-f]{32}$/),
  chunks: z.array(z.string().regex(SHA256_HEX)),
});

/** What every format of a snapshot says about itself: whose, when, where, and how much. */
const SNAPSHOT_FIELDS = {
  instanceId: z.string().min(1),
  snapshotId: z.string().regex(SNAPSHOT_ID),
  createdAt: z.iso.datetime(),
  sourceRegion: z.string().min(1),
  /** The region whose bucket holds this copy; chunk locations are that bucket's packs. */
  region: z.string().min(1),
  configDigest: z.string().regex(SHA256_HEX),
  totals: z.strictObject({ objects: z.int().min(0), bytes: z.int().min(0) }),
};

/** A version-1 snapshot manifest as stored in one region's backup bucket. */
export const ManifestV1Schema = z.strictObject({
  format: z.literal(FORMAT_V1),
  ...SNAPSHOT_FIELDS,
  objects: z.array(ManifestObjectSchema),
  chunks: z.record(z.string().regex(SHA256_HEX), ChunkLocationSchema),
});

/** A parsed version-1 manifest. */
export type ManifestV1 = z.infer<typeof ManifestV1Schema>;
/** One object of a snapshot: its hashes and its chunks in body order. */
export type ManifestObject = z.infer<typeof ManifestObjectSchema>;
/** Where a chunk sits inside a pack. */
export type ChunkLocation = z.infer<typeof ChunkLocationSchema>;

/** Where a metadata layer sits: a gzip member of a pack, named by the SHA-256 of its JSON. */
const LayerRefSchema = z.strictObject({
  id: z.string().regex(SHA256_HEX),
  pack: z.string().regex(SHA256_HEX),
  offset: z.int().min(0),
  length: z.int().min(1),
  size: z.int().min(0),
  /** Entries (`objects`) and removals (`deleted`) the layer holds, for compaction decisions. */
  objects: z.int().min(0),
  deleted: z.int().min(0),
});

/** A reference to one metadata layer from a snapshot root. */
export type LayerRef = z.infer<typeof LayerRefSchema>;

/**
 * A metadata layer (version 2): object entries with the locations of their chunks, and keys
 * removed since the layer below. A snapshot's objects are its layers applied in order.
 */
export const LayerSchema = z.strictObject({
  format: z.literal(LAYER_FORMAT_V2),
  objects: z.array(ManifestObjectSchema),
  chunks: z.record(z.string().regex(SHA256_HEX), ChunkLocationSchema),
  deleted: z.array(z.string().min(1)),
});

/** A parsed version-2 metadata layer. */
export type Layer = z.infer<typeof LayerSchema>;

const RETAIN_UNTIL = z.record(z.string().regex(SHA256_HEX), z.iso.datetime()).optional();

/**
 * The root of a version-2 snapshot: small, written whole for every snapshot. Object entries
 * live in content-addressed layers, so an unchanged layer is referenced, not rewritten.
 */
export const RootV2Schema = z.strictObject({
  format: z.literal(FORMAT_V2),
  ...SNAPSHOT_FIELDS,
  /** Oldest first: the first is a full listing, each later one a change to it. */
  layers: z.array(LayerRefSchema).min(1),
  /** Every pack the snapshot needs (layers and chunks), sorted: what GC must keep. */
  packs: z.array(z.string().regex(SHA256_HEX)),
  /** With Object Lock: the retention date each pack is known to have (set or extended). */
  retainUntil: RETAIN_UNTIL,
});

/** A parsed version-2 root. */
export type RootV2 = z.infer<typeof RootV2Schema>;

/** Where one version-3 metadata member sits: a gzip member of a pack, named by its JSON's SHA-256. */
const MemberRefSchema = z.strictObject({
  id: z.string().regex(SHA256_HEX),
  pack: z.string().regex(SHA256_HEX),
  offset: z.int().min(0),
  length: z.int().min(1),
  size: z.int().min(0),
});

/** A reference to one version-3 metadata member (entries or locations). */
export type MemberRef = z.infer<typeof MemberRefSchema>;

/**
 * One version-3 layer as the root references it: its entries member (the same in every region
 * that wrote the same change), its locations member (this region's), and the packs it needs.
 */
const LayerRefV3Schema = z.strictObject({
  entries: MemberRefSchema,
  locations: MemberRefSchema,
  /** Entries (`objects`) and removals (`deleted`) of the entries member, for compaction. */
  objects: z.int().min(0),
  deleted: z.int().min(0),
  /** Sorted: the packs its locations name and the packs of its two members. */
  packs: z.array(z.string().regex(SHA256_HEX)),
});

/** A reference to one version-3 layer from a snapshot root. */
export type LayerRefV3 = z.infer<typeof LayerRefV3Schema>;

/**
 * The region-independent half of a version-3 layer: object entries added or replaced and keys
 * removed since the layers below. Regions whose previous snapshot is the same write the same
 * bytes, so a writer reads it once for all of them.
 */
export const EntriesSchema = z.strictObject({
  format: z.literal(ENTRIES_FORMAT),
  objects: z.array(ManifestObjectSchema),
  deleted: z.array(z.string().min(1)),
});

/** A parsed entries member. */
export type Entries = z.infer<typeof EntriesSchema>;

/**
 * The per-region half of a version-3 layer: the location in this bucket of each chunk its
 * entries need that no layer below locates (every chunk, for a full layer).
 */
export const LocationsSchema = z.strictObject({
  format: z.literal(LOCATIONS_FORMAT),
  chunks: z.record(z.string().regex(SHA256_HEX), ChunkLocationSchema),
});

/** A parsed locations member. */
export type Locations = z.infer<typeof LocationsSchema>;

/**
 * The root of a version-3 snapshot. Each layer is two content-addressed members, so a writer
 * reads only what change detection needs (the entries) and a restore reads both.
 */
export const RootSchema = z.strictObject({
  format: z.literal(FORMAT),
  ...SNAPSHOT_FIELDS,
  /** Oldest first: the first is a full listing, each later one a change to it. */
  layers: z.array(LayerRefV3Schema).min(1),
  /** The union of the layers' `packs`, sorted: what GC must keep. */
  packs: z.array(z.string().regex(SHA256_HEX)),
  /** With Object Lock: the retention date each pack is known to have (set or extended). */
  retainUntil: RETAIN_UNTIL,
});

/** A parsed version-3 root. */
export type Root = z.infer<typeof RootSchema>;

/**
 * A snapshot as readers use it, whatever its stored format: every object with its chunks, the
 * chunk index of this bucket, and the packs it needs.
 */
export interface Manifest {
  format: typeof FORMAT | typeof FORMAT_V2 | typeof FORMAT_V1;
  instanceId: string;
  snapshotId: string;
  createdAt: string;
  sourceRegion: string;
  region: string;
  configDigest: string;
  totals: { objects: number; bytes: number };
  objects: ManifestObject[];
  chunks: Record<string, ChunkLocation>;
  /** Every pack the stored snapshot needs, sorted. */
  packs: string[];
  /** Versions 2 and 3: the root as stored. */
  root?: Root | RootV2;
}

/** The commit marker: written once the snapshot is held by a quorum of regions. */
export const CommitMarkerSchema = z.strictObject({
  format: z.union([z.literal(FORMAT), z.literal(FORMAT_V2), z.literal(FORMAT_V1)]),
  snapshotId: z.string().regex(SNAPSHOT_ID),
  configDigest: z.string().regex(SHA256_HEX),
  committedAt: z.iso.datetime(),
  regions: z.array(z.string()),
  quorum: z.int().min(1),
});

/** A parsed commit marker. */
export type CommitMarker = z.infer<typeof CommitMarkerSchema>;

/**
 * Digest of an instance's whole configuration: SHA-256 over `key<TAB>sha256<LF>` lines in key
 * order. The instance runtime reports the same digest on /health, so a restore can be checked
 * against what is actually served.
 */
export function configDigest(objects: readonly { key: string; sha256: string }[]): string {
  const lines = [...objects]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((o) => `${o.key}\t${o.sha256}\n`)
    .join('');
  return createHash('sha256').update(lines).digest('hex');
}

/** Compact JSON bytes of a metadata member: its SHA-256 is its id, then it is gzipped into a pack. */
export function encodeMember(member: Layer | Entries | Locations): Buffer {
  return Buffer.from(JSON.stringify(member));
}

/** JSON bytes of a root, manifest or marker, as stored. */
export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(`${JSON.stringify(value, null, 1)}\n`);
}
