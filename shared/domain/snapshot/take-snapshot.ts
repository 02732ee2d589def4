import pLimit from 'p-limit';
import { ObjectMissingError, StorageUnavailableError } from '../../errors.ts';
import type {
  BlobStore,
  Clock,
  InstanceStore,
  MetadataCache,
  ObjectEntry,
  PutOptions,
} from '../ports.ts';
import { digestOf, type PreviousSnapshot, readRoot, SharedReads } from './catalog.ts';
import { type ChunkedObject, chunkStream, DEFAULT_CHUNK_SIZE } from './chunker.ts';
import {
  type CommitMarker,
  configDigest,
  encodeJson,
  FORMAT,
  keys,
  type ManifestObject,
  type Root,
} from './format.ts';
import { DEFAULT_PACK_SIZE } from './pack.ts';
import { RegionWriter, writeOnce } from './region-writer.ts';
import { packRetention, writeMetadata } from './write-metadata.ts';

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
  /** Local cache of metadata layers (content-addressed, re-hashed on every hit). */
  cache?: MetadataCache;
  /**
   * Committed snapshot ids per region, newest first, when the caller has just listed them
   * (the scheduled run lists them to decide whether a snapshot is due): not listed again.
   */
  committedIds?: ReadonlyMap<string, readonly string[]>;
  /**
   * Waits between tries of a source read or replica call. When given, a source listing or
   * object read, or a call to a replica's bucket, that fails with StorageUnavailableError is
   * tried again (SOURCE_ATTEMPTS in all); without it, the first such error fails the snapshot
   * (source) or drops the replica.
   */
  sleep?: (ms: number) => Promise<void>;
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
  /**
   * A quorum of regions holds the manifest and its commit marker. A marker that landed in fewer
   * (a crash or a failing bucket between the marker PUTs) leaves the snapshot readable there but
   * not committed: it is reported failed, and the next run takes a new one.
   */
  committed: boolean;
  quorum: number;
  /** Regions that hold the manifest and its commit marker: where readers can use it. */
  regionsCommitted: string[];
  regionsFailed: RegionFailure[];
  objectCount: number;
  bytesTotal: number;
  /** Source bytes read (unchanged objects are not read). */
  bytesRead: number;
  /** Compressed data-pack bytes PUT, summed over regions (metadata: `metadataBytesUploaded`). */
  bytesUploaded: number;
  packsUploaded: number;
  objectsUnchanged: number;
  /** Metadata bytes PUT, summed over regions: roots and metadata packs (markers not counted). */
  metadataBytesUploaded: number;
  /** Object Lock: packs of older snapshots whose retention this run extended, summed over regions. */
  retentionExtended: number;
  /**
   * Per region that holds the snapshot: its root and the previous committed one, with the
   * commit markers listed, so retention needs to read neither again.
   */
  written: {
    region: string;
    root: Root;
    previous?: { snapshotId: string; packs: readonly string[] };
    committedIds: string[];
  }[];
  /** True when every region already held this snapshot id (a retried trigger). */
  alreadyExisted: boolean;
  durationMs: number;
}

/**
 * Tries of one source read. The source is the one thing a snapshot cannot do without (a
 * replica that fails is only dropped), and a failed scheduled snapshot waits for the next
 * tick, a day by default: one S3 error past the SDK's own retries must not cost that (bug 9 of
 * docs/simulation.md, where it left instances with no snapshot at all before an outage).
 */
const SOURCE_ATTEMPTS = 4;

async function fromSource<T>(input: TakeSnapshotInput, read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await read();
    } catch (error) {
      const retry = input.sleep && error instanceof StorageUnavailableError;
      if (!retry || attempt >= SOURCE_ATTEMPTS) throw error;
      await input.sleep?.(Math.min(5_000, 250 * 2 ** attempt));
    }
  }
}

/**
 * Takes one snapshot of an instance into the backup buckets of its replica regions.
 *
 * Order of writes per region: data packs, then the metadata pack (the one new layer), then the
 * root (conditional, so a snapshot id is written once), then, only when a quorum of regions
 * holds the root, a commit marker. Readers only see snapshots with a marker, so a crash at
 * any point leaves nothing half-visible.
 */
export async function takeSnapshot(input: TakeSnapshotInput): Promise<SnapshotResult> {
  const started = input.clock.now();
  const chunkSize = input.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const lock = input.objectLock;
  const retainUntil = () =>
    lock
      ? {
          mode: lock.mode,
          until: new Date(input.clock.now().getTime() + lock.days * 86_400_000),
        }
      : undefined;
  const putOptions = (): PutOptions => {
    const retain = retainUntil();
    return retain ? { retainUntil: retain } : {};
  };
  // Packs are locked longer than roots and markers (see extendRetention), so that they outlive
  // every root that needs them while being extended only once per half period.
  const packPutOptions = (): PutOptions => {
    const retain = retainUntil();
    return retain && lock ? { retainUntil: packRetention(retain, lock.days) } : {};
  };
  const writers = input.replicas.map(
    (target) =>
      new RegionWriter(
        input.sleep
          ? { region: target.region, vault: retrying(target.vault, input.sleep) }
          : target,
        input.instanceId,
        input.packSize ?? DEFAULT_PACK_SIZE,
        packPutOptions,
      ),
  );
  // Regions whose previous snapshot is the same name the same entries members: each is read
  // (and parsed) once for all of them, from the first region that names it, the source
  // region's bucket first (a read within the region, not across), then in replica order.
  const shared = new SharedReads();
  await Promise.all(writers.map((w) => w.loadRoot(input)));
  const sourceFirst = [...writers].sort(
    (a, b) => Number(b.region === input.sourceRegion) - Number(a.region === input.sourceRegion),
  );
  await Promise.all(sourceFirst.map((w) => w.loadFromRoot(input, shared)));

  const previous = newestManifest(writers.map((w) => w.previous));
  const previousByKey = new Map(previous?.objects.map((o) => [o.key, o]) ?? []);
  // The empty key is the instance prefix's own folder marker (`<instanceId>/`): it names the
  // instance, not an object of its configuration, and a manifest key must not be empty.
  const listing = (await fromSource(input, () => input.source.list(input.instanceId))).filter(
    (entry) => entry.key.length > 0,
  );

  let bytesRead = 0;
  let objectsUnchanged = 0;
  const limit = pLimit(input.readConcurrency ?? 8);
  // Objects of more than one chunk are read one at a time, beside the small ones: read together,
  // their chunks would interleave in the packs, and a restore reading them object by object
  // would fetch every pack several times (a 0.25 GiB instance downloaded 1.2 GB).
  const largeLimit = pLimit(1);
  const read = await Promise.all(
    listing.map((entry) =>
      (entry.size > chunkSize ? largeLimit : limit)(
        async (): Promise<ManifestObject | undefined> => {
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
            // A retried read starts the object over; chunks already offered are deduplicated.
            chunked = await fromSource(input, () =>
              chunkStream(
                input.source.read(input.instanceId, entry.key),
                async (chunk) => {
                  await Promise.all(writers.map((w) => w.offer(chunk)));
                },
                chunkSize,
              ),
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
        },
      ),
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
      const root = await writeMetadata(input, writer, objects, {
        digest,
        bytesTotal,
        createdAt,
        retainUntil,
      });
      if (!root) return;
      const encoded = encodeJson(root);
      const outcome = await writeOnce(
        writer,
        keys.manifest(input.instanceId, input.snapshotId),
        encoded,
        putOptions(),
      );
      if (outcome === 'written') {
        writer.root = root;
        writer.metadataBytes += encoded.length;
      }
      if (outcome === 'existed') {
        // A retried trigger: the id is taken. Accept it only if it holds the same config.
        try {
          const stored = await readRoot(writer.target.vault, input.instanceId, input.snapshotId);
          if (digestOf(stored) === digest) {
            existing += 1;
            if (stored.format === FORMAT) writer.root = stored;
          } else
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
  if (holding.length >= input.quorum) {
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
        writeOnce(
          w,
          keys.commit(input.instanceId, input.snapshotId),
          encodeJson(marker),
          putOptions(),
        ),
      ),
    );
  } else {
    for (const w of holding)
      w.fail(new Error('manifest written, but the quorum was not reached: left uncommitted'));
  }

  const live = writers.filter((w) => w.live);
  return {
    instanceId: input.instanceId,
    snapshotId: input.snapshotId,
    configDigest: digest,
    // Where the markers landed, not where they went out: a marker PUT that failed (or a crash
    // between them) can leave a quorum of roots with their markers in fewer regions, and
    // callers must not count that as committed (docs/simulation.md, bug 10b: the only snapshot
    // before the outage was marked at home alone and the next ticks took it as done; a failback
    // recorded a final snapshot with no region to restore from).
    committed: live.length >= input.quorum,
    quorum: input.quorum,
    regionsCommitted: live.map((w) => w.region),
    regionsFailed: writers
      .filter((w) => !w.live)
      .map((w) => ({ region: w.region, reason: w.failure ?? '' })),
    objectCount: objects.length,
    bytesTotal,
    bytesRead,
    bytesUploaded: writers.reduce((sum, w) => sum + w.bytesUploaded, 0),
    packsUploaded: writers.reduce((sum, w) => sum + w.packsUploaded, 0),
    objectsUnchanged,
    metadataBytesUploaded: writers.reduce((sum, w) => sum + w.metadataBytes, 0),
    retentionExtended: writers.reduce((sum, w) => sum + w.retentionExtended, 0),
    written: live.flatMap((w) =>
      w.root
        ? [
            {
              region: w.region,
              root: w.root,
              ...(w.previous
                ? { previous: { snapshotId: w.previous.snapshotId, packs: w.previous.packs } }
                : {}),
              committedIds: [...new Set([input.snapshotId, ...w.committedIds])].sort().reverse(),
            },
          ]
        : [],
    ),
    alreadyExisted: existing > 0 && existing === holding.length,
    durationMs: input.clock.now().getTime() - started.getTime(),
  };
}

/**
 * A replica's backup bucket whose calls that fail with StorageUnavailableError are tried again
 * in place (SOURCE_ATTEMPTS in all), as source reads are. A replica that fails is dropped from
 * the snapshot, and one S3 error past the SDK's retries was enough: seeds of bug 10 of
 * docs/simulation.md committed their only snapshot before the outage with its commit marker in
 * the home region alone (the other replicas' root or marker PUT failed once), so no region
 * that survived the outage held a snapshot to restore. Writes are safe to repeat: packs are
 * content-addressed, and a root or marker whose reply was lost comes back as "already exists",
 * which `writeOnce` accepts.
 */
function retrying(vault: BlobStore, sleep: (ms: number) => Promise<void>): BlobStore {
  const again = async <T>(call: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof StorageUnavailableError) || attempt >= SOURCE_ATTEMPTS) throw error;
        await sleep(Math.min(5_000, 250 * 2 ** attempt));
      }
    }
  };
  const { retention, extendRetention } = vault;
  return {
    location: vault.location,
    put: (key, body, options) => again(() => vault.put(key, body, options)),
    get: (key) => again(() => vault.get(key)),
    list: (prefix) => again(() => vault.list(prefix)),
    delete: (keys) => again(() => vault.delete(keys)),
    ...(retention ? { retention: (key) => again(() => retention.call(vault, key)) } : {}),
    ...(extendRetention
      ? {
          extendRetention: (key, retain) => again(() => extendRetention.call(vault, key, retain)),
        }
      : {}),
  };
}

function isUnchanged(before: ManifestObject, entry: ObjectEntry): boolean {
  return before.etag === entry.etag && before.size === entry.size;
}

function newestManifest(
  candidates: readonly (PreviousSnapshot | undefined)[],
): PreviousSnapshot | undefined {
  let newest: PreviousSnapshot | undefined;
  for (const m of candidates) if (m && (!newest || m.snapshotId > newest.snapshotId)) newest = m;
  return newest;
}
