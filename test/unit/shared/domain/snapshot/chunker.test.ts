import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Chunk,
  chunkStream,
  DEFAULT_CHUNK_SIZE,
} from '../../../../../shared/domain/snapshot/chunker.ts';
import { randomBytes, seededRandom, streamOf } from '../../../../fakes/fixtures.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** Cuts `bytes` at the given points (sorted, deduplicated, within bounds). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(from, p));
    from = p;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

async function chunkAll(pieces: Uint8Array[], chunkSize: number) {
  const chunks: Chunk[] = [];
  const result = await chunkStream(
    streamOf(pieces),
    (c) => {
      chunks.push(c);
    },
    chunkSize,
  );
  return { chunks, result };
}

describe('chunkStream', () => {
  it('round-trips any body when the pieces are split anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 300 }),
        async (body, cuts, chunkSize) => {
          const { chunks, result } = await chunkAll(split(body, cuts), chunkSize);
          const restored = Buffer.concat(chunks.map((c) => gunzipSync(c.compressed)));
          expect(restored.equals(Buffer.from(body))).toBe(true);
          expect(result.size).toBe(body.length);
          expect(result.sha256).toBe(sha256(body));
          expect(result.md5).toBe(md5(body));
          expect(result.chunkIds).toEqual(chunks.map((c) => c.id));
          // Every chunk but the last is exactly chunkSize; none is larger.
          for (const c of chunks.slice(0, -1)) expect(c.size).toBe(chunkSize);
          expect(chunks.at(-1)?.size ?? 0).toBeLessThanOrEqual(chunkSize);
        },
      ),
      { numRuns: 400, seed: 42 },
    );
  });

  it('gives the same chunk ids whatever the piece boundaries when the body is the same', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 1500 }),
        fc.array(fc.nat({ max: 1500 }), { maxLength: 8 }),
        async (body, cuts) => {
          const whole = await chunkAll([body], 128);
          const pieces = await chunkAll(split(body, cuts), 128);
          expect(pieces.result.chunkIds).toEqual(whole.result.chunkIds);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });

  it('names each chunk by the SHA-256 of its raw bytes when it emits it', async () => {
    const body = randomBytes(seededRandom(1), 1000);
    const { chunks } = await chunkAll([body], 300);
    expect(chunks.map((c) => c.size)).toEqual([300, 300, 300, 100]);
    chunks.forEach((chunk, i) => {
      const raw = body.subarray(i * 300, i * 300 + chunk.size);
      expect(chunk.id).toBe(sha256(raw));
      expect(gunzipSync(chunk.compressed).equals(raw)).toBe(true);
    });
  });

  it('emits one empty chunk when the object is empty', async () => {
    const { chunks, result } = await chunkAll([], 64);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.size).toBe(0);
    expect(chunks[0]?.id).toBe(sha256(new Uint8Array()));
    expect(gunzipSync((chunks[0] as Chunk).compressed)).toHaveLength(0);
    expect(result).toEqual({
      size: 0,
      sha256: sha256(new Uint8Array()),
      md5: md5(new Uint8Array()),
      chunkIds: [chunks[0]?.id],
    });
  });

  it('emits one empty chunk when the body yields only empty pieces', async () => {
    const { chunks } = await chunkAll([new Uint8Array(), new Uint8Array()], 64);
    expect(chunks.map((c) => c.size)).toEqual([0]);
  });

  it('emits exactly one chunk when the object is exactly chunkSize', async () => {
    const body = randomBytes(seededRandom(2), 256);
    const { chunks } = await chunkAll(split(body, [10, 100]), 256);
    expect(chunks.map((c) => c.size)).toEqual([256]);
  });

  it('emits a one-byte second chunk when the object is chunkSize + 1', async () => {
    const body = randomBytes(seededRandom(3), 257);
    const { chunks } = await chunkAll([body], 256);
    expect(chunks.map((c) => c.size)).toEqual([256, 1]);
    expect(chunks[1]?.id).toBe(sha256(body.subarray(256)));
  });

  it('gives identical chunks the same id when an object repeats a block', async () => {
    const block = randomBytes(seededRandom(4), 100);
    const { chunks } = await chunkAll([Buffer.concat([block, block, block])], 100);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks).toHaveLength(3);
  });

  it('hands each chunk over before reading further when the body is streamed', async () => {
    const order: string[] = [];
    async function* body() {
      for (let i = 0; i < 4; i += 1) {
        order.push(`piece ${i}`);
        yield new Uint8Array(50).fill(i);
      }
    }
    await chunkStream(
      body(),
      (c) => {
        order.push(`chunk ${c.size}`);
      },
      100,
    );
    expect(order).toEqual(['piece 0', 'piece 1', 'chunk 100', 'piece 2', 'piece 3', 'chunk 100']);
  });

  it('waits for an async onChunk when the consumer is slow', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    await chunkStream(
      streamOf([randomBytes(seededRandom(5), 1000)]),
      async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 1));
        inFlight -= 1;
      },
      100,
    );
    expect(maxInFlight).toBe(1);
  });

  it('splits at 1 MiB when no chunk size is given', async () => {
    expect(DEFAULT_CHUNK_SIZE).toBe(1024 * 1024);
    const body = Buffer.alloc(DEFAULT_CHUNK_SIZE + 10, 7);
    const chunks: Chunk[] = [];
    await chunkStream(streamOf([body]), (c) => {
      chunks.push(c);
    });
    expect(chunks.map((c) => c.size)).toEqual([DEFAULT_CHUNK_SIZE, 10]);
  });

  it('reads pieces that are views into a larger buffer correctly when given subarrays', async () => {
    const backing = randomBytes(seededRandom(6), 600);
    const view = backing.subarray(100, 400);
    const { chunks } = await chunkAll(
      [new Uint8Array(view.buffer, view.byteOffset, view.byteLength)],
      1000,
    );
    expect(gunzipSync((chunks[0] as Chunk).compressed).equals(view)).toBe(true);
  });

  it('keeps each compressed chunk in memory of its own size when the chunks are small', async () => {
    const chunks: Chunk[] = [];
    await chunkStream(
      (async function* () {
        yield Buffer.from('{"small":"document"}');
      })(),
      (c) => {
        chunks.push(c);
      },
    );
    const compressed = chunks[0]?.compressed as Buffer;
    expect(gunzipSync(compressed).toString()).toBe('{"small":"document"}');
    expect(compressed.buffer.byteLength).toBe(compressed.length);
  });
});
