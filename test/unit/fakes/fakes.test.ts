import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AlreadyExistsError, StorageUnavailableError } from '../../../shared/errors.ts';
import { InMemoryBlobStore } from '../../fakes/blob-store.ts';
import { FakeClock, HOUR } from '../../fakes/clock.ts';
import { RecordingEventBus } from '../../fakes/event-bus.ts';
import { collect } from '../../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../../fakes/instance-store.ts';

// The domain tests are only as good as these fakes: pin the S3 behaviour they stand in for.

describe('InMemoryBlobStore', () => {
  it('refuses a second conditional write and keeps the first body when ifNoneMatch is set', async () => {
    const store = new InMemoryBlobStore();
    await store.put('k', Buffer.from('first'), { ifNoneMatch: true });
    await expect(
      store.put('k', Buffer.from('second'), { ifNoneMatch: true }),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(store.bytes('k').toString()).toBe('first');
    await store.put('k', Buffer.from('third'));
    expect(store.bytes('k').toString()).toBe('third');
  });

  it('fails every call with StorageUnavailableError but still records it when unreachable', async () => {
    const store = new InMemoryBlobStore();
    store.unreachable = true;
    await expect(store.get('k')).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.list('')).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(store.count('get') + store.count('list')).toBe(2);
  });

  it('stamps lastModified from the injected clock and lists in key order when objects are written', async () => {
    const clock = new FakeClock('2026-11-25T06:00:00Z');
    const store = new InMemoryBlobStore({ clock });
    await store.put('b', new Uint8Array([1, 2]));
    clock.advance(HOUR);
    await store.put('a', new Uint8Array([1]));
    expect(await store.list('')).toEqual([
      { key: 'a', size: 1, lastModified: new Date('2026-11-25T07:00:00Z') },
      { key: 'b', size: 2, lastModified: new Date('2026-11-25T06:00:00Z') },
    ]);
  });

  it('keeps the stored bytes when callers change the buffers they passed or got', async () => {
    const store = new InMemoryBlobStore();
    const body = Buffer.from('abc');
    await store.put('k', body);
    body[0] = 0x7a;
    const read = (await store.get('k')) as Uint8Array;
    read[1] = 0x7a;
    expect(store.bytes('k').toString()).toBe('abc');
  });

  it('flips a byte when corrupting and fails only matching calls when a fault is set', async () => {
    const store = new InMemoryBlobStore();
    await store.put('packs/p', Buffer.from([0, 0, 0]));
    store.corrupt('packs/p', 1);
    expect([...store.bytes('packs/p')]).toEqual([0, 0xff, 0]);
    store.failOn('put', /snapshots/);
    await expect(store.put('snapshots/s', new Uint8Array())).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );
    await store.put('packs/q', new Uint8Array());
    expect(store.keys()).toEqual(['packs/p', 'packs/q']);
  });
});

describe('InMemoryInstanceStore', () => {
  it('lists quoted MD5 ETags like S3 and streams bodies in pieces when read', async () => {
    const store = new InMemoryInstanceStore({ pieceSize: 3 });
    store.seed('i', 'a.json', '{"a":1}');
    const md5 = createHash('md5').update('{"a":1}').digest('hex');
    expect(await store.list('i')).toEqual([{ key: 'a.json', etag: `"${md5}"`, size: 7 }]);
    expect((await collect(store.read('i', 'a.json'))).toString()).toBe('{"a":1}');
    expect(store.pieces.map((p) => p.bytes)).toEqual([3, 3, 1]);
    expect(store.readKeys()).toEqual(['a.json']);
  });

  it('keeps instances apart and records calls when writing and deleting', async () => {
    const store = new InMemoryInstanceStore();
    await store.write('a', 'k', Buffer.from('1'));
    await store.write('b', 'k', Buffer.from('2'));
    await store.delete('a', ['k']);
    expect(store.contents('a').size).toBe(0);
    expect(store.contents('b').get('k')?.toString()).toBe('2');
    expect(store.count('write')).toBe(2);
    expect(store.count('delete')).toBe(1);
  });
});

describe('RecordingEventBus', () => {
  it('keeps published events by detail-type and throws when told to fail', async () => {
    const bus = new RecordingEventBus();
    await bus.publish([
      { detailType: 'A', detail: 1 },
      { detailType: 'B', detail: 2 },
    ]);
    expect(bus.details('B')).toEqual([2]);
    bus.failWith = new Error('down');
    await expect(bus.publish([{ detailType: 'A', detail: 3 }])).rejects.toThrow('down');
    expect(bus.details('A')).toEqual([1]);
  });
});

describe('FakeClock', () => {
  it('moves only when advanced, or by tickMs on each read', () => {
    const still = new FakeClock('2026-11-25T06:00:00Z');
    expect(still.now()).toEqual(still.now());
    still.advance(HOUR);
    expect(still.now().toISOString()).toBe('2026-11-25T07:00:00.000Z');
    const ticking = new FakeClock('2026-11-25T06:00:00Z', 10);
    expect(ticking.now().getTime() + 10).toBe(ticking.now().getTime());
  });
});
