import { SimulatedCrash } from '../../../shared/adapters/memory/crash.ts';
import { MemoryDocuments } from '../../../shared/adapters/memory/documents.ts';
import type { DocumentStore, VersionedDocument } from '../../../shared/domain/ports.ts';
import { WriteConflictError } from '../../../shared/errors.ts';

/** One call the store received, in order, with the client that made it. */
export interface StoreCall {
  client: string;
  op: 'load' | 'save' | 'list';
  key: string;
  /** save: the version the caller expected; load: the version it got. */
  version: string | undefined;
  outcome: 'ok' | 'missing' | 'conflict' | 'crash';
}

/** Runs before a call takes effect; tests await a gate here to script an interleaving. */
export type StoreHook = (call: {
  client: string;
  op: 'load' | 'save' | 'list';
  key: string;
  /** How many calls of this op this client has made so far, this one included (1-based). */
  nth: number;
}) => Promise<void> | void;

/**
 * The shared storage behind one or more clients. Documents are kept as JSON text (as in S3), so
 * a caller never shares objects with the store, and each write gets a new ETag-like version.
 * A save whose expected version is stale (or absent while a document exists) throws
 * `WriteConflictError`, like a failed S3 `If-Match` / `If-None-Match`.
 */
export class InMemoryDocumentStore implements DocumentStore {
  readonly location = 'memory://control-bucket (test)';
  readonly calls: StoreCall[] = [];
  private writes = 0;
  private readonly docs = new MemoryDocuments(() => {
    this.writes += 1;
    return `"etag-${this.writes}"`;
  });
  private readonly counts = new Map<string, number>();
  /** The next N saves (any client) fail with `WriteConflictError` without writing. */
  conflictNextSaves = 0;
  /** The next N successful saves persist and then throw `SimulatedCrash` (the reply is lost). */
  crashAfterNextSaves = 0;
  hook: StoreHook | undefined;

  /** A view of the same storage whose calls are recorded (and hooked) under `client`. */
  as(client: string): DocumentStore {
    return {
      location: this.location,
      load: (key) => this.loadAs(client, key),
      save: (key, value, expected) => this.saveAs(client, key, value, expected),
      list: (prefix) => this.listAs(client, prefix),
    };
  }

  load(key: string): Promise<VersionedDocument | undefined> {
    return this.loadAs('default', key);
  }

  save(key: string, value: unknown, expectedVersion: string | undefined): Promise<string> {
    return this.saveAs('default', key, value, expectedVersion);
  }

  list(prefix: string): Promise<string[]> {
    return this.listAs('default', prefix);
  }

  /** The stored value, parsed, or undefined. */
  peek(key: string): unknown {
    return this.docs.peek(key);
  }

  /** The stored JSON text, byte for byte. */
  raw(key: string): string | undefined {
    return this.docs.raw(key);
  }

  version(key: string): string | undefined {
    return this.docs.version(key);
  }

  /** Puts a document in place without any condition (seeding, corrupting). */
  seed(key: string, value: unknown): string {
    return this.docs.put(key, value);
  }

  /** Number of successful writes so far. */
  get writeCount(): number {
    return this.writes;
  }

  private async enter(client: string, op: 'load' | 'save' | 'list', key: string): Promise<void> {
    const id = `${client}/${op}`;
    const nth = (this.counts.get(id) ?? 0) + 1;
    this.counts.set(id, nth);
    await this.hook?.({ client, op, key, nth });
  }

  private async loadAs(client: string, key: string): Promise<VersionedDocument | undefined> {
    await this.enter(client, 'load', key);
    const doc = this.docs.load(key);
    this.calls.push({
      client,
      op: 'load',
      key,
      version: doc?.version,
      outcome: doc ? 'ok' : 'missing',
    });
    return doc;
  }

  private async listAs(client: string, prefix: string): Promise<string[]> {
    await this.enter(client, 'list', prefix);
    this.calls.push({ client, op: 'list', key: prefix, version: undefined, outcome: 'ok' });
    return this.docs.list(prefix);
  }

  private async saveAs(
    client: string,
    key: string,
    value: unknown,
    expectedVersion: string | undefined,
  ): Promise<string> {
    await this.enter(client, 'save', key);
    const record = (outcome: StoreCall['outcome']) =>
      this.calls.push({ client, op: 'save', key, version: expectedVersion, outcome });
    if (this.conflictNextSaves > 0) {
      this.conflictNextSaves -= 1;
      record('conflict');
      throw new WriteConflictError(key);
    }
    let version: string;
    try {
      version = this.docs.save(key, value, expectedVersion);
    } catch (error) {
      record('conflict');
      throw error;
    }
    if (this.crashAfterNextSaves > 0) {
      this.crashAfterNextSaves -= 1;
      record('crash');
      throw new SimulatedCrash(`after saving ${key}`);
    }
    record('ok');
    return version;
  }
}

/** A promise with its resolver outside, to hold a fake call until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
