/**
 * Ports: what the domain needs from the outside world, in the domain's own words.
 * Adapters in `shared/adapters/` implement them with the AWS SDK; tests use fakes.
 */

/** One entry of a listing: enough to detect change without reading the body. */
export interface ObjectEntry {
  key: string;
  etag: string;
  size: number;
}

/** One stored blob as listed, with its age (garbage collection needs it). */
export interface StoredBlob {
  key: string;
  size: number;
  lastModified: Date;
}

/** Options of a blob write. */
export interface PutOptions {
  /** Succeed only if no object exists under the key (S3 `If-None-Match: *`). */
  ifNoneMatch?: boolean;
  contentType?: string;
  /** S3 Object Lock retention, when the bucket has Object Lock enabled. */
  retainUntil?: RetainUntil;
}

/**
 * An object store in one region (a backup or control bucket).
 * Conditional writes raise `AlreadyExistsError`; unreachable storage raises `StorageUnavailableError`.
 */
export interface BlobStore {
  /** Where this store lives, for messages: e.g. `s3://bucket (us-east-1)`. */
  readonly location: string;
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void>;
  /** The whole object, or `undefined` when no object exists under the key. */
  get(key: string): Promise<Uint8Array | undefined>;
  list(prefix: string): Promise<StoredBlob[]>;
  delete(keys: readonly string[]): Promise<void>;
  /** Object Lock: the object's current retention, or undefined when it has none (or is absent). */
  retention?(key: string): Promise<RetainUntil | undefined>;
  /** Object Lock: moves an object's retention date later (S3 never lets it move earlier). */
  extendRetention?(key: string, retain: RetainUntil): Promise<void>;
}

/** An Object Lock retention: its mode and the date until which the object cannot be deleted. */
export interface RetainUntil {
  mode: 'GOVERNANCE' | 'COMPLIANCE';
  until: Date;
}

/**
 * A local, content-addressed cache of snapshot metadata (in Lambda, /tmp): bytes by the hex
 * SHA-256 they hash to. Readers re-hash every hit, so a damaged cache only costs a download.
 */
export interface MetadataCache {
  get(id: string): Promise<Uint8Array | undefined>;
  put(id: string, bytes: Uint8Array): Promise<void>;
}

/**
 * The configuration of one API-management instance in one region: API definitions,
 * products, plans, subscriptions, each an object under a key.
 */
export interface InstanceStore {
  readonly location: string;
  list(instanceId: string): Promise<ObjectEntry[]>;
  /** Streams an object's body so large objects never sit whole in memory. */
  read(instanceId: string, key: string): AsyncIterable<Uint8Array>;
  write(instanceId: string, key: string, body: Uint8Array): Promise<void>;
  delete(instanceId: string, keys: readonly string[]): Promise<void>;
  /**
   * Write order of a restore, for kinds whose objects name each other (API Gateway: APIs
   * before the usage plans that name them). Lower ranks are written first; default: one rank.
   */
  restoreRank?(instanceId: string, key: string): number;
  /**
   * Checks an object before a restore writes anything (a region-bound reference without a
   * mapping, a secret this region cannot open). Throwing stops the restore untouched.
   */
  preflight?(instanceId: string, key: string, body: Uint8Array): Promise<void>;
  /**
   * The calls made so far to a rate-limited control plane for this instance's kind (operation →
   * count). Against an emulator a restore runs unpaced; these let its time at the provider's
   * limits be projected. Absent: the store has no such limits.
   */
  pacedCalls?(instanceId: string): ReadonlyMap<string, number>;
  /** How long `calls` take at the provider's documented limits (AWS's), in seconds. */
  secondsAtProviderLimits?(instanceId: string, calls: ReadonlyMap<string, number>): number;
}

/** A stored document and the version it was read at. */
export interface VersionedDocument {
  value: unknown;
  version: string;
}

/**
 * Small JSON documents updated by compare-and-swap (S3 `If-Match` / `If-None-Match`), for
 * state that concurrent invocations share. A lost race raises `WriteConflictError`.
 */
export interface DocumentStore {
  readonly location: string;
  load(key: string): Promise<VersionedDocument | undefined>;
  /** Writes only if the stored version is still `expectedVersion` (absent: only if none exists). */
  save(key: string, value: unknown, expectedVersion: string | undefined): Promise<string>;
  /** Keys under `prefix`, in key order: one listing instead of a load per possible key. */
  list(prefix: string): Promise<string[]>;
}

/** An event on lifeboat's bus: `detailType` is the EventBridge detail-type. */
export interface LifeboatEvent<Detail = unknown> {
  detailType: string;
  detail: Detail;
  time?: Date;
}

/** Lifeboat's own event bus. */
export interface EventBus {
  publish(events: readonly LifeboatEvent[]): Promise<void>;
}

/** Time, injectable so tests and simulations control it. */
export interface Clock {
  now(): Date;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => new Date() };
