import { createHash } from 'node:crypto';
import type { Chunk } from './chunker.ts';
import type { ChunkLocation } from './format.ts';

/** Default pack size: small chunks are grouped until a pack holds about this many bytes. */
export const DEFAULT_PACK_SIZE = 8 * 1024 * 1024;

/** A finished pack: its bytes, its content address and where each chunk sits in it. */
export interface SealedPack {
  id: string;
  body: Buffer;
  locations: Map<string, ChunkLocation>;
}

/**
 * Collects compressed chunks into one pack object, so that the number of PUTs grows with the
 * bytes changed rather than with the number of config objects. A pack is the plain
 * concatenation of gzip members; the manifest holds the index (chunk → offset, length).
 */
export class PackBuilder {
  private parts: Chunk[] = [];
  private bytes = 0;

  constructor(private readonly targetSize = DEFAULT_PACK_SIZE) {}

  get size(): number {
    return this.bytes;
  }

  get isEmpty(): boolean {
    return this.parts.length === 0;
  }

  get isFull(): boolean {
    return this.bytes >= this.targetSize;
  }

  add(chunk: Chunk): void {
    this.parts.push(chunk);
    this.bytes += chunk.compressed.length;
  }

  /** Returns the finished pack and starts an empty one. */
  seal(): SealedPack {
    const body = Buffer.concat(
      this.parts.map((p) => p.compressed),
      this.bytes,
    );
    const id = createHash('sha256').update(body).digest('hex');
    const locations = new Map<string, ChunkLocation>();
    let offset = 0;
    for (const part of this.parts) {
      locations.set(part.id, { pack: id, offset, length: part.compressed.length, size: part.size });
      offset += part.compressed.length;
    }
    this.parts = [];
    this.bytes = 0;
    return { id, body, locations };
  }
}
