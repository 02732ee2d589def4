import { Readable } from 'node:stream';

/**
 * A GetObject body as the SDK returns it in Node: a readable stream of pieces with the SDK's
 * `transformTo*` helpers mixed in.
 */
export function s3Body(bytes: Uint8Array, pieceSize = bytes.length || 1): never {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += pieceSize)
    pieces.push(Buffer.from(bytes.subarray(at, at + pieceSize)));
  const stream = Readable.from(pieces);
  return Object.assign(stream, {
    transformToByteArray: async () => new Uint8Array(bytes),
    transformToString: async () => Buffer.from(bytes).toString('utf8'),
  }) as never;
}

/** A stream that fails after its first piece, as a connection reset mid-body would. */
export function brokenS3Body(first: Uint8Array, error: Error): never {
  async function* pieces() {
    yield Buffer.from(first);
    throw error;
  }
  return Readable.from(pieces()) as never;
}
