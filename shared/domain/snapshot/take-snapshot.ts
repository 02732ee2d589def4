import pLimit from 'p-limit';
import {
  AlreadyExistsError,
  ObjectMissingError,
  SnapshotIntegrityError,
  SnapshotNotFoundError,
} from '../../errors.ts';
import type { BlobStore, Clock, InstanceStore, ObjectEntry, PutOptions } from '../ports.ts';
import { latestCommittedManifest, readManifest } from './catalog.ts';
import { type Chunk, type ChunkedObject, chunkStream, DEFAULT_CHUNK_SIZE } from './chunker.ts';
import {
  type ChunkLocation,
  type CommitMarker,
  configDigest,
  encodeJson,
  FORMAT,
  keys,
  type Manifest,
  type ManifestObject,
  ManifestSchema,
} from './format.ts';
import { DEFAULT_PACK_SIZE, PackBuilder, type SealedPack } from './pack.ts';

/** One region that receives the snapshot, through its backup bucket. */
export interface ReplicaTarget {
  region: string;
  vault: BlobStore;
}

/** Everything one snapshot of one instance needs. */
export interface TakeSnapshotInput {
  instanceId: string;
  sourceRegion: string;
  source: InstanceStore;
  replicas: readonly ReplicaTarget[];
  quorum: number;
  snapshotId: string;
  clock: Clock;
  chunkSize?: number;
  packSize?: number;
  /** Parallel source reads; bounded so memory stays at a few chunks. */
  readConcurrency?: number;
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number };
}

/** A region that did not end up holding the snapshot, and why. */
export interface RegionFailure {
  region: string;
  reason: string;
}

/** What a snapshot run did, region by region; the payload of "Snapshot Completed"/"Failed". */
export interface SnapshotResult {
  instanceId: string;
  snapshotId: string;
  configDigest: string;
  /** A quorum of regions held the manifest, so commit markers were written. */
  committed: boolean;
  quorum: number;
  /** Regions that hold the manifest and its commit marker: where readers can use it. */
  regionsCommitted: string[];
  regionsFailed: RegionFailure[];
  objectCount: number;
  bytesTotal: number;
  /** Source bytes read (unchanged objects are not read). */
  bytesRead: number;
  /** Compressed pack bytes PUT, summed over regions. */
  bytesUploaded: number;
  packsUploaded: number;
  objectsUnchanged: number;
  /** True when every region already held this snapshot id (a retried trigger). */
  alreadyExisted: boolean;
  durationMs: number;
}

const MAX_PACK_UPLOADS_IN_FLIGHT = 2;

/**
 * Writes one region's copy. A region that fails at any point is dropped from the run and
 * named in the result; it never blocks the others.
 */
class RegionWriter {
  failure: string | undefined;
  /** Chunks the region's newest committed snapshot already references, with their packs. */
  held = new Map<string, ChunkLocation>();
  private readonly queued = new Set<string>();
  private readonly written = new Map<string, ChunkLocation>();
  private readonly builder: PackBuilder;
  private readonly inflight: Promise<void>[] = [];
  packsUploaded = 0;
  bytesUploaded = 0;
  previous: Manifest | undefined;

  constructor(
    readonly target: ReplicaTarget,
    private readonly instanceId: string,
    packSize: number,
    private readonly putOptions: () => PutOptions,
  ) {
    this.builder = new PackBuilder(packSize);
  }

  get region(): string {
    return this.target.region;
  }

  get live(): boolean {
    return this.failure === undefined;
  }

  fail(error: unknown): void {
    this.failure ??= error instanceof Error ? error.message : String(error);
  }

  async loadPrevious(): Promise<void> {
    try {
      this.previous = await latestCommittedManifest(this.target.vault, this.instanceId);
      if (this.previous) this.held = new Map(Object.entries(this.previous.chunks));
    } catch (error) {
      // An unreadable newest manifest must not exclude the region for good: start it afresh
      // (every chunk uploaded again) so the next snapshot repairs the replica.
      if (error instanceof SnapshotIntegrityError || error instanceof SnapshotNotFoundError) {
        this.previous = undefined;
        this.held = new Map();
        return;
      }
      this.fail(error);
    }
  }

  holdsAll(chunkIds: readonly string[]): boolean {
    return chunkIds.every((id) => this.held.has(id));
  }

  async offer(chunk: Chunk): Promise<void> {
    if (!this.live || this.held.has(chunk.id) || this.queued.has(chunk.id)) return;
    this.queued.add(chunk.id);
    this.builder.add(chunk);
    if (this.builder.isFull) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.builder.isEmpty) return;
    const sealed = this.builder.seal();
    for (const [id, location] of sealed.locations) this.written.set(id, location);
    this.inflight.push(this.upload(sealed));
    // Backpressure: bounded packs in memory per region, whatever the instance's size.
    if (this.inflight.length >= MAX_PACK_UPLOADS_IN_FLIGHT) await this.inflight.shift();
  }

  private async upload(pack: SealedPack): Promise<void> {
    if (!this.live) return;
    try {
      await this.target.vault.put(keys.pack(this.instanceId, pack.id), pack.body, {
        ...this.putOptions(),
        contentType: 'application/octet-stream',
      });
      this.packsUploaded += 1;
      this.bytesUploaded += pack.body.length;
    } catch (error) {
      this.fail(error);
    }
  }

  async finish(): Promise<void> {
    await this.flush();
    await Promise.all(this.inflight.splice(0));
  }

  locate(chunkId: string): ChunkLocation | undefined {
    return this.written.get(chunkId) ?? this.held.get(chunkId);
  }
}

/**
 * Takes one snapshot of an instance into the backup buckets of its replica regions.
 *
 * Order of writes per region: packs, then the manifest (conditional, so a snapshot id is
 * written once), then, only when a quorum of regions holds the manifest, a commit marker.
 * Readers only see snapshots with a marker, so a crash at any point leaves nothing half-visible.
 */
export async function takeSnapshot(input: TakeSnapshotInput): Promise<SnapshotResult> {
  const started = input.clock.now();
  const chunkSize = input.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const lock = input.objectLock;
  const putOptions = (): PutOptions =>
    lock
      ? {
          retainUntil: {
            mode: lock.mode,
            until: new Date(input.clock.now().getTime() + lock.days * 86_400_000),
          },
        }
      : {};
  const writers = input.replicas.map(
    (target) =>
      new RegionWriter(target, input.instanceId, input.packSize ?? DEFAULT_PACK_SIZE, putOptions),
  );
  await Promise.all(writers.map((w) => w.loadPrevious()));

  const previous = newestManifest(writers.map((w) => w.previous));
  const previousByKey = new Map(previous?.objects.map((o) => [o.key, o]) ?? []);
  // An empty key (an S3 "folder" marker for the prefix itself) names no restorable object.
  const listing = (await input.source.list(input.instanceId)).filter(
    (entry) => entry.key.length > 0,
  );

  let bytesRead = 0;
  let objectsUnchanged = 0;
  const limit = pLimit(input.readConcurrency ?? 8);
  const read = await Promise.all(
    listing.map((entry) =>
      limit(async (): Promise<ManifestObject | undefined> => {
        const before = previousByKey.get(entry.key);
        if (
          before &&
          isUnchanged(before, entry) &&
          writers.every((w) => !w.live || w.holdsAll(before.chunks))
        ) {
          objectsUnchanged += 1;
          return before;
        }
        let chunked: ChunkedObject;
        try {
          chunked = await chunkStream(
            input.source.read(input.instanceId, entry.key),
            async (chunk) => {
              await Promise.all(writers.map((w) => w.offer(chunk)));
            },
            chunkSize,
          );
        } catch (error) {
          // Deleted between the listing and the read: it is not part of the config any more.
          if (error instanceof ObjectMissingError) return undefined;
          throw error;
        }
        bytesRead += chunked.size;
        return {
          key: entry.key,
          size: chunked.size,
          etag: entry.etag,
          sha256: chunked.sha256,
          md5: chunked.md5,
          chunks: chunked.chunkIds,
        };
      }),
    ),
  );
  await Promise.all(writers.map((w) => w.finish()));
  const objects = read.filter((o): o is ManifestObject => o !== undefined);

  objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const digest = configDigest(objects);
  const bytesTotal = objects.reduce((sum, o) => sum + o.size, 0);
  const createdAt = input.clock.now().toISOString();

  let existing = 0;
  await Promise.all(
    writers.map(async (writer) => {
      if (!writer.live) return;
      const manifest = buildManifest(input, writer, objects, digest, bytesTotal, createdAt);
      if (!manifest) return;
      // Never commit what a reader would reject (e.g. a key the source listed oddly).
      const checked = ManifestSchema.safeParse(manifest);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        writer.fail(
          new Error(`manifest would be unreadable: ${issue?.path.join('.')}: ${issue?.message}`),
        );
        return;
      }
      const outcome = await writeOnce(
        writer,
        keys.manifest(input.instanceId, input.snapshotId),
        manifest,
        putOptions(),
      );
      if (outcome === 'existed') {
        // A retried trigger: the id is taken. Accept it only if it holds the same config.
        try {
          const stored = await readManifest(
            writer.target.vault,
            input.instanceId,
            input.snapshotId,
          );
          if (stored.configDigest === digest) existing += 1;
          else
            writer.fail(
              new Error(`snapshot id ${input.snapshotId} already holds different content`),
            );
        } catch (error) {
          writer.fail(error);
        }
      }
    }),
  );

  const holding = writers.filter((w) => w.live);
  const committed = holding.length >= input.quorum;
  if (committed) {
    const marker: CommitMarker = {
      format: FORMAT,
      snapshotId: input.snapshotId,
      configDigest: digest,
      committedAt: input.clock.now().toISOString(),
      regions: holding.map((w) => w.region),
      quorum: input.quorum,
    };
    await Promise.all(
      holding.map((w) =>
        writeOnce(w, keys.commit(input.instanceId, input.snapshotId), marker, putOptions()),
      ),
    );
  } else {
    for (const w of holding)
      w.fail(new Error('manifest written, but the quorum was not reached: left uncommitted'));
  }

  const regionsCommitted = writers.filter((w) => w.live).map((w) => w.region);
  return {
    instanceId: input.instanceId,
    snapshotId: input.snapshotId,
    configDigest: digest,
    // The decision made when the markers went out; `regionsCommitted` says where they landed.
    committed,
    quorum: input.quorum,
    regionsCommitted,
    regionsFailed: writers
      .filter((w) => !w.live)
      .map((w) => ({ region: w.region, reason: w.failure ?? '' })),
    objectCount: objects.length,
    bytesTotal,
    bytesRead,
    bytesUploaded: writers.reduce((sum, w) => sum + w.bytesUploaded, 0),
    packsUploaded: writers.reduce((sum, w) => sum + w.packsUploaded, 0),
    objectsUnchanged,
    alreadyExisted: existing > 0 && existing === holding.length,
    durationMs: input.clock.now().getTime() - started.getTime(),
  };
}

function isUnchanged(before: ManifestObject, entry: ObjectEntry): boolean {
  return before.etag === entry.etag && before.size === entry.size;
}

function newestManifest(candidates: readonly (Manifest | undefined)[]): Manifest | undefined {
  let newest: Manifest | undefined;
  for (const m of candidates) if (m && (!newest || m.snapshotId > newest.snapshotId)) newest = m;
  return newest;
}

function buildManifest(
  input: TakeSnapshotInput,
  writer: RegionWriter,
  objects: readonly ManifestObject[],
  digest: string,
  bytesTotal: number,
  createdAt: string,
): Manifest | undefined {
  const chunks: Record<string, ChunkLocation> = {};
  for (const object of objects) {
    for (const id of object.chunks) {
      const location = writer.locate(id);
      if (!location) {
        writer.fail(new Error(`chunk ${id} of ${object.key} has no pack in this region`));
        return undefined;
      }
      chunks[id] = location;
    }
  }
  return {
    format: FORMAT,
    instanceId: input.instanceId,
    snapshotId: input.snapshotId,
    createdAt,
    sourceRegion: input.sourceRegion,
    region: writer.region,
    configDigest: digest,
    totals: { objects: objects.length, bytes: bytesTotal },
    objects: [...objects],
    chunks,
  };
}

/** Conditional write; `existed` when the key was already taken, failure marks the region. */
async function writeOnce(
  writer: RegionWriter,
  key: string,
  value: unknown,
  options: PutOptions,
): Promise<'written' | 'existed' | 'failed'> {
  try {
    await writer.target.vault.put(key, encodeJson(value), {
      ...options,
      ifNoneMatch: true,
      contentType: 'application/json',
    });
    return 'written';
  } catch (error) {
    if (error instanceof AlreadyExistsError) return 'existed';
    writer.fail(error);
    return 'failed';
  }
}
