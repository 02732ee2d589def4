import type { VersionedDocument } from '../../domain/ports.ts';
import { WriteConflictError } from '../../errors.ts';

/**
 * Versioned JSON documents in memory, with S3's conditional-write rule: a save names the
 * version it read (undefined: the key must be absent) and fails with WriteConflictError when
 * the document moved on. Kept as JSON text, as in S3, so a caller never shares objects with
 * the store. The one compare-and-swap store of the test fakes and the simulator; they add
 * their own call logs, faults and gates around it.
 */
export class MemoryDocuments {
  private readonly docs = new Map<string, { json: string; version: string }>();

  /** `nextVersion` names each write's version (an ETag-like string, unique per store). */
  constructor(private readonly nextVersion: () => string) {}

  load(key: string): VersionedDocument | undefined {
    const doc = this.docs.get(key);
    return doc ? { value: JSON.parse(doc.json), version: doc.version } : undefined;
  }

  /** Keys under `prefix`, sorted as S3 lists them. */
  list(prefix: string): string[] {
    return [...this.docs.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  /** Compare-and-swap: writes when `expected` is the stored version (undefined: absent). */
  save(key: string, value: unknown, expected: string | undefined): string {
    if (this.version(key) !== expected) throw new WriteConflictError(key);
    return this.put(key, value);
  }

  /** Writes without a condition (seeding, corrupting); the new version. */
  put(key: string, value: unknown): string {
    const version = this.nextVersion();
    this.docs.set(key, { json: JSON.stringify(value), version });
    return version;
  }

  /** Removes a key; false when it was not there (not an error, as on S3). */
  delete(key: string): boolean {
    return this.docs.delete(key);
  }

  version(key: string): string | undefined {
    return this.docs.get(key)?.version;
  }

  /** The stored JSON text, byte for byte. */
  raw(key: string): string | undefined {
    return this.docs.get(key)?.json;
  }

  /** The stored value, parsed, or undefined. */
  peek(key: string): unknown {
    const json = this.raw(key);
    return json === undefined ? undefined : JSON.parse(json);
  }
}
