import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Chunk } from '../../../../../shared/domain/snapshot/chunker.ts';
import { RegionWriter, writeOnce } from '../../../../../shared/domain/snapshot/region-writer.ts';
import { InMemoryBlobStore } from '../../../../fakes/blob-store.ts';

const INSTANCE = 'orders';
const PACKS = `instances/${INSTANCE}/packs/`;

function chunk(id: string, text: string): Chunk {
  const raw = Buffer.from(text);
  return { id: id.padEnd(64, '0'), size: raw.length, compressed: gzipSync(raw) };
}

function writer(vault = new InMemoryBlobStore({ region: 'us-west-2' })): RegionWriter {
  return new RegionWriter({ region: 'us-west-2', vault }, INSTANCE, 1 << 20, () => ({}));
}

describe('RegionWriter', () => {
  it('packs a chunk once and locates it when it is offered twice', async () => {
    const vault = new InMemoryBlobStore();
    const w = writer(vault);
    const a = chunk('a', 'first');

    await w.offer(a);
    await w.offer(a);
    await w.finish();

    expect(w.packsUploaded).toBe(1);
    expect(vault.keys(PACKS)).toHaveLength(1);
    const location = w.written.get(a.id);
    expect(location?.size).toBe(5);
    expect(w.live).toBe(true);
  });

  it('uploads nothing when every offered chunk is already held', async () => {
    const vault = new InMemoryBlobStore();
    const w = writer(vault);
    const a = chunk('a', 'first');
    w.held = new Set([a.id]);

    await w.offer(a);
    await w.finish();

    expect(w.holdsAll([a.id])).toBe(true);
    expect(w.packsUploaded).toBe(0);
    expect(vault.keys()).toEqual([]);
  });

  it('starts afresh when the newest committed snapshot has no readable root', async () => {
    const w = writer();

    await w.loadPrevious({ committedIds: new Map([['us-west-2', ['20261125T060000Z']]]) });

    expect(w.live).toBe(true);
    expect(w.committedIds).toEqual(['20261125T060000Z']);
    expect(w.previous).toBeUndefined();
    expect(w.held.size).toBe(0);
  });

  it('fails the region and keeps the first reason when listing its snapshots fails', async () => {
    const vault = new InMemoryBlobStore();
    vault.failOn('list', /./);
    const w = writer(vault);

    await w.loadPrevious({});
    w.fail(new Error('later'));

    expect(w.live).toBe(false);
    expect(w.failure).toMatch(/injected fault/);
  });

  it('uploads nothing once the region failed', async () => {
    const vault = new InMemoryBlobStore();
    const w = writer(vault);
    w.fail('gone');

    await w.offer(chunk('a', 'first'));
    await w.finish();

    expect(vault.keys()).toEqual([]);
    expect(w.failure).toBe('gone');
  });
});

describe('writeOnce', () => {
  it('returns existed and keeps the region live when the key is already taken', async () => {
    const vault = new InMemoryBlobStore();
    await vault.put('k', Buffer.from('old'));
    const w = writer(vault);

    expect(await writeOnce(w, 'k', Buffer.from('new'), {})).toBe('existed');
    expect(w.live).toBe(true);
    expect(vault.bytes('k').toString()).toBe('old');
  });

  it('returns failed and marks the region when the put fails', async () => {
    const vault = new InMemoryBlobStore();
    vault.failOn('put', /^k$/);
    const w = writer(vault);

    expect(await writeOnce(w, 'k', Buffer.from('new'), {})).toBe('failed');
    expect(w.live).toBe(false);
  });

  it('returns written with a conditional JSON put when the key is free', async () => {
    const vault = new InMemoryBlobStore();
    const w = writer(vault);

    expect(await writeOnce(w, 'k', Buffer.from('{}'), {})).toBe('written');
    expect(vault.calls.at(-1)?.options).toMatchObject({
      ifNoneMatch: true,
      contentType: 'application/json',
    });
  });
});
