import { AlreadyExistsError, SnapshotIntegrityError, SnapshotNotFoundError } from '../../errors.ts';
import type { PutOptions } from '../ports.ts';
import {
  listCommittedSnapshotIds,
  type PreviousSnapshot,
  readPrevious,
  readRoot,
  type SharedReads,
  type StoredRoot,
} from './catalog.ts';
import type { Chunk } from './chunker.ts';
import { type ChunkLocation, FORMAT_V1, keys, type Root } from './format.ts';
import { PackBuilder, type SealedPack } from './pack.ts';
import type { ReplicaTarget, TakeSnapshotInput } from './take-snapshot.ts';

const MAX_PACK_UPLOADS_IN_FLIGHT = 2;

/**
 * Writes one region's copy. A region that fails at any point is dropped from the run and
 * named in the result; it never blocks the others.
 */
export class RegionWriter {
  failure: string | undefined;
  /** Chunks the region's newest committed snapshot already references (its packs hold them). */
  held: ReadonlySet<string> = new Set();
  private readonly queued = new Set<string>();
  /** Where this run put each chunk it uploaded to this region. */
  readonly written = new Map<string, ChunkLocation>();
  private readonly builder: PackBuilder;
  private readonly inflight: Promise<unknown>[] = [];
  /** Packs this run uploaded, with the Object Lock date they were given (ISO; '' without). */
  readonly uploaded = new Map<string, string>();
  packsUploaded = 0;
  bytesUploaded = 0;
  metadataBytes = 0;
  retentionExtended = 0;
  previous: PreviousSnapshot | undefined;
  private previousRoot: StoredRoot | undefined;
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

  /** Reads the region's previous committed snapshot: its root, then its entries. */
  async loadPrevious(
    input: Pick<TakeSnapshotInput, 'committedIds' | 'cache'>,
    shared?: SharedReads,
  ): Promise<void> {
    await this.loadRoot(input);
    await this.loadFromRoot(input, shared);
  }

  /** The markers (unless the caller listed them) and the newest committed snapshot's root. */
  async loadRoot(input: Pick<TakeSnapshotInput, 'committedIds'>): Promise<void> {
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
      this.previousRoot = await readRoot(this.target.vault, this.instanceId, newest);
    } catch (error) {
      this.startAfresh(error);
    }
  }

  /**
   * The previous snapshot's entries (the whole metadata of an older format). Called for every
   * region in a set order (the source region first) once all roots are read, so a member that
   * several roots name is read from the first of them, deterministically.
   */
  async loadFromRoot(input: Pick<TakeSnapshotInput, 'cache'>, shared?: SharedReads): Promise<void> {
    const root = this.previousRoot;
    if (!this.live || !root) return;
    try {
      this.previous = await readPrevious(
        this.target.vault,
        this.instanceId,
        root.format === FORMAT_V1 ? root.manifest.snapshotId : root.snapshotId,
        { ...(input.cache ? { cache: input.cache } : {}), ...(shared ? { shared } : {}) },
        root,
      );
      this.held = this.previous.held;
    } catch (error) {
      this.startAfresh(error);
    }
  }

  /**
   * An unreadable newest snapshot must not exclude the region for good: start it afresh (every
   * chunk and a full layer uploaded again) so this snapshot repairs the replica. Any other
   * error (the bucket unreachable) drops the region from the run.
   */
  private startAfresh(error: unknown): void {
    if (error instanceof SnapshotIntegrityError || error instanceof SnapshotNotFoundError) {
      this.previous = undefined;
      this.previousRoot = undefined;
      this.held = new Set();
      return;
    }
    this.fail(error);
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
}

/** Conditional write; `existed` when the key was already taken, failure marks the region. */
export async function writeOnce(
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
