import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  configDigest,
  encodeJson,
  idFromKey,
  keys,
  SNAPSHOT_ID,
  sha256Hex,
  snapshotIdFor,
  snapshotTime,
} from '../../../../../shared/domain/snapshot/format.ts';

describe('snapshotIdFor', () => {
  it('formats the UTC second when given a time with milliseconds', () => {
    expect(snapshotIdFor(new Date('2026-11-25T19:30:00.999Z'))).toBe('20261125T193000Z');
  });

  it('maps two triggers within the same second to the same id when a trigger is retried', () => {
    expect(snapshotIdFor(new Date('2026-01-02T03:04:05.001Z'))).toBe(
      snapshotIdFor(new Date('2026-01-02T03:04:05.900Z')),
    );
  });

  it('round-trips through snapshotTime when given any time between 1970 and 9999', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (date) => {
          const id = snapshotIdFor(date);
          expect(id).toMatch(SNAPSHOT_ID);
          expect(snapshotTime(id).getTime()).toBe(Math.floor(date.getTime() / 1000) * 1000);
        },
      ),
      { numRuns: 500, seed: 3 },
    );
  });

  it('sorts lexically in time order when ids are compared as strings', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('2000-01-01Z'),
          max: new Date('2099-12-31Z'),
          noInvalidDate: true,
        }),
        fc.date({
          min: new Date('2000-01-01Z'),
          max: new Date('2099-12-31Z'),
          noInvalidDate: true,
        }),
        (a, b) => {
          const [ia, ib] = [snapshotIdFor(a), snapshotIdFor(b)];
          const secondsA = Math.floor(a.getTime() / 1000);
          const secondsB = Math.floor(b.getTime() / 1000);
          expect(Math.sign(ia.localeCompare(ib))).toBe(Math.sign(secondsA - secondsB));
        },
      ),
      { numRuns: 300, seed: 4 },
    );
  });
});

describe('snapshotTime', () => {
  it.each(['2026-11-25', '20261125T1930Z', 'latest', '20261125T193000'])(
    'throws RangeError when the id is %j',
    (id) => {
      expect(() => snapshotTime(id)).toThrow(RangeError);
    },
  );
});

describe('idFromKey', () => {
  it.each([
    ['instances/petstore/snapshots/20261125T193000Z.json', '20261125T193000Z'],
    ['instances/petstore/commits/20261125T193000Z.json', '20261125T193000Z'],
    [`instances/petstore/packs/${'a'.repeat(64)}.pack`, 'a'.repeat(64)],
    ['plain', 'plain'],
    ['instances/x/snapshots/readme.txt', 'readme.txt'],
  ])('takes the id out of %j', (key, id) => {
    expect(idFromKey(key)).toBe(id);
  });

  it('inverts the key layout when given keys it built', () => {
    expect(idFromKey(keys.manifest('i', '20260101T000000Z'))).toBe('20260101T000000Z');
    expect(idFromKey(keys.commit('i', '20260101T000000Z'))).toBe('20260101T000000Z');
    expect(idFromKey(keys.pack('i', 'f'.repeat(64)))).toBe('f'.repeat(64));
  });
});

describe('keys', () => {
  it('keeps every key under the instance prefix when building the layout', () => {
    const prefix = keys.instancePrefix('petstore');
    expect(prefix).toBe('instances/petstore/');
    for (const key of [
      keys.pack('petstore', 'p'),
      keys.manifest('petstore', 's'),
      keys.commit('petstore', 's'),
      keys.packsPrefix('petstore'),
      keys.manifestsPrefix('petstore'),
      keys.commitsPrefix('petstore'),
    ]) {
      expect(key.startsWith(prefix)).toBe(true);
    }
    expect(keys.pack('petstore', 'p').startsWith(keys.packsPrefix('petstore'))).toBe(true);
    expect(keys.manifest('petstore', 's').startsWith(keys.manifestsPrefix('petstore'))).toBe(true);
    expect(keys.commit('petstore', 's').startsWith(keys.commitsPrefix('petstore'))).toBe(true);
  });
});

describe('configDigest', () => {
  const objects = [
    { key: 'apis/a.json', sha256: '1'.repeat(64) },
    { key: 'apis/b.json', sha256: '2'.repeat(64) },
    { key: 'plans/gold.json', sha256: '3'.repeat(64) },
  ];

  it('is the same whatever the order when given the same objects', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(objects, { minLength: 3, maxLength: 3 }), (shuffled) => {
        expect(configDigest(shuffled)).toBe(configDigest(objects));
      }),
      { numRuns: 50, seed: 5 },
    );
  });

  it('is the SHA-256 of key TAB sha256 LF lines in key order when computed', () => {
    const lines = objects.map((o) => `${o.key}\t${o.sha256}\n`).join('');
    expect(configDigest([...objects].reverse())).toBe(sha256Hex(Buffer.from(lines)));
  });

  it('changes when one object changes', () => {
    const changed = objects.map((o, i) => (i === 1 ? { ...o, sha256: '4'.repeat(64) } : o));
    expect(configDigest(changed)).not.toBe(configDigest(objects));
  });

  it('changes when an object is renamed', () => {
    const renamed = objects.map((o, i) => (i === 0 ? { ...o, key: 'apis/z.json' } : o));
    expect(configDigest(renamed)).not.toBe(configDigest(objects));
  });

  it('is the digest of nothing when the instance is empty', () => {
    expect(configDigest([])).toBe(sha256Hex(new Uint8Array()));
  });

  it('does not mutate its input when sorting', () => {
    const input = [...objects].reverse();
    const before = input.map((o) => o.key);
    configDigest(input);
    expect(input.map((o) => o.key)).toEqual(before);
  });
});

describe('encodeJson', () => {
  it('writes parseable JSON ending in a newline when encoding a value', () => {
    const bytes = encodeJson({ a: 1, b: ['x'] });
    const text = Buffer.from(bytes).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({ a: 1, b: ['x'] });
  });
});
