import { describe, expect, it } from 'vitest';
import { MemoryDocuments } from '../../../../../shared/adapters/memory/documents.ts';
import { WriteConflictError } from '../../../../../shared/errors.ts';

function store() {
  let n = 0;
  return new MemoryDocuments(() => `"v${++n}"`);
}

describe('MemoryDocuments', () => {
  it('creates a document only when the key is absent and no version is expected', () => {
    const docs = store();

    const version = docs.save('runs/a.json', { seq: 1 }, undefined);

    expect(version).toBe('"v1"');
    expect(docs.load('runs/a.json')).toEqual({ value: { seq: 1 }, version: '"v1"' });
    expect(() => docs.save('runs/a.json', { seq: 2 }, undefined)).toThrow(WriteConflictError);
  });

  it('refuses a save that names a stale version and keeps the stored document', () => {
    const docs = store();
    const first = docs.save('k', 1, undefined);
    docs.save('k', 2, first);

    expect(() => docs.save('k', 3, first)).toThrow(WriteConflictError);
    expect(docs.peek('k')).toBe(2);
    expect(docs.version('k')).toBe('"v2"');
  });

  it('keeps documents as JSON text so a caller never shares an object with the store', () => {
    const docs = store();
    const value = { list: [1] };
    docs.put('k', value);
    value.list.push(2);

    expect(docs.raw('k')).toBe('{"list":[1]}');
    const loaded = docs.load('k')?.value as { list: number[] };
    loaded.list.push(3);
    expect(docs.peek('k')).toEqual({ list: [1] });
  });

  it('lists the keys under a prefix in order and says whether a delete removed anything', () => {
    const docs = store();
    for (const key of ['capacity/b', 'runs/x', 'capacity/a']) docs.put(key, {});

    expect(docs.list('capacity/')).toEqual(['capacity/a', 'capacity/b']);
    expect(docs.delete('capacity/a')).toBe(true);
    expect(docs.delete('capacity/a')).toBe(false);
    expect(docs.load('capacity/a')).toBeUndefined();
  });
});
