import { describe, expect, it } from 'vitest';
import { MemoryBlobs } from '../../../../../shared/adapters/memory/blobs.ts';
import { AlreadyExistsError } from '../../../../../shared/errors.ts';

const NOW = new Date('2026-11-25T06:00:00Z');

describe('MemoryBlobs', () => {
  it('refuses a create-once put when the key is taken and keeps the first body', () => {
    const blobs = new MemoryBlobs();
    blobs.put('commits/a.json', Buffer.from('first'), { ifNoneMatch: true }, NOW);

    expect(() =>
      blobs.put('commits/a.json', Buffer.from('second'), { ifNoneMatch: true }, NOW),
    ).toThrow(AlreadyExistsError);
    expect(Buffer.from(blobs.get('commits/a.json') ?? []).toString()).toBe('first');
  });

  it('copies bodies in and out so a caller cannot change what is stored', () => {
    const blobs = new MemoryBlobs();
    const body = Buffer.from('abc');
    blobs.put('k', body, {}, NOW);
    body[0] = 0x7a;
    const read = blobs.get('k') as Uint8Array;
    read[1] = 0x7a;

    expect(Buffer.from(blobs.get('k') ?? []).toString()).toBe('abc');
  });

  it('lists the objects under a prefix in key order with their size and time', () => {
    const blobs = new MemoryBlobs();
    for (const key of ['p/b', 'q/a', 'p/a']) blobs.put(key, Buffer.from(key), {}, NOW);

    expect(blobs.list('p/')).toEqual([
      { key: 'p/a', size: 3, lastModified: NOW },
      { key: 'p/b', size: 3, lastModified: NOW },
    ]);
  });

  it('keeps the retention a put asked for and ignores deletes of missing keys', () => {
    const blobs = new MemoryBlobs();
    const until = new Date('2026-12-25T06:00:00Z');
    blobs.put('k', Buffer.from('x'), { retainUntil: { mode: 'GOVERNANCE', until } }, NOW);

    blobs.delete(['missing', 'k']);
    blobs.put('locked', Buffer.from('x'), { retainUntil: { mode: 'COMPLIANCE', until } }, NOW);

    expect(blobs.keys()).toEqual(['locked']);
    expect(blobs.objects.get('locked')?.retain).toEqual({ mode: 'COMPLIANCE', until });
  });
});
