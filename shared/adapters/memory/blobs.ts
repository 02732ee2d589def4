import type { PutOptions, RetainUntil, StoredBlob } from '../../domain/ports.ts';
import { AlreadyExistsError } from '../../errors.ts';

/** One object of a bucket in memory. */
export interface MemoryObject {
  body: Buffer;
  lastModified: Date;
  /** The options it was last written with. */
  options: PutOptions;
  /** Object Lock retention: set by the put, moved later by the owner. */
  retain?: RetainUntil;
}

/**
 * A bucket's objects in memory, with S3's semantics where the domain relies on them: a put
 * with `ifNoneMatch` on a taken key raises AlreadyExistsError, listing is in key order,
 * deleting a missing key is not an error, bodies are copied in and out. The one blob store of
 * the test fakes' buckets and the simulator's backup buckets.
 */
export class MemoryBlobs {
  /** The objects by key (owners inspect and corrupt them directly). */
  readonly objects = new Map<string, MemoryObject>();

  put(key: string, body: Uint8Array, options: PutOptions, now: Date): void {
    if (options.ifNoneMatch && this.objects.has(key)) throw new AlreadyExistsError(key);
    this.objects.set(key, {
      body: Buffer.from(body),
      lastModified: now,
      options,
      ...(options.retainUntil ? { retain: { ...options.retainUntil } } : {}),
    });
  }

  get(key: string): Uint8Array | undefined {
    const found = this.objects.get(key);
    return found ? new Uint8Array(found.body) : undefined;
  }

  /** Keys under `prefix`, in order. */
  keys(prefix = ''): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  list(prefix: string): StoredBlob[] {
    return this.keys(prefix).map((key) => {
      const found = this.objects.get(key) as MemoryObject;
      return { key, size: found.body.length, lastModified: found.lastModified };
    });
  }

  delete(keys: readonly string[]): void {
    for (const key of keys) this.objects.delete(key);
  }
}
