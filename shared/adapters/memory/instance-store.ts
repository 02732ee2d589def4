import { createHash } from 'node:crypto';
import type { ObjectEntry } from '../../domain/ports.ts';

/**
 * One region's instance stores in memory (the objects of each instance's configuration, by
 * key), with what S3 gives that the snapshot code relies on: listing in key order with each
 * object's size and single-part ETag, bodies copied in. The one instance store of the test
 * fakes (`InMemoryInstanceStore`, which adds its call log, streaming and faults) and of the
 * simulator's regions (`SimTruth`).
 */
export class MemoryInstanceStore {
  private readonly data = new Map<string, Map<string, Buffer>>();

  /** The objects of an instance, by key: owners seed and inspect them directly. */
  objectsOf(instanceId: string): Map<string, Buffer> {
    let objects = this.data.get(instanceId);
    if (!objects) {
      objects = new Map();
      this.data.set(instanceId, objects);
    }
    return objects;
  }

  /** Every object of an instance, in key order. */
  list(instanceId: string): ObjectEntry[] {
    return [...this.contents(instanceId)].map(([key, body]) => ({
      key,
      etag: etagOf(body),
      size: body.length,
    }));
  }

  /** The object's bytes, or undefined when there is none. */
  get(instanceId: string, key: string): Buffer | undefined {
    return this.data.get(instanceId)?.get(key);
  }

  write(instanceId: string, key: string, body: Uint8Array): void {
    this.objectsOf(instanceId).set(key, Buffer.from(body));
  }

  /** Deleting a missing key is not an error, as in S3. */
  delete(instanceId: string, keys: readonly string[]): void {
    const objects = this.objectsOf(instanceId);
    for (const key of keys) objects.delete(key);
  }

  /** Every object of an instance, key → its bytes, in key order. */
  contents(instanceId: string): Map<string, Buffer> {
    return new Map(
      [...(this.data.get(instanceId) ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }
}

/** The ETag S3 gives a single-part upload: the body's MD5 in double quotes. */
export function etagOf(body: Uint8Array): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}
