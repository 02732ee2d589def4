import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Chunk } from '../../../../../shared/domain/snapshot/chunker.ts';
import { DEFAULT_PACK_SIZE, PackBuilder } from '../../../../../shared/domain/snapshot/pack.ts';
import { randomBytes, seededRandom } from '../../../../fakes/fixtures.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function chunkOf(raw: Buffer): Chunk {
  return { id: sha256(raw), size: raw.length, compressed: gzipSync(raw) };
}

describe('PackBuilder', () => {
  it('locates every chunk by offset and length when sealed', () => {
    const random = seededRandom(11);
    const raws = [10, 500, 0, 3000, 77].map((n) => randomBytes(random, n));
    const builder = new PackBuilder(1 << 20);
    for (const raw of raws) builder.add(chunkOf(raw));
    const pack = builder.seal();
    expect(pack.locations.size).toBe(raws.length);
    let expectedOffset = 0;
    for (const raw of raws) {
      const location = pack.locations.get(sha256(raw));
      expect(location).toBeDefined();
      if (!location) continue;
      expect(location.pack).toBe(pack.id);
      expect(location.offset).toBe(expectedOffset);
      expect(location.size).toBe(raw.length);
      const member = pack.body.subarray(location.offset, location.offset + location.length);
      expect(gunzipSync(member).equals(raw)).toBe(true);
      expectedOffset += location.length;
    }
    expect(pack.body.length).toBe(expectedOffset);
  });

  it('names the pack by the SHA-256 of its body when sealed', () => {
    const builder = new PackBuilder();
    builder.add(chunkOf(Buffer.from('alpha')));
    builder.add(chunkOf(Buffer.from('beta')));
    const pack = builder.seal();
    expect(pack.id).toBe(sha256(pack.body));
  });

  it('is a concatenation of gzip members that gunzip restores whole when unpacked by hand', () => {
    const builder = new PackBuilder();
    builder.add(chunkOf(Buffer.from('hello ')));
    builder.add(chunkOf(Buffer.from('world')));
    expect(gunzipSync(builder.seal().body).toString()).toBe('hello world');
  });

  it('reports full once the compressed bytes reach the target when chunks are added', () => {
    const first = chunkOf(randomBytes(seededRandom(12), 600));
    const second = chunkOf(randomBytes(seededRandom(13), 600));
    const target = first.compressed.length + second.compressed.length;
    const builder = new PackBuilder(target);
    expect(builder.isEmpty).toBe(true);
    expect(builder.isFull).toBe(false);
    builder.add(first);
    expect(builder.size).toBe(first.compressed.length);
    expect(builder.isFull).toBe(false);
    builder.add(second);
    expect(builder.size).toBe(target);
    expect(builder.isFull).toBe(true);
  });

  it('starts empty again when a pack is sealed', () => {
    const builder = new PackBuilder(10);
    builder.add(chunkOf(Buffer.from('some bytes to pack')));
    expect(builder.isFull).toBe(true);
    const first = builder.seal();
    expect(builder.isEmpty).toBe(true);
    expect(builder.size).toBe(0);
    builder.add(chunkOf(Buffer.from('other')));
    const second = builder.seal();
    expect(second.id).not.toBe(first.id);
    expect([...second.locations.keys()]).toEqual([sha256(Buffer.from('other'))]);
  });

  it('targets 8 MiB packs when no size is given', () => {
    expect(DEFAULT_PACK_SIZE).toBe(8 * 1024 * 1024);
  });
});
