import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** Default chunk size: objects up to this size are one chunk; larger ones are split. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

/** One chunk of an object: its id is the SHA-256 of the uncompressed bytes. */
export interface Chunk {
  id: string;
  size: number;
  /** The chunk on its own as a gzip member, so `gunzip` restores it by hand. */
  compressed: Buffer;
}

/** What reading one object produced, hashes of the whole body included. */
export interface ChunkedObject {
  size: number;
  sha256: string;
  md5: string;
  chunkIds: string[];
}

/**
 * Splits a streamed body into fixed-size chunks, hands each to `onChunk` as soon as it is
 * complete, and hashes the whole body on the way. Memory stays at one chunk whatever the
 * object's size. Fixed-size (not content-defined) chunking is enough for config objects, which
 * change as whole documents; see docs/snapshot-format.md.
 */
export async function chunkStream(
  body: AsyncIterable<Uint8Array>,
  onChunk: (chunk: Chunk) => Promise<void> | void,
  chunkSize = DEFAULT_CHUNK_SIZE,
): Promise<ChunkedObject> {
  const whole = createHash('sha256');
  const md5 = createHash('md5');
  const chunkIds: string[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let size = 0;

  const emit = async (bytes: Buffer) => {
    const id = createHash('sha256').update(bytes).digest('hex');
    chunkIds.push(id);
    // zlib returns a view of its 16 KiB output buffer: an open pack of thousands of small
    // chunks held that much per chunk (270 MiB of Buffers at 20,000 objects). A copy of its
    // own size lets the output buffer go.
    const zipped = gzipSync(bytes);
    const compressed = Buffer.allocUnsafeSlow(zipped.length);
    zipped.copy(compressed);
    await onChunk({ id, size: bytes.length, compressed });
  };

  for await (const piece of body) {
    const buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    whole.update(buf);
    md5.update(buf);
    size += buf.length;
    pending.push(buf);
    pendingBytes += buf.length;
    while (pendingBytes >= chunkSize) {
      const joined = Buffer.concat(pending, pendingBytes);
      await emit(joined.subarray(0, chunkSize));
      const rest = joined.subarray(chunkSize);
      pending = rest.length ? [rest] : [];
      pendingBytes = rest.length;
    }
  }
  // An empty object still gets one (empty) chunk so every object has a body to restore.
  if (pendingBytes > 0 || size === 0) await emit(Buffer.concat(pending, pendingBytes));
  return { size, sha256: whole.digest('hex'), md5: md5.digest('hex'), chunkIds };
}
