import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  type IntegrityProblem,
  RestoreIncompleteError,
  SnapshotIntegrityError,
  SnapshotNotFoundError,
} from '../../errors.ts';
import type { BlobStore, InstanceStore, MetadataCache } from '../ports.ts';
import { listCommittedSnapshotIds, readManifest } from './catalog.ts';
import {
  type ChunkLocation,
  keys,
  type Manifest,
  type ManifestObject,
  sha256Hex,
} from './format.ts';

/**
 * Packs kept in memory between the verify pass and the write pass. A fixed budget, so memory
 * stays flat as the instance grows: a larger instance is downloaded twice (verify, then write)
 * rather than held.
 */
export const DEFAULT_PACK_CACHE_BYTES = 16 * 1024 * 1024;
/** Writes in flight during the write pass: at most this many objects and this many bytes. */
const WRITE_BATCH = 8;
const WRITE_BATCH_BYTES = 16 * 1024 * 1024;

/** The outcome of checking a snapshot without restoring it. */
export interface VerifyReport {
  instanceId: string;
  snapshotId: string;
  configDigest: string;
  objects: number;
  bytes: number;
  packs: number;
  problems: IntegrityProblem[];
  ok: boolean;
}

/** What a restore did to its target. */
export interface RestoreResult {
  instanceId: string;
  snapshotId: string;
  configDigest: string;
  objectsWritten: number;
  objectsUnchanged: number;
  objectsDeleted: number;
  bytesWritten: number;
  /** Newer snapshots that failed verification and were passed over (only with fallback). */
  skipped: { snapshotId: string; problems: IntegrityProblem[] }[];
}

/**
 * Fetches packs once and checks them; keeps recent ones while they fit the byte budget so a
 * restore's write pass does not download a small instance twice.
 */
class PackReader {
  private readonly cache = new Map<string, Buffer | null>();
  private cachedBytes = 0;
  readonly intact = new Map<string, boolean>();

  constructor(
    private readonly vault: BlobStore,
    private readonly instanceId: string,
    private readonly budget: number,
  ) {}

  async pack(packId: string): Promise<Buffer | null> {
    const hit = this.cache.get(packId);
    if (hit !== undefined) {
      // Refresh recency: Map iteration order is insertion order.
      this.cache.delete(packId);
      this.cache.set(packId, hit);
      return hit;
    }
    const bytes = await this.vault.get(keys.pack(this.instanceId, packId));
    const body = bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
    if (body) this.intact.set(packId, sha256Hex(body) === packId);
    this.remember(packId, body);
    return body;
  }

  private remember(packId: string, body: Buffer | null): void {
    const size = body?.length ?? 0;
    this.cache.set(packId, body);
    this.cachedBytes += size;
    for (const [id, cached] of this.cache) {
      if (this.cachedBytes <= this.budget || id === packId) break;
      this.cache.delete(id);
      this.cachedBytes -= cached?.length ?? 0;
    }
  }
}

/** Collects problems by what is wrong, with every object that depends on it. */
class ProblemList {
  private readonly byName = new Map<string, IntegrityProblem>();

  add(kind: IntegrityProblem['kind'], name: string, object: string, detail: string): void {
    const id = `${kind}:${name}`;
    const existing = this.byName.get(id);
    if (existing) {
      if (!existing.affectedObjects.includes(object)) existing.affectedObjects.push(object);
      return;
    }
    this.byName.set(id, { kind, name, affectedObjects: [object], detail });
  }

  get all(): IntegrityProblem[] {
    return [...this.byName.values()];
  }
}

async function readChunk(
  reader: PackReader,
  instanceId: string,
  chunkId: string,
  location: ChunkLocation,
  object: string,
  problems: ProblemList,
): Promise<Buffer | undefined> {
  const pack = await reader.pack(location.pack);
  if (!pack) {
    problems.add(
      'missing-pack',
      keys.pack(instanceId, location.pack),
      object,
      'pack object is absent',
    );
    return undefined;
  }
  if (reader.intact.get(location.pack) === false) {
    problems.add(
      'corrupt-pack',
      keys.pack(instanceId, location.pack),
      object,
      'pack bytes do not match the pack id',
    );
  }
  let raw: Buffer;
  try {
    raw = gunzipSync(pack.subarray(location.offset, location.offset + location.length));
  } catch {
    problems.add(
      'corrupt-chunk',
      chunkId,
      object,
      `chunk in pack ${location.pack} does not decompress`,
    );
    return undefined;
  }
  if (raw.length !== location.size || sha256Hex(raw) !== chunkId) {
    problems.add(
      'corrupt-chunk',
      chunkId,
      object,
      `chunk in pack ${location.pack} does not match its SHA-256`,
    );
    return undefined;
  }
  return raw;
}

/**
 * Reads every object of a manifest back from its packs and checks chunk, pack and object
 * hashes. Calls `onObject` only for objects that passed every check.
 */
async function scan(
  manifest: Manifest,
  reader: PackReader,
  onObject?: (object: ManifestObject, body: Buffer) => Promise<void>,
): Promise<IntegrityProblem[]> {
  const problems = new ProblemList();
  for (const object of manifest.objects) {
    // The body is hashed as its chunks come; it is only assembled when someone wants it, into
    // one buffer of its size (not a list of chunks and then their concatenation).
    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    const body = onObject ? Buffer.allocUnsafe(object.size) : undefined;
    let filled = 0;
    let whole = true;
    for (const chunkId of object.chunks) {
      const location = manifest.chunks[chunkId];
      if (!location) {
        problems.add('bad-manifest', chunkId, object.key, 'chunk has no location in the manifest');
        whole = false;
        continue;
      }
      const raw = await readChunk(
        reader,
        manifest.instanceId,
        chunkId,
        location,
        object.key,
        problems,
      );
      if (!raw) {
        whole = false;
        continue;
      }
      sha256.update(raw);
      md5.update(raw);
      if (body && filled + raw.length <= body.length) raw.copy(body, filled);
      filled += raw.length;
    }
    if (!whole) continue;
    if (
      filled !== object.size ||
      sha256.digest('hex') !== object.sha256 ||
      md5.digest('hex') !== object.md5
    ) {
      problems.add(
        'corrupt-object',
        object.key,
        object.key,
        'reassembled body does not match its hashes',
      );
      continue;
    }
    if (onObject && body) await onObject(object, body);
  }
  return problems.all;
}

/** Where to look for a snapshot. */
export interface SnapshotSource {
  vault: BlobStore;
  instanceId: string;
  /** A specific snapshot; default: the newest committed one. */
  snapshotId?: string;
  /** Local cache of metadata layers; every hit is re-hashed. */
  cache?: MetadataCache;
}

/**
 * Every object of a snapshot, verified, in memory: for small instances (API Gateway documents)
 * whose restore must look at several documents to choose what to write.
 */
export async function readSnapshotObjects(
  source: SnapshotSource,
): Promise<{ snapshotId: string; objects: Map<string, Buffer> }> {
  const snapshotId = source.snapshotId ?? (await newestCommitted(source));
  const manifest = await readManifest(source.vault, source.instanceId, snapshotId, {
    cache: source.cache,
  });
  const reader = new PackReader(source.vault, source.instanceId, DEFAULT_PACK_CACHE_BYTES);
  const objects = new Map<string, Buffer>();
  const problems = await scan(manifest, reader, async (object, body) => {
    objects.set(object.key, body);
  });
  if (problems.length > 0)
    throw new SnapshotIntegrityError(source.instanceId, snapshotId, problems);
  return { snapshotId, objects };
}

/** Checks a snapshot end to end (manifest, packs, chunks, objects) without restoring it. */
export async function verifySnapshot(
  source: SnapshotSource,
  cacheBytes = DEFAULT_PACK_CACHE_BYTES,
): Promise<VerifyReport> {
  const snapshotId = source.snapshotId ?? (await newestCommitted(source));
  const manifest = await readManifest(source.vault, source.instanceId, snapshotId, {
    cache: source.cache,
  });
  const reader = new PackReader(source.vault, source.instanceId, cacheBytes);
  const problems = await scan(manifest, reader);
  return {
    instanceId: source.instanceId,
    snapshotId,
    configDigest: manifest.configDigest,
    objects: manifest.objects.length,
    bytes: manifest.totals.bytes,
    packs: new Set(Object.values(manifest.chunks).map((c) => c.pack)).size,
    problems,
    ok: problems.length === 0,
  };
}

async function newestCommitted(source: SnapshotSource): Promise<string> {
  const [newest] = await listCommittedSnapshotIds(source.vault, source.instanceId);
  if (!newest) throw new SnapshotNotFoundError(source.instanceId, source.vault.location);
  return newest;
}

/** A restore request. */
export interface RestoreInput extends SnapshotSource {
  target: InstanceStore;
  /** When the chosen snapshot fails verification, try older committed ones instead of failing. */
  fallbackToPrevious?: boolean;
  /**
   * Restore only these objects (a partial restore): nothing else is written, and nothing
   * outside them is deleted. Every object is still verified.
   */
  only?: ReadonlySet<string>;
  /**
   * Asked before each write: true stops the restore with `RestoreIncompleteError`, what was
   * written kept (a Lambda invocation nearing its timeout). A rerun skips what is in place.
   */
  shouldYield?: () => boolean;
  cacheBytes?: number;
}

/**
 * Restores a snapshot into an instance store. Every hash is checked in a first pass that writes
 * nothing; only a snapshot that passes is written, so a corrupt or incomplete snapshot leaves
 * the target as it was. Objects already in place (same MD5/ETag and size) are not rewritten,
 * and objects the snapshot does not have are deleted, so the target ends equal to the snapshot.
 */
export async function restoreSnapshot(input: RestoreInput): Promise<RestoreResult> {
  const committed = await listCommittedSnapshotIds(input.vault, input.instanceId);
  let candidates: string[];
  if (input.snapshotId) {
    // Only committed snapshots are restorable: an in-progress or abandoned manifest may be
    // complete, but no quorum vouched for it.
    if (!committed.includes(input.snapshotId)) {
      throw new SnapshotNotFoundError(input.instanceId, input.vault.location, input.snapshotId);
    }
    const older = committed.filter((id) => id < (input.snapshotId as string));
    candidates = [input.snapshotId, ...(input.fallbackToPrevious ? older : [])];
  } else {
    candidates = input.fallbackToPrevious ? committed : committed.slice(0, 1);
  }
  if (candidates.length === 0)
    throw new SnapshotNotFoundError(input.instanceId, input.vault.location);

  const skipped: RestoreResult['skipped'] = [];
  let lastFailure: SnapshotIntegrityError | undefined;
  for (const snapshotId of candidates) {
    const reader = new PackReader(
      input.vault,
      input.instanceId,
      input.cacheBytes ?? DEFAULT_PACK_CACHE_BYTES,
    );
    let manifest: Manifest;
    try {
      manifest = await readManifest(input.vault, input.instanceId, snapshotId, {
        cache: input.cache,
      });
    } catch (error) {
      if (!input.fallbackToPrevious) throw error;
      if (error instanceof SnapshotIntegrityError) {
        skipped.push({ snapshotId, problems: [...error.problems] });
        lastFailure = error;
        continue;
      }
      if (error instanceof SnapshotNotFoundError) {
        // A commit marker whose manifest is gone: as unusable as a corrupt one.
        const problem = {
          kind: 'bad-manifest' as const,
          name: snapshotId,
          affectedObjects: [],
          detail: 'committed, but the manifest is missing',
        };
        skipped.push({ snapshotId, problems: [problem] });
        lastFailure = new SnapshotIntegrityError(input.instanceId, snapshotId, [problem], {
          cause: error,
        });
        continue;
      }
      throw error;
    }
    const target = input.target;
    const preflight = target.preflight
      ? (object: ManifestObject, body: Buffer) =>
          target.preflight?.(input.instanceId, object.key, body) ?? Promise.resolve()
      : undefined;
    const problems = await scan(manifest, reader, preflight);
    if (problems.length > 0) {
      lastFailure = new SnapshotIntegrityError(input.instanceId, snapshotId, problems);
      if (!input.fallbackToPrevious) throw lastFailure;
      skipped.push({ snapshotId, problems });
      continue;
    }
    return { ...(await writeVerified(input, manifest, reader)), skipped };
  }
  throw lastFailure ?? new SnapshotNotFoundError(input.instanceId, input.vault.location);
}

async function writeVerified(
  input: RestoreInput,
  manifest: Manifest,
  reader: PackReader,
): Promise<Omit<RestoreResult, 'skipped'>> {
  const present = new Map((await input.target.list(input.instanceId)).map((e) => [e.key, e]));
  let objectsWritten = 0;
  let objectsUnchanged = 0;
  let bytesWritten = 0;
  let batch: Promise<void>[] = [];
  // Objects of one rank are written before any of the next (kinds whose objects name others).
  const rank = (key: string) => input.target.restoreRank?.(input.instanceId, key) ?? 0;
  const ordered = input.target.restoreRank
    ? { ...manifest, objects: [...manifest.objects].sort((a, b) => rank(a.key) - rank(b.key)) }
    : manifest;
  let batchRank: number | undefined;
  let batchBytes = 0;
  const problems = await scan(ordered, reader, async (object, body) => {
    if (input.only && !input.only.has(object.key)) return;
    if (input.shouldYield?.()) {
      await Promise.all(batch.splice(0));
      throw new RestoreIncompleteError(
        input.instanceId,
        manifest.snapshotId,
        objectsWritten,
        manifest.objects.length - objectsWritten - objectsUnchanged,
      );
    }
    if (batchRank !== undefined && rank(object.key) !== batchRank)
      await Promise.all(batch.splice(0));
    batchRank = rank(object.key);
    const current = present.get(object.key);
    if (
      current &&
      current.size === object.size &&
      current.etag.replaceAll('"', '') === object.md5
    ) {
      objectsUnchanged += 1;
      return;
    }
    batch.push(input.target.write(input.instanceId, object.key, body));
    objectsWritten += 1;
    bytesWritten += body.length;
    batchBytes += body.length;
    // Bounded by bytes as well as count: eight 16 MiB objects in flight were most of a
    // restore's peak memory.
    if (batch.length >= WRITE_BATCH || batchBytes >= WRITE_BATCH_BYTES) {
      await Promise.all(batch.splice(0));
      batchBytes = 0;
    }
  });
  await Promise.all(batch);
  batch = [];
  if (problems.length > 0) {
    // The snapshot changed between the two passes (a pack deleted underneath us).
    throw new SnapshotIntegrityError(input.instanceId, manifest.snapshotId, problems);
  }
  const wanted = new Set(manifest.objects.map((o) => o.key));
  // The empty key is the instance prefix's own folder marker: never part of a snapshot, never
  // removed by a restore (see "Folder markers" in docs/snapshot-format.md).
  const extra = [...present.keys()].filter(
    (key) => key !== '' && !wanted.has(key) && (!input.only || input.only.has(key)),
  );
  if (extra.length > 0) await input.target.delete(input.instanceId, extra);
  return {
    instanceId: input.instanceId,
    snapshotId: manifest.snapshotId,
    configDigest: manifest.configDigest,
    objectsWritten,
    objectsUnchanged,
    objectsDeleted: extra.length,
    bytesWritten,
  };
}
