import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DocumentStore } from '../../../../../shared/domain/ports.ts';
import {
  type ClaimOutcome,
  type ClaimRecord,
  claim,
  claimSet,
  majorityOf,
  readClaim,
} from '../../../../../shared/domain/recovery/claims.ts';
import { StorageUnavailableError } from '../../../../../shared/errors.ts';
import { InMemoryDocumentStore } from '../../../../fakes/detection/document-store.ts';

const KEY = 'instances/petstore/generations/000001.json';
const SET3 = ['eu-west-1', 'us-east-2', 'us-west-2'];

function recordOf(claimant: string, set: string[] = SET3): ClaimRecord {
  return {
    key: KEY,
    claimant,
    claimSet: set,
    claimedAt: '2026-11-25T06:00:00.000Z',
    payload: { runId: 'petstore-g1', by: claimant },
  };
}

/** A bucket that does not answer. */
const down: DocumentStore = {
  location: 'memory://down',
  load: async (key) => {
    throw new StorageUnavailableError(`down ${key}`);
  },
  save: async (key) => {
    throw new StorageUnavailableError(`down ${key}`);
  },
  list: async (prefix) => {
    throw new StorageUnavailableError(`down ${prefix}`);
  },
};

/** One in-memory control bucket per region; regions in `unreachable` do not answer. */
function buckets(regions: readonly string[] = SET3) {
  const stores = new Map(regions.map((r) => [r, new InMemoryDocumentStore()]));
  const unreachable = new Set<string>();
  const storeOf = (region: string): DocumentStore => {
    const store = stores.get(region);
    if (!store) throw new Error(`test: no bucket ${region}`);
    return unreachable.has(region) ? down : store;
  };
  const bucket = (region: string) => stores.get(region) as InMemoryDocumentStore;
  return { stores, unreachable, storeOf, bucket };
}

/**
 * Makes each bucket accept the claimants' saves only in the given order: the next claimant's
 * save is let through on a later macrotask, after the previous one has taken effect.
 */
function orderSaves(store: InMemoryDocumentStore, order: readonly string[]): void {
  let turn = 0;
  const waiting = new Map<string, () => void>();
  store.hook = async ({ client, op }) => {
    if (op !== 'save') return;
    const index = order.indexOf(client);
    if (index > turn) await new Promise<void>((resolve) => waiting.set(client, resolve));
    setImmediate(() => {
      turn += 1;
      const next = order[turn];
      if (next !== undefined) waiting.get(next)?.();
    });
  };
}

const winners = (outcomes: ClaimOutcome[]) => outcomes.filter((o) => o.outcome === 'won');

describe('claimSet', () => {
  it('leaves out the excluded regions and sorts the rest when they are an odd number', () => {
    expect(claimSet(['us-west-2', 'us-east-1', 'us-east-2', 'eu-west-1'], ['us-east-1'])).toEqual([
      'eu-west-1',
      'us-east-2',
      'us-west-2',
    ]);
  });

  it('drops the last region in sorted order when an even number remains', () => {
    expect(claimSet(['us-west-2', 'us-east-1', 'us-east-2', 'eu-west-1'], [])).toEqual([
      'eu-west-1',
      'us-east-1',
      'us-east-2',
    ]);
    expect(claimSet(['us-east-1', 'us-east-2'], ['us-west-2'])).toEqual(['us-east-1']);
  });

  it('counts a region listed twice once when the list has duplicates', () => {
    expect(claimSet(['b-region-1', 'a-region-1', 'b-region-1', 'c-region-1'], [])).toEqual([
      'a-region-1',
      'b-region-1',
      'c-region-1',
    ]);
  });

  it('is empty when every region is excluded', () => {
    expect(claimSet(['us-east-1'], ['us-east-1'])).toEqual([]);
    expect(claimSet([], [])).toEqual([]);
  });

  it('is the largest odd, sorted, duplicate-free subset of the eligible regions when given any regions in any order', () => {
    const region: fc.Arbitrary<string> = fc.constantFrom(
      'a-x-1',
      'b-x-1',
      'c-x-1',
      'd-x-1',
      'e-x-1',
      'f-x-1',
    );
    fc.assert(
      fc.property(
        fc.array(region, { maxLength: 10 }),
        fc.array(region, { maxLength: 3 }),
        (regions, excluded) => {
          const set = claimSet(regions, excluded);
          const eligible = [...new Set(regions)].filter((r) => !excluded.includes(r));
          expect(set).toEqual([...set].sort());
          expect(new Set(set).size).toBe(set.length);
          expect(set.every((r) => eligible.includes(r))).toBe(true);
          expect(set.length).toBe(
            eligible.length % 2 === 1 ? eligible.length : Math.max(eligible.length - 1, 0),
          );
          // Every claimant must compute the same set whatever order it lists regions in.
          expect(claimSet([...regions].reverse(), excluded)).toEqual(set);
        },
      ),
      { numRuns: 300, seed: 20261125 },
    );
  });
});

describe('majorityOf', () => {
  it('needs more than half of the set when the set has 1, 3 or 5 regions', () => {
    expect([1, 3, 5].map((n) => majorityOf(Array.from({ length: n }, (_, i) => `r${i}`)))).toEqual([
      1, 2, 3,
    ]);
  });
});

describe('claim', () => {
  it('wins every bucket when it is the only claimant', async () => {
    const { storeOf, bucket } = buckets();
    const result = await claim(recordOf('detector-a'), storeOf);
    expect(result).toMatchObject({
      outcome: 'won',
      record: { claimant: 'detector-a' },
      holders: { 'eu-west-1': 'detector-a', 'us-east-2': 'detector-a', 'us-west-2': 'detector-a' },
    });
    for (const region of SET3)
      expect(bucket(region).peek(KEY)).toMatchObject({ claimant: 'detector-a' });
  });

  it('is won again with the stored record when the same claimant retries', async () => {
    const { storeOf, bucket } = buckets();
    await claim(recordOf('detector-a'), storeOf);
    const writes = SET3.map((r) => bucket(r).writeCount);

    const retry = await claim(
      { ...recordOf('detector-a'), claimedAt: '2026-11-25T07:00:00.000Z' },
      storeOf,
    );

    expect(retry.outcome).toBe('won');
    if (retry.outcome !== 'won') return;
    expect(retry.record.claimedAt).toBe('2026-11-25T06:00:00.000Z');
    expect(SET3.map((r) => bucket(r).writeCount)).toEqual(writes);
  });

  it('loses to the holder of a majority when another claimant comes later', async () => {
    const { storeOf } = buckets();
    await claim(recordOf('detector-a'), storeOf);
    const late = await claim(recordOf('detector-b'), storeOf);
    expect(late).toMatchObject({
      outcome: 'lost',
      winner: { claimant: 'detector-a', payload: { by: 'detector-a' } },
      holders: { 'eu-west-1': 'detector-a', 'us-east-2': 'detector-a', 'us-west-2': 'detector-a' },
    });
  });

  it('still wins with a majority when one bucket of three is unreachable', async () => {
    const { storeOf, unreachable } = buckets();
    unreachable.add('us-west-2');
    const result = await claim(recordOf('detector-a'), storeOf);
    expect(result.outcome).toBe('won');
    expect(result.holders['us-west-2']).toBe('unreachable');
  });

  it('is undecided when too few buckets are reachable for a majority', async () => {
    const { storeOf, unreachable, bucket } = buckets();
    unreachable.add('us-west-2');
    unreachable.add('us-east-2');
    const result = await claim(recordOf('detector-a'), storeOf);
    expect(result).toEqual({
      outcome: 'undecided',
      holders: {
        'eu-west-1': 'detector-a',
        'us-east-2': 'unreachable',
        'us-west-2': 'unreachable',
      },
    });
    // The one bucket it reached keeps its vote for the retry.
    expect(bucket('eu-west-1').peek(KEY)).toMatchObject({ claimant: 'detector-a' });
  });

  it('wins on retry when the buckets it could not reach answer again', async () => {
    const { storeOf, unreachable } = buckets();
    unreachable.add('us-west-2');
    unreachable.add('us-east-2');
    expect((await claim(recordOf('detector-a'), storeOf)).outcome).toBe('undecided');
    unreachable.clear();
    expect((await claim(recordOf('detector-a'), storeOf)).outcome).toBe('won');
    expect((await claim(recordOf('detector-b'), storeOf)).outcome).toBe('lost');
  });

  it('is undecided for both when two claimants split the reachable buckets', async () => {
    const { storeOf, unreachable, bucket } = buckets();
    bucket('eu-west-1').seed(KEY, recordOf('detector-a'));
    bucket('us-east-2').seed(KEY, recordOf('detector-b'));
    unreachable.add('us-west-2');
    const a = await claim(recordOf('detector-a'), storeOf);
    const b = await claim(recordOf('detector-b'), storeOf);
    expect([a.outcome, b.outcome]).toEqual(['undecided', 'undecided']);
    unreachable.clear();
    expect((await claim(recordOf('detector-b'), storeOf)).outcome).toBe('won');
    expect((await claim(recordOf('detector-a'), storeOf)).outcome).toBe('lost');
  });

  it('counts a bucket whose record is not a claim as unreadable when it cannot take it', async () => {
    const { storeOf, bucket } = buckets();
    bucket('us-west-2').seed(KEY, { garbage: true });
    const result = await claim(recordOf('detector-a'), storeOf);
    expect(result.outcome).toBe('won');
    expect(result.holders['us-west-2']).toBe('unreadable');
  });

  it('counts a bucket as unreachable when its save conflicts and the read-back fails', async () => {
    const { stores, storeOf } = buckets();
    const flaky = stores.get('us-west-2') as InMemoryDocumentStore;
    flaky.seed(KEY, recordOf('detector-z'));
    flaky.hook = ({ op }) => {
      if (op === 'load') throw new StorageUnavailableError('read-back timed out');
    };
    const result = await claim(recordOf('detector-a'), storeOf);
    expect(result.holders['us-west-2']).toBe('unreachable');
    expect(result.outcome).toBe('won');
  });

  it('is undecided when the claim set is empty', async () => {
    const result = await claim(recordOf('detector-a', []), () => {
      throw new Error('test: no bucket should be asked');
    });
    expect(result).toEqual({ outcome: 'undecided', holders: {} });
  });

  it('gives exactly one winner when two claimants race with every bucket reachable, in any order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        fc.boolean(),
        async (aFirst, fiveBuckets) => {
          const set = fiveBuckets
            ? ['r-a-1', 'r-b-1', 'r-c-1', 'r-d-1', 'r-e-1']
            : ['r-a-1', 'r-b-1', 'r-c-1'];
          const { stores } = buckets(set);
          set.forEach((region, i) => {
            orderSaves(
              stores.get(region) as InMemoryDocumentStore,
              aFirst[i] ? ['a', 'b'] : ['b', 'a'],
            );
          });
          const outcomes = await Promise.all(
            ['a', 'b'].map((c) =>
              claim(recordOf(c, set), (r) => (stores.get(r) as InMemoryDocumentStore).as(c)),
            ),
          );
          const aBuckets = set.filter((_, i) => aFirst[i]).length;
          const expected = aBuckets >= majorityOf(set) ? 'a' : 'b';
          expect(winners(outcomes).map((o) => o.outcome === 'won' && o.record.claimant)).toEqual([
            expected,
          ]);
          const loser = outcomes.find((o) => o.outcome !== 'won');
          expect(loser).toMatchObject({ outcome: 'lost', winner: { claimant: expected } });
        },
      ),
      { numRuns: 64, seed: 11 },
    );
  });

  it('never gives two winners and all claimants agree when N claimants reach the buckets in any order with any of them unreachable', async () => {
    const scenario = fc
      .record({ claimants: fc.integer({ min: 2, max: 5 }), size: fc.constantFrom(3, 5) })
      .chain(({ claimants, size }) => {
        const names = Array.from({ length: claimants }, (_, i) => `c${i}`);
        return fc.record({
          names: fc.constant(names),
          orders: fc.array(
            fc.shuffledSubarray(names, { minLength: claimants, maxLength: claimants }),
            {
              minLength: size,
              maxLength: size,
            },
          ),
          reachable: fc.array(fc.boolean(), { minLength: size, maxLength: size }),
        });
      });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ names, orders, reachable }) => {
        const set = orders.map((_, i) => `r-${String.fromCharCode(97 + i)}-1`);
        const { stores, unreachable } = buckets(set);
        set.forEach((region, i) => {
          orderSaves(stores.get(region) as InMemoryDocumentStore, orders[i] as string[]);
          if (!reachable[i]) unreachable.add(region);
        });
        const outcomes = await Promise.all(
          names.map((c) =>
            claim(recordOf(c, set), (r) =>
              unreachable.has(r) ? down : (stores.get(r) as InMemoryDocumentStore).as(c),
            ),
          ),
        );
        // The model: each reachable bucket belongs to the first claimant in its order.
        const holders = Object.fromEntries(
          set.map((r, i) => [r, reachable[i] ? (orders[i]?.[0] as string) : 'unreachable']),
        );
        const votes = (c: string) => Object.values(holders).filter((h) => h === c).length;
        // With every bucket known and no majority, the vote is final: the smallest holder wins.
        const allKnown = Object.values(holders).every((h) => h !== 'unreachable');
        const majority =
          names.find((c) => votes(c) >= majorityOf(set)) ??
          (allKnown ? [...new Set(Object.values(holders))].sort()[0] : undefined);

        expect(winners(outcomes).length).toBeLessThanOrEqual(1);
        for (const [i, outcome] of outcomes.entries()) {
          expect(outcome.holders).toEqual(holders);
          const me = names[i] as string;
          if (majority === undefined) expect(outcome.outcome).toBe('undecided');
          else if (majority === me) expect(outcome.outcome).toBe('won');
          else expect(outcome).toMatchObject({ outcome: 'lost', winner: { claimant: majority } });
        }
        if (reachable.every(Boolean)) expect(winners(outcomes)).toHaveLength(1);
      }),
      { numRuns: 300, seed: 12 },
    );
  });

  // BUG (liveness): three detectors that each reach a different bucket first split the vote
  // 1-1-1. Claims are never released, so every retry of every detector stays 'undecided' and the
  // instance is never recovered. DESIGN.md: exactly one recovery per instance per incident.
  it('decides one winner at once when three concurrent claimants each took one bucket first', async () => {
    const { stores, storeOf } = buckets();
    const names = ['detector-a', 'detector-b', 'detector-c'];
    SET3.forEach((region, i) => {
      orderSaves(stores.get(region) as InMemoryDocumentStore, [
        ...names.slice(i),
        ...names.slice(0, i),
      ]);
    });
    const first = await Promise.all(
      names.map((c) => claim(recordOf(c), (r) => (stores.get(r) as InMemoryDocumentStore).as(c))),
    );
    expect(winners(first)).toHaveLength(1);
    expect(first.map((o) => o.outcome).sort()).toEqual(['lost', 'lost', 'won']);

    const retries = [];
    for (const c of names) retries.push(await claim(recordOf(c), storeOf));

    expect(winners(retries)).toEqual(winners(first));
  });
});

describe('readClaim', () => {
  it('returns the record a majority of its set holds when every bucket agrees', async () => {
    const { storeOf } = buckets(['us-east-1', ...SET3]);
    await claim(recordOf('detector-a'), storeOf);
    const found = await readClaim(KEY, ['us-east-1', ...SET3], storeOf);
    expect(found).toMatchObject({ claimant: 'detector-a', claimSet: SET3 });
  });

  it('returns nothing when only a minority of the set holds a record', async () => {
    const { bucket, storeOf } = buckets();
    bucket('eu-west-1').seed(KEY, recordOf('detector-a'));
    expect(await readClaim(KEY, SET3, storeOf)).toBeUndefined();
  });

  it('returns nothing when the buckets are split between claimants', async () => {
    const { bucket, storeOf } = buckets(['us-east-1', ...SET3]);
    bucket('eu-west-1').seed(KEY, recordOf('detector-a'));
    bucket('us-east-2').seed(KEY, recordOf('detector-b'));
    bucket('us-west-2').seed(KEY, { garbage: true });
    expect(await readClaim(KEY, ['us-east-1', ...SET3], storeOf)).toBeUndefined();
  });

  it('still finds the majority record when one bucket of the set is unreachable', async () => {
    const { bucket, storeOf, unreachable } = buckets();
    bucket('eu-west-1').seed(KEY, recordOf('detector-a'));
    bucket('us-east-2').seed(KEY, recordOf('detector-a'));
    unreachable.add('us-west-2');
    expect(await readClaim(KEY, SET3, storeOf)).toMatchObject({ claimant: 'detector-a' });
    unreachable.add('us-east-2');
    expect(await readClaim(KEY, SET3, storeOf)).toBeUndefined();
  });

  it('returns nothing when no bucket holds the key', async () => {
    const { storeOf } = buckets();
    expect(await readClaim(KEY, SET3, storeOf)).toBeUndefined();
  });
});

describe('claim when buckets do not answer at first', () => {
  /** A bucket that fails its first `failures` calls, then behaves. */
  function flaky(store: DocumentStore, failures: number): DocumentStore {
    let left = failures;
    const gate = () => {
      if (left-- > 0) throw new StorageUnavailableError('flaky');
    };
    return {
      location: store.location,
      load: async (key) => {
        gate();
        return store.load(key);
      },
      save: async (key, value, version) => {
        gate();
        return store.save(key, value, version);
      },
      list: async (prefix) => {
        gate();
        return store.list(prefix);
      },
    };
  }

  it('retries an undecided claim in place and wins a one-bucket set (sim seed 2036451)', async () => {
    const { storeOf } = buckets(['us-east-2']);
    const bucket = flaky(storeOf('us-east-2'), 2);
    const waits: number[] = [];
    const outcome = await claim(
      recordOf('ev-1', ['us-east-2']),
      () => bucket,
      async (ms) => {
        waits.push(ms);
      },
    );
    expect(outcome.outcome).toBe('won');
    expect(waits).toHaveLength(2);
  });

  it('stays undecided once its tries are spent, and does not retry a decided claim', async () => {
    const { storeOf } = buckets();
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
    };
    expect((await claim(recordOf('ev-1', ['us-east-2']), () => down, sleep)).outcome).toBe(
      'undecided',
    );
    const spent = waits.length;
    expect(spent).toBeGreaterThan(0);
    // eu-west-1 down, the other two answer: a majority is decided without waiting.
    const stores = (r: string) => (r === 'eu-west-1' ? down : storeOf(r));
    expect((await claim(recordOf('ev-2'), stores, sleep)).outcome).toBe('won');
    expect(waits).toHaveLength(spent);
  });
});
