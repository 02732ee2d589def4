import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import pLimit from 'p-limit';
import {
  AlreadyExistsError,
  ObjectMissingError,
  SnapshotIntegrityError,
  SnapshotNotFoundError,
} from '../../errors.ts';
import type {
  BlobStore,
  Clock,
  InstanceStore,
  MetadataCache,
  ObjectEntry,
  PutOptions,
} from '../ports.ts';
import { listCommittedSnapshotIds, readRoot, readSnapshot } from './catalog.ts';
import { type Chunk, type ChunkedObject, chunkStream, DEFAULT_CHUNK_SIZE } from './chunker.ts';
import {
  type ChunkLocation,
  type CommitMarker,
  configDigest,
  encodeJson,
  FORMAT,
  keys,
  LayerSchema,
  type Manifest,
  type ManifestObject,
  type Root,
  RootSchema,
} from './format.ts';
import { type PreviousLayers, planLayers } from './layers.ts';
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
  /** Local cache of metadata layers (content-addressed, re-hashed on every hit). */
  cache?: MetadataCache;
  /**
   * Committed snapshot ids per region, newest first, when the caller has just listed them
   * (the scheduled run lists them to decide whether a snapshot is due): not listed again.
   */
  committedIds?: ReadonlyMap<string, readonly string[]>;
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
  written: { region: string; root: Root; previous?: Manifest; committedIds: string[] }[];
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
  private readonly inflight: Promise<unknown>[] = [];
  /** Packs this run uploaded, with the Object Lock date they were given (ISO; '' without). */
  readonly uploaded = new Map<string, string>();
  packsUploaded = 0;
  bytesUploaded = 0;
  metadataBytes = 0;
  retentionExtended = 0;
  previous: Manifest | undefined;
  previousLayers: PreviousLayers | undefined;
  committedIds: string[] = [];
  root: Root | undefined;

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

  async loadPrevious(input: TakeSnapshotInput): Promise<void> {
    try {
      this.committedIds = [
        ...(input.committedIds?.get(this.region) ??
          (await listCommittedSnapshotIds(this.target.vault, this.instanceId))),
      ];
    } catch (error) {
      this.fail(error);
      return;
    }
    const [newest] = this.committedIds;
    if (!newest) return;
    try {
      const stored = await readSnapshot(this.target.vault, this.instanceId, newest, {
        cache: input.cache,
      });
      this.previous = stored.manifest;
      if (stored.manifest.root) {
        this.previousLayers = { refs: stored.manifest.root.layers, layers: stored.layers };
      }
      this.held = new Map(Object.entries(stored.manifest.chunks));
    } catch (error) {
      // An unreadable newest snapshot must not exclude the region for good: start it afresh
      // (every chunk and a full layer uploaded again) so this snapshot repairs the replica.
      if (error instanceof SnapshotIntegrityError || error instanceof SnapshotNotFoundError) {
        this.previous = undefined;
        this.previousLayers = undefined;
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

  /** Uploads a pack; a metadata pack counts under `metadataBytes`, not as a data pack. */
  async upload(pack: SealedPack, metadata = false): Promise<boolean> {
    if (!this.live) return false;
    try {
      const options = this.putOptions();
      await this.target.vault.put(keys.pack(this.instanceId, pack.id), pack.body, {
        ...options,
        contentType: 'application/octet-stream',
      });
      this.uploaded.set(pack.id, options.retainUntil?.until.toISOString() ?? '');
      if (metadata) {
        this.metadataBytes += pack.body.length;
      } else {
        this.packsUploaded += 1;
        this.bytesUploaded += pack.body.length;
      }
      return true;
    } catch (error) {
      this.fail(error);
      return false;
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
        target,
        input.instanceId,
        input.packSize ?? DEFAULT_PACK_SIZE,
        packPutOptions,
      ),
  );
  await Promise.all(writers.map((w) => w.loadPrevious(input)));

  const previous = newestManifest(writers.map((w) => w.previous));
  const previousByKey = new Map(previous?.objects.map((o) => [o.key, o]) ?? []);
  // The empty key is the instance prefix's own folder marker (`<instanceId>/`): it names the
  // instance, not an object of its configuration, and a manifest key must not be empty.
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
          const storedDigest =
            stored.format === FORMAT ? stored.configDigest : stored.manifest.configDigest;
          if (storedDigest === digest) {
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
    // The decision made when the markers went out; `regionsCommitted` says where they landed.
    committed,
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
              ...(w.previous ? { previous: w.previous } : {}),
              committedIds: [...new Set([input.snapshotId, ...w.committedIds])].sort().reverse(),
            },
          ]
        : [],
    ),
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

/** Object Lock: packs are locked for this many times `days`. */
const PACK_LOCK_FACTOR = 1.5;

function packRetention(
  rootRetention: { mode: 'GOVERNANCE' | 'COMPLIANCE'; until: Date },
  days: number,
): { mode: 'GOVERNANCE' | 'COMPLIANCE'; until: Date } {
  const extra = (PACK_LOCK_FACTOR - 1) * days * 86_400_000;
  return { mode: rootRetention.mode, until: new Date(rootRetention.until.getTime() + extra) };
}

/**
 * Writes a region's new layer (if any) in a metadata pack of its own, extends the retention of
 * the older packs the snapshot reuses, and returns the root to write; undefined when the
 * region failed.
 */
async function writeMetadata(
  input: TakeSnapshotInput,
  writer: RegionWriter,
  objects: readonly ManifestObject[],
  meta: {
    digest: string;
    bytesTotal: number;
    createdAt: string;
    retainUntil: () => { mode: 'GOVERNANCE' | 'COMPLIANCE'; until: Date } | undefined;
  },
): Promise<Root | undefined> {
  const index: Record<string, ChunkLocation> = {};
  for (const object of objects) {
    for (const id of object.chunks) {
      const location = writer.locate(id);
      if (!location) {
        writer.fail(new Error(`chunk ${id} of ${object.key} has no pack in this region`));
        return undefined;
      }
      index[id] = location;
    }
  }
  const plan = planLayers(writer.previousLayers, objects, index);
  const refs = [...plan.keep];
  // Every pack the new root needs: its layers' packs and the packs of its objects' chunks.
  // Entries an upper layer replaced may point into packs GC has since removed; readers never
  // follow them (applying the layers drops them first).
  const needed = new Set(Object.values(index).map((location) => location.pack));
  if (plan.write) {
    const raw = Buffer.from(JSON.stringify(plan.write));
    const builder = new PackBuilder();
    const id = createHash('sha256').update(raw).digest('hex');
    builder.add({ id, size: raw.length, compressed: gzipSync(raw) });
    const sealed = builder.seal();
    if (!(await writer.upload(sealed, true))) return undefined;
    const at = sealed.locations.get(id) as ChunkLocation;
    refs.push({
      id,
      pack: sealed.id,
      offset: at.offset,
      length: at.length,
      size: at.size,
      objects: plan.write.objects.length,
      deleted: plan.write.deleted.length,
    });
    await input.cache?.put(id, raw).catch(() => undefined);
  }
  for (const ref of refs) needed.add(ref.pack);
  const packs = [...needed].sort();
  const retain = meta.retainUntil();
  let retainUntil: Record<string, string> | undefined;
  if (retain) {
    retainUntil = await extendRetention(input, writer, packs, retain);
    if (!retainUntil) return undefined;
  }
  const root: Root = {
    format: FORMAT,
    instanceId: input.instanceId,
    snapshotId: input.snapshotId,
    createdAt: meta.createdAt,
    sourceRegion: input.sourceRegion,
    region: writer.region,
    configDigest: meta.digest,
    totals: { objects: objects.length, bytes: meta.bytesTotal },
    layers: refs,
    packs,
    ...(retainUntil ? { retainUntil } : {}),
  };
  // Never commit what a reader would reject (e.g. a key the source listed oddly).
  const checked = RootSchema.safeParse(root);
  const layerChecked = plan.write ? LayerSchema.safeParse(plan.write) : undefined;
  const issue = checked.success
    ? layerChecked && !layerChecked.success
      ? layerChecked.error.issues[0]
      : undefined
    : checked.error.issues[0];
  if (issue) {
    writer.fail(
      new Error(`manifest would be unreadable: ${issue.path.join('.')}: ${issue.message}`),
    );
    return undefined;
  }
  return root;
}

/**
 * With Object Lock, every pack a snapshot needs must stay locked at least as long as the
 * snapshot's own root (now + days). Packs are written with now + 1.5 × days; an older pack the
 * snapshot reuses whose lock would end before the root's is extended to now + 1.5 × days (as
 * Kopia's maintenance extends locks). So each pack is extended about once per half period, not
 * on every run. What each pack is known to be locked until is kept in the root. Returns that
 * map, or undefined when the region failed.
 */
async function extendRetention(
  input: TakeSnapshotInput,
  writer: RegionWriter,
  packs: readonly string[],
  retain: { mode: 'GOVERNANCE' | 'COMPLIANCE'; until: Date },
): Promise<Record<string, string> | undefined> {
  const lock = input.objectLock as { days: number };
  const known = writer.previous?.root?.retainUntil ?? {};
  const longer = packRetention(retain, lock.days);
  const out: Record<string, string> = {};
  const stale: string[] = [];
  for (const pack of packs) {
    const until = writer.uploaded.get(pack) || known[pack];
    if (until && Date.parse(until) >= retain.until.getTime()) out[pack] = until;
    else stale.push(pack);
  }
  const sorted = () => Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (stale.length === 0) return sorted();
  const vault = writer.target.vault;
  if (!vault.extendRetention) {
    writer.fail(new Error(`${vault.location} cannot extend Object Lock retention`));
    return undefined;
  }
  const limit = pLimit(8);
  try {
    await Promise.all(
      stale.map((pack) =>
        limit(async () => {
          await vault.extendRetention?.(keys.pack(input.instanceId, pack), longer);
          out[pack] = longer.until.toISOString();
          writer.retentionExtended += 1;
        }),
      ),
    );
  } catch (error) {
    writer.fail(error);
    return undefined;
  }
  return sorted();
}

/** Conditional write; `existed` when the key was already taken, failure marks the region. */
async function writeOnce(
  writer: RegionWriter,
  key: string,
  body: Uint8Array,
  options: PutOptions,
): Promise<'written' | 'existed' | 'failed'> {
  try {
    await writer.target.vault.put(key, body, {
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
