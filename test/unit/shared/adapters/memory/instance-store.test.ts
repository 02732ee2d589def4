import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  etagOf,
  MemoryInstanceStore,
} from '../../../../../shared/adapters/memory/instance-store.ts';

describe('MemoryInstanceStore', () => {
  it('lists an instance in key order with each object size and single-part ETag when written out of order', () => {
    const store = new MemoryInstanceStore();

    store.write('petstore', 'b.json', Buffer.from('bb'));
    store.write('petstore', 'a.json', Buffer.from('a'));
    store.write('other', 'c.json', Buffer.from('c'));

    expect(store.list('petstore')).toEqual([
      { key: 'a.json', etag: etagOf(Buffer.from('a')), size: 1 },
      { key: 'b.json', etag: etagOf(Buffer.from('bb')), size: 2 },
    ]);
  });

  it('keeps its own copy of a body when the caller changes the bytes it wrote', () => {
    const store = new MemoryInstanceStore();
    const body = Buffer.from('before');

    store.write('petstore', 'a.json', body);
    body.write('after!');

    expect(store.get('petstore', 'a.json')?.toString()).toBe('before');
  });

  it('deletes the named keys and ignores missing ones when asked to delete', () => {
    const store = new MemoryInstanceStore();
    store.write('petstore', 'a.json', Buffer.from('a'));
    store.write('petstore', 'b.json', Buffer.from('b'));

    store.delete('petstore', ['a.json', 'missing.json']);

    expect([...store.contents('petstore').keys()]).toEqual(['b.json']);
    expect(store.get('petstore', 'a.json')).toBeUndefined();
  });

  it('shows seeded objects through listing when set directly on objectsOf', () => {
    const store = new MemoryInstanceStore();

    store.objectsOf('petstore').set('z.json', Buffer.from('z'));

    expect(store.list('petstore').map((o) => o.key)).toEqual(['z.json']);
    expect(store.contents('never-written').size).toBe(0);
  });
});

describe('etagOf', () => {
  it('quotes the body MD5 when given bytes', () => {
    const md5 = createHash('md5').update('abc').digest('hex');

    expect(etagOf(Buffer.from('abc'))).toBe(`"${md5}"`);
  });
});
