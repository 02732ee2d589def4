import type { DocumentStore, VersionedDocument } from '../../../shared/domain/ports.ts';
import { StorageUnavailableError, WriteConflictError } from '../../../shared/errors.ts';
import { InMemoryDocumentStore } from '../detection/document-store.ts';
import { nextSeq } from '../sequence.ts';

/**
 * One region's control bucket: the compare-and-swap documents of `InMemoryDocumentStore` (its
 * conflict and crash injection, its call log and hook stay available as `inner`), plus what the
 * recovery chain also needs: deleting a key (capacity release) and the whole bucket going
 * unreachable (a region outage or partition).
 *
 * A delete leaves a tombstone at the deleted version rather than reaching into the inner store:
 * a later `If-None-Match` write replaces the tombstone by compare-and-swap, so two writers racing
 * to re-create a deleted key still get exactly one winner, and a writer holding the version it
 * read before the delete loses, as it would on S3.
 */
export class ControlBucket implements DocumentStore {
  readonly location: string;
  readonly inner = new InMemoryDocumentStore();
  /** Keys removed through `delete`, with the global call sequence number of each delete. */
  readonly deletes: { key: string; seq: number }[] = [];
  /** Every call fails as a network failure would. */
  unreachable = false;
  private readonly tombstones = new Map<string, string>();

  constructor(readonly region: string) {
    this.location = `memory://control (${region})`;
  }

  load(key: string): Promise<VersionedDocument | undefined> {
    return this.loadVia(this.inner, key);
  }

  save(key: string, value: unknown, expectedVersion: string | undefined): Promise<string> {
    return this.saveVia(this.inner, key, value, expectedVersion);
  }

  list(prefix: string): Promise<string[]> {
    return this.listVia(this.inner, prefix);
  }

  /** A view of this bucket whose calls the inner store records (and hooks) under `client`. */
  as(client: string): DocumentStore {
    const view = this.inner.as(client);
    return {
      location: this.location,
      load: (key) => this.loadVia(view, key),
      save: (key, value, expected) => this.saveVia(view, key, value, expected),
      list: (prefix) => this.listVia(view, prefix),
    };
  }

  private async listVia(view: DocumentStore, prefix: string): Promise<string[]> {
    this.check(prefix);
    const keys = await view.list(prefix);
    return keys.filter((key) => this.tombstones.get(key) !== this.inner.version(key));
  }

  private async loadVia(view: DocumentStore, key: string): Promise<VersionedDocument | undefined> {
    this.check(key);
    const doc = await view.load(key);
    if (doc && this.tombstones.get(key) === doc.version) return undefined;
    return doc;
  }

  private async saveVia(
    view: DocumentStore,
    key: string,
    value: unknown,
    expectedVersion: string | undefined,
  ): Promise<string> {
    this.check(key);
    const tombstone = this.tombstones.get(key);
    if (tombstone !== undefined && tombstone === this.inner.version(key)) {
      // The key is deleted: only a create (`If-None-Match: *`) may write it again.
      if (expectedVersion !== undefined) throw new WriteConflictError(key);
      return view.save(key, value, tombstone);
    }
    return view.save(key, value, expectedVersion);
  }

  /** Deletes a key; deleting a missing key is not an error, as on S3. */
  async delete(key: string): Promise<void> {
    this.check(key);
    this.deletes.push({ key, seq: nextSeq() });
    const version = this.inner.version(key);
    if (version !== undefined) this.tombstones.set(key, version);
  }

  /** The stored value, parsed, or undefined when absent or deleted (no call recorded). */
  peek(key: string): unknown {
    const version = this.inner.version(key);
    if (version === undefined || this.tombstones.get(key) === version) return undefined;
    return this.inner.peek(key);
  }

  /** Saves that took effect (a crash after the write included) of keys matching `pattern`. */
  savesOf(pattern: RegExp): number {
    return this.inner.calls.filter(
      (c) => c.op === 'save' && c.outcome !== 'conflict' && pattern.test(c.key),
    ).length;
  }

  private check(key: string): void {
    if (this.unreachable)
      throw new StorageUnavailableError(`${this.location} ${key}: connect ECONNREFUSED`);
  }
}
