import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The on-bucket snapshot format, version 1. docs/snapshot-format.md is the human description;
 * keep the two in step. Every key lives under `instances/<instanceId>/` of a backup bucket.
 */
export const FORMAT = 'lifeboat-snapshot/1';

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

/** A snapshot manifest as stored in one region's backup bucket. */
export const ManifestSchema = z.strictObject({
  format: z.literal(FORMAT),
  instanceId: z.string().min(1),
  snapshotId: z.string().regex(SNAPSHOT_ID),
  createdAt: z.iso.datetime(),
  sourceRegion: z.string().min(1),
  /** The region whose bucket holds this copy; chunk locations are that bucket's packs. */
  region: z.string().min(1),
  configDigest: z.string().regex(SHA256_HEX),
  totals: z.strictObject({ objects: z.int().min(0), bytes: z.int().min(0) }),
  objects: z.array(ManifestObjectSchema),
  chunks: z.record(z.string().regex(SHA256_HEX), ChunkLocationSchema),
});

/** A parsed manifest. */
export type Manifest = z.infer<typeof ManifestSchema>;
/** One object of a manifest. */
export type ManifestObject = Manifest['objects'][number];
/** Where a chunk sits inside a pack. */
export type ChunkLocation = z.infer<typeof ChunkLocationSchema>;

/** The commit marker: written once the snapshot is held by a quorum of regions. */
export const CommitMarkerSchema = z.strictObject({
  format: z.literal(FORMAT),
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

/** JSON bytes of a manifest or marker, as stored. */
export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(`${JSON.stringify(value, null, 1)}\n`);
}
