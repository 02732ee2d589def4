import { describe, expect, it } from 'vitest';
import {
  applied,
  applyEntries,
  applyLayers,
  indexOf,
} from '../../../../../shared/domain/snapshot/apply-layers.ts';
import {
  LAYER_FORMAT_V2,
  type ManifestObject,
} from '../../../../../shared/domain/snapshot/format.ts';

const hex = (c: string) => c.repeat(64);
const object = (key: string, chunks: string[], size = 1): ManifestObject => ({
  key,
  size,
  etag: `"${key}"`,
  sha256: hex('0'),
  md5: '0'.repeat(32),
  chunks,
});
const at = (pack: string) => ({ pack: hex(pack), offset: 0, length: 1, size: 1 });

describe('applyEntries', () => {
  it('removes deleted keys before adding, and sorts by key, when layers are applied in order', () => {
    const objects = applyEntries([
      { objects: [object('b', [hex('1')]), object('a', [hex('2')])], deleted: [] },
      { objects: [object('b', [hex('3')], 7)], deleted: ['a', 'b'] },
      { objects: [object('c', [])], deleted: [] },
    ]);
    expect(objects.map((o) => [o.key, o.size])).toEqual([
      ['b', 7],
      ['c', 1],
    ]);
  });
});

describe('indexOf', () => {
  it("keeps only the chunks the objects reference, each at its latest map's location", () => {
    const chunks = indexOf(
      [object('a', [hex('1'), hex('2')])],
      [
        { [hex('1')]: at('a'), [hex('9')]: at('a') },
        { [hex('1')]: at('b'), [hex('2')]: at('c') },
      ],
    );
    expect(chunks).toEqual({ [hex('1')]: at('b'), [hex('2')]: at('c') });
  });
});

describe('applyLayers', () => {
  it("returns the layers' objects with the index of just their chunks", () => {
    const { objects, chunks } = applyLayers([
      {
        format: LAYER_FORMAT_V2,
        objects: [object('a', [hex('1')]), object('b', [hex('2')])],
        deleted: [],
        chunks: { [hex('1')]: at('a'), [hex('2')]: at('a') },
      },
      { format: LAYER_FORMAT_V2, objects: [], deleted: ['b'], chunks: {} },
    ]);
    expect(objects.map((o) => o.key)).toEqual(['a']);
    expect(Object.keys(chunks)).toEqual([hex('1')]);
  });
});

describe('applied', () => {
  it('collects each chunk id once when objects share chunks', () => {
    const result = applied([object('a', [hex('1'), hex('2')]), object('b', [hex('2')])]);
    expect([...result.chunkIds].sort()).toEqual([hex('1'), hex('2')]);
  });
});
