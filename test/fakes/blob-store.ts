import { MemoryBlobs } from '../../shared/adapters/memory/blobs.ts';
import type {
  BlobStore,
  Clock,
  PutOptions,
  RetainUntil,
  StoredBlob,
} from '../../shared/domain/ports.ts';
import { StorageUnavailableError } from '../../shared/errors.ts';
import { nextSeq } from './sequence.ts';

/** The operations of the BlobStore port. */
export type BlobOp = 'put' | 'get' | 'list' | 'delete' | 'retention' | 'extendRetention';

/** One call the code under test made, in the order it made them. */
export interface BlobCall {
  op: BlobOp;
  /** The key (put/get), the prefix (list), or the first key (delete). */
  key: string;
  /** Every key of a delete call. */
  keys?: string[];
  options?: PutOptions;
  bytes?: number;
  seq: number;
}

interface Fault {
  op: BlobOp;
  pattern: RegExp;
  make: (key: string) => Error;
}

/**
 * A backup or control bucket in memory, with S3's semantics where the domain relies on them:
 * `ifNoneMatch` raises AlreadyExistsError, deleting a missing key is not an error, listing is in
 * key order. Inspection helpers (`keys`, `bytes`, `corrupt`, ...) bypass faults and counters.
 */
export class InMemoryBlobStore implements BlobStore {
  readonly location: string;
  readonly calls: BlobCall[] = [];
  /** When true every call fails as a network failure would. */
  unreachable = false;
  private readonly blobs = new MemoryBlobs();
  private readonly faults: Fault[] = [];
  private readonly clock: Clock;

  constructor(options: { region?: string; clock?: Clock } = {}) {
    this.location = `memory://backup (${options.region ?? 'test-region-1'})`;
    this.clock = options.clock ?? { now: () => new Date() };
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    this.enter({ op: 'put', key, options, bytes: body.byteLength });
    this.blobs.put(key, body, options, this.clock.now());
  }

  async retention(key: string): Promise<RetainUntil | undefined> {
    this.enter({ op: 'retention', key });
    return this.blobs.objects.get(key)?.retain;
  }

  /** As S3: retention can only move later; an absent object is an error. */
  async extendRetention(key: string, retain: RetainUntil): Promise<void> {
    this.enter({ op: 'extendRetention', key });
    const found = this.blobs.objects.get(key);
    if (!found) throw new StorageUnavailableError(`${this.location} ${key}: NoSuchKey`);
    if (found.retain && found.retain.until.getTime() > retain.until.getTime()) {
      throw new StorageUnavailableError(`${this.location} ${key}: retention cannot be shortened`);
    }
    found.retain = { ...retain };
  }

  /** The Object Lock retention an object has now (no call recorded). */
  retentionOf(key: string): RetainUntil | undefined {
    return this.blobs.objects.get(key)?.retain;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.enter({ op: 'get', key });
    return this.blobs.get(key);
  }

  async list(prefix: string): Promise<StoredBlob[]> {
    this.enter({ op: 'list', key: prefix });
    return this.blobs.list(prefix);
  }

  async delete(keys: readonly string[]): Promise<void> {
    this.enter({ op: 'delete', key: keys[0] ?? '', keys: [...keys] });
    this.blobs.delete(keys);
  }

  private enter(call: Omit<BlobCall, 'seq'>): void {
    this.calls.push({ ...call, seq: nextSeq() });
    if (this.unreachable)
      throw new StorageUnavailableError(`${this.location} ${call.key}: connect ECONNREFUSED`);
    const fault = this.faults.find((f) => f.op === call.op && f.pattern.test(call.key));
    if (fault) throw fault.make(call.key);
  }

  /** Makes every `op` on a key matching `pattern` fail (default: StorageUnavailableError). */
  failOn(op: BlobOp, pattern: RegExp, make?: (key: string) => Error): void {
    this.faults.push({
      op,
      pattern,
      make:
        make ?? ((key) => new StorageUnavailableError(`${this.location} ${key}: injected fault`)),
    });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Stored keys under a prefix, sorted. */
  keys(prefix = ''): string[] {
    return this.blobs.keys(prefix);
  }

  has(key: string): boolean {
    return this.blobs.objects.has(key);
  }

  /** A copy of a stored object's bytes; throws when absent so a test typo fails loudly. */
  bytes(key: string): Buffer {
    const found = this.blobs.objects.get(key);
    if (!found) throw new Error(`test: no object ${key} in ${this.location}`);
    return Buffer.from(found.body);
  }

  /** The options the object was last written with. */
  optionsOf(key: string): PutOptions | undefined {
    return this.blobs.objects.get(key)?.options;
  }

  /** Replaces an object's bytes in place (no call recorded, lastModified kept). */
  overwrite(key: string, body: Uint8Array): void {
    const found = this.blobs.objects.get(key);
    if (!found) throw new Error(`test: no object ${key} in ${this.location}`);
    found.body = Buffer.from(body);
  }

  /** Flips every bit of one byte of a stored object, as silent bit rot would. */
  corrupt(key: string, offset?: number): void {
    const found = this.blobs.objects.get(key);
    if (!found) throw new Error(`test: no object ${key} in ${this.location}`);
    const at = offset ?? Math.floor(found.body.length / 2);
    found.body[at] = (found.body[at] ?? 0) ^ 0xff;
  }

  /** Deletes an object behind the code's back. */
  remove(key: string): void {
    if (!this.blobs.objects.delete(key))
      throw new Error(`test: no object ${key} in ${this.location}`);
  }

  setLastModified(key: string, at: Date): void {
    const found = this.blobs.objects.get(key);
    if (!found) throw new Error(`test: no object ${key} in ${this.location}`);
    found.lastModified = at;
  }

  lastModified(key: string): Date | undefined {
    return this.blobs.objects.get(key)?.lastModified;
  }

  /** Calls of one kind, optionally only those whose key matches. */
  callsOf(op: BlobOp, pattern?: RegExp): BlobCall[] {
    return this.calls.filter((c) => c.op === op && (!pattern || pattern.test(c.key)));
  }

  count(op: BlobOp, pattern?: RegExp): number {
    return this.callsOf(op, pattern).length;
  }

  /** Bytes sent by PUTs, optionally only to keys matching. */
  bytesPut(pattern?: RegExp): number {
    return this.callsOf('put', pattern).reduce((sum, c) => sum + (c.bytes ?? 0), 0);
  }

  /** Every key removed through `delete`, in call order. */
  deletedKeys(): string[] {
    return this.callsOf('delete').flatMap((c) => c.keys ?? []);
  }

  resetCalls(): void {
    this.calls.length = 0;
  }
}
