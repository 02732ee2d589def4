import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  preferredSlot,
  type Reservation,
  releaseSlots,
  reservedSlots,
  reserveSlots,
  type SlotRecord,
} from '../../../../../shared/domain/recovery/capacity.ts';
import { StorageUnavailableError } from '../../../../../shared/errors.ts';
import { ControlBucket } from '../../../../fakes/recovery/control-bucket.ts';

const REGION = 'us-east-2';
const AT = '2026-11-25T06:05:00.000Z';
const slotKey = (slot: number) => `capacity/${REGION}/slot-${String(slot).padStart(4, '0')}.json`;

function reserve(
  bucket: ControlBucket,
  options: {
    runId: string;
    units: number;
    capacity?: number;
    firstFreeSlot?: number;
    holder?: string;
    startSlot?: number;
  },
): Promise<Reservation> {
  return reserveSlots({
    store: bucket,
    region: REGION,
    capacity: options.capacity ?? 4,
    firstFreeSlot: options.firstFreeSlot ?? 0,
    units: options.units,
    runId: options.runId,
    instanceId: `instance-of-${options.runId}`,
    at: AT,
    holder: options.holder ?? `call-of-${options.runId}`,
    ...(options.startSlot !== undefined ? { startSlot: options.startSlot } : {}),
  });
}

/** Slot number → run id, as the bucket holds them now. */
async function holders(bucket: ControlBucket, capacity: number): Promise<Map<number, string>> {
  return new Map((await reservedSlots(bucket, REGION, capacity)).map((s) => [s.slot, s.runId]));
}

describe('reserveSlots', () => {
  it('takes the first free slots above the home slots when the region has room', async () => {
    const bucket = new ControlBucket(REGION);
    const result = await reserve(bucket, {
      runId: 'petstore-g1',
      units: 2,
      capacity: 5,
      firstFreeSlot: 2,
    });
    expect(result).toEqual({ ok: true, region: REGION, slots: [2, 3] });
    expect(bucket.peek(slotKey(2))).toEqual({
      region: REGION,
      slot: 2,
      runId: 'petstore-g1',
      instanceId: 'instance-of-petstore-g1',
      reservedAt: AT,
      holder: 'call-of-petstore-g1',
    } satisfies SlotRecord);
    expect(bucket.peek(slotKey(0))).toBeUndefined();
    expect(bucket.peek(slotKey(4))).toBeUndefined();
  });

  it('starts at its start slot and wraps round past the last slot when it is given one', async () => {
    const bucket = new ControlBucket(REGION);
    const result = await reserve(bucket, {
      runId: 'petstore-g1',
      units: 2,
      capacity: 5,
      firstFreeSlot: 1,
      startSlot: 4,
    });
    expect(result).toEqual({ ok: true, region: REGION, slots: [4, 1] });
    expect(await holders(bucket, 5)).toEqual(
      new Map([
        [1, 'petstore-g1'],
        [4, 'petstore-g1'],
      ]),
    );
  });

  it('counts the slots the run already holds before any free one when a retry starts elsewhere', async () => {
    const bucket = new ControlBucket(REGION);
    await reserve(bucket, { runId: 'petstore-g1', units: 1, capacity: 5, startSlot: 3 });
    const again = await reserve(bucket, {
      runId: 'petstore-g1',
      units: 1,
      capacity: 5,
      holder: 'retry',
    });
    expect(again).toEqual({ ok: true, region: REGION, slots: [3] });
    expect(await holders(bucket, 5)).toEqual(new Map([[3, 'petstore-g1']]));
  });

  it('skips slots other runs hold when some are taken', async () => {
    const bucket = new ControlBucket(REGION);
    await reserve(bucket, { runId: 'orders-g1', units: 1 });
    const result = await reserve(bucket, { runId: 'petstore-g1', units: 2 });
    expect(result).toEqual({ ok: true, region: REGION, slots: [1, 2] });
  });

  it('returns the slots it already holds, taking no other slot, when the same run retries', async () => {
    const bucket = new ControlBucket(REGION);
    const first = await reserve(bucket, { runId: 'petstore-g1', units: 2, firstFreeSlot: 1 });
    const writes = bucket.inner.writeCount;
    const again = await reserve(bucket, {
      runId: 'petstore-g1',
      units: 2,
      firstFreeSlot: 1,
      holder: 'retry',
    });
    expect(again).toEqual(first);
    expect(await holders(bucket, 4)).toEqual(
      new Map([
        [1, 'petstore-g1'],
        [2, 'petstore-g1'],
      ]),
    );
    // One rewrite per slot it counts, naming the retry as the slot's holder (see below).
    expect(bucket.inner.writeCount).toBe(writes + 2);
    expect((bucket.peek(slotKey(1)) as SlotRecord).holder).toBe('retry');
  });

  it('completes a half-made reservation when the same run retries after a crash', async () => {
    const bucket = new ControlBucket(REGION);
    // The first attempt wrote slot 0, then died before it could write slot 1.
    bucket.inner.crashAfterNextSaves = 1;
    await expect(reserve(bucket, { runId: 'petstore-g1', units: 2 })).rejects.toThrow(
      /simulated crash/,
    );
    expect(await holders(bucket, 4)).toEqual(new Map([[0, 'petstore-g1']]));

    const retry = await reserve(bucket, { runId: 'petstore-g1', units: 2 });
    expect(retry).toEqual({ ok: true, region: REGION, slots: [0, 1] });
  });

  it('gives back what it took and reports the shortfall when fewer slots are free than it needs', async () => {
    const bucket = new ControlBucket(REGION);
    await reserve(bucket, { runId: 'orders-g1', units: 1, firstFreeSlot: 1 });
    const result = await reserve(bucket, { runId: 'petstore-g1', units: 3, firstFreeSlot: 1 });
    expect(result).toEqual({ ok: false, region: REGION, free: 2, needed: 3 });
    expect(await holders(bucket, 4)).toEqual(new Map([[1, 'orders-g1']]));
    // Given back by a conditional write, not a delete: free for the next run.
    expect(bucket.peek(slotKey(2))).toEqual({ region: REGION, slot: 2, freedAt: AT });
    const next = await reserve(bucket, { runId: 'payments-g1', units: 2, firstFreeSlot: 1 });
    expect(next).toEqual({ ok: true, region: REGION, slots: [2, 3] });
  });

  it('fails without writing when every slot belongs to the home instances', async () => {
    const bucket = new ControlBucket(REGION);
    const result = await reserve(bucket, {
      runId: 'petstore-g1',
      units: 1,
      capacity: 2,
      firstFreeSlot: 2,
    });
    expect(result).toEqual({ ok: false, region: REGION, free: 0, needed: 1 });
    expect(bucket.inner.writeCount).toBe(0);
  });

  it('moves on to the next free slot when another run takes one between its read and its write', async () => {
    const bucket = new ControlBucket(REGION);
    let stolen = false;
    bucket.inner.hook = async ({ op, key }) => {
      if (op === 'save' && key === slotKey(0) && !stolen) {
        stolen = true;
        bucket.inner.seed(slotKey(0), {
          region: REGION,
          slot: 0,
          runId: 'rival-g1',
          instanceId: 'rival',
          reservedAt: AT,
        });
      }
    };
    const result = await reserve(bucket, { runId: 'petstore-g1', units: 1 });
    expect(result).toEqual({ ok: true, region: REGION, slots: [1] });
    expect(await holders(bucket, 4)).toEqual(
      new Map([
        [0, 'rival-g1'],
        [1, 'petstore-g1'],
      ]),
    );
  });

  // Bug 12 of docs/simulation.md (seed 1004091): two invocations of petstore-g1 planned at once.
  // The second saw slot 0 held by its run, lost slot 1 to the first, fell short, and gave slot
  // 0 back: billing-g1 then took it while petstore-g1's reservation still named it.
  it('counts a slot that another invocation of the same run took between its read and its write', async () => {
    const bucket = new ControlBucket(REGION);
    await reserve(bucket, { runId: 'petstore-g1', units: 1, holder: 'first' });
    let raced = false;
    bucket.inner.hook = async ({ op, key }) => {
      if (op === 'save' && key === slotKey(1) && !raced) {
        raced = true;
        bucket.inner.seed(slotKey(1), {
          region: REGION,
          slot: 1,
          runId: 'petstore-g1',
          instanceId: 'instance-of-petstore-g1',
          reservedAt: AT,
          holder: 'first',
        });
      }
    };
    const result = await reserve(bucket, {
      runId: 'petstore-g1',
      units: 2,
      capacity: 2,
      holder: 'second',
    });
    expect(result).toEqual({ ok: true, region: REGION, slots: [0, 1] });
    expect(await holders(bucket, 2)).toEqual(
      new Map([
        [0, 'petstore-g1'],
        [1, 'petstore-g1'],
      ]),
    );
  });

  it('keeps a slot it wrote when another invocation of its run counted it before it fell short', async () => {
    const bucket = new ControlBucket(REGION);
    // Slots 1 and 2 belong to rivals. The first call writes slot 0 and falls short. Before its
    // give-back, orders-g1 releases slot 2 and a second call of the same run counts slot 0
    // and takes slot 2: it succeeds with [0, 2].
    await reserve(bucket, { runId: 'rival-g1', units: 1, firstFreeSlot: 1 });
    await reserve(bucket, { runId: 'orders-g1', units: 1, firstFreeSlot: 2 });
    let savesOfSlot0 = 0;
    let second: Reservation | undefined;
    bucket.inner.hook = async ({ op, key }) => {
      if (op !== 'save' || key !== slotKey(0) || ++savesOfSlot0 !== 2) return;
      await bucket.delete(slotKey(2));
      second = await reserve(bucket, {
        runId: 'petstore-g1',
        units: 2,
        capacity: 3,
        holder: 'second',
      });
    };
    const first = await reserve(bucket, {
      runId: 'petstore-g1',
      units: 2,
      capacity: 3,
      holder: 'first',
    });
    expect(first).toEqual({ ok: false, region: REGION, free: 1, needed: 2 });
    expect(second).toEqual({ ok: true, region: REGION, slots: [0, 2] });
    // The first call's give-back of slot 0 lost to the second call's count: slot 0 stays.
    expect(await holders(bucket, 3)).toEqual(
      new Map([
        [0, 'petstore-g1'],
        [1, 'rival-g1'],
        [2, 'petstore-g1'],
      ]),
    );
  });

  it('fails loudly when the control bucket does not answer', async () => {
    const bucket = new ControlBucket(REGION);
    bucket.unreachable = true;
    await expect(reserve(bucket, { runId: 'petstore-g1', units: 1 })).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );
  });

  it('never books a slot twice and never holds a partial reservation when runs race in any interleaving', async () => {
    const race = fc.record({
      capacity: fc.integer({ min: 1, max: 7 }),
      firstFree: fc.integer({ min: 0, max: 3 }),
      units: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 5 }),
    });
    let conflicts = 0;
    let refusals = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), race, async (s, { capacity, firstFree, units }) => {
        const bucket = new ControlBucket(REGION);
        bucket.inner.hook = ({ client, op, key }) =>
          s.schedule(Promise.resolve(), `${client} ${op} ${key}`);
        const runs = units.map((u, i) =>
          reserveSlots({
            store: bucket.as(`run-${i}`),
            region: REGION,
            capacity,
            firstFreeSlot: firstFree,
            units: u,
            runId: `run-${i}`,
            instanceId: `instance-${i}`,
            at: AT,
          }),
        );
        const results = await s.waitFor(Promise.all(runs));
        bucket.inner.hook = undefined;
        conflicts += bucket.inner.calls.filter((c) => c.outcome === 'conflict').length;
        refusals += results.filter((r) => !r.ok).length;

        const held = await holders(bucket, capacity);
        const supply = Math.max(0, capacity - firstFree);
        expect(held.size).toBeLessThanOrEqual(supply);
        for (const slot of held.keys()) expect(slot).toBeGreaterThanOrEqual(firstFree);
        const granted: number[] = [];
        for (const [i, result] of results.entries()) {
          const mine = [...held].filter(([, run]) => run === `run-${i}`).map(([slot]) => slot);
          if (result.ok) {
            expect(result.slots).toHaveLength(units[i] as number);
            expect(mine.sort()).toEqual([...result.slots].sort());
            granted.push(...result.slots);
          } else {
            expect(mine).toEqual([]);
          }
        }
        expect(new Set(granted).size).toBe(granted.length);
        expect(granted.length).toBe(held.size);
        // When everyone fits, nobody is turned away.
        if (units.reduce((a, b) => a + b, 0) <= supply)
          expect(results.every((r) => r.ok)).toBe(true);
      }),
      { numRuns: 300, seed: 13 },
    );
    // The interleavings really made runs collide and turned some away.
    expect(conflicts).toBeGreaterThan(0);
    expect(refusals).toBeGreaterThan(0);
  });
});

describe('reserveSlots with two invocations of one run', () => {
  it('never frees a slot that a successful invocation counts on, in any interleaving', async () => {
    const race = fc.record({
      capacity: fc.integer({ min: 1, max: 6 }),
      units: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      twice: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    });
    let shared = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), race, async (s, { capacity, units, twice }) => {
        const bucket = new ControlBucket(REGION);
        bucket.inner.hook = ({ client, op, key }) =>
          s.schedule(Promise.resolve(), `${client} ${op} ${key}`);
        // Each run is reserved by one invocation, or by two at once (a duplicate delivery).
        const calls = units.flatMap((u, i) =>
          Array.from({ length: twice[i] ? 2 : 1 }, (_, copy) => ({ run: i, u, copy })),
        );
        const results = await s.waitFor(
          Promise.all(
            calls.map(({ run, u, copy }) =>
              reserveSlots({
                store: bucket.as(`run-${run}.${copy}`),
                region: REGION,
                capacity,
                firstFreeSlot: 0,
                units: u,
                runId: `run-${run}`,
                instanceId: `instance-${run}`,
                at: AT,
              }),
            ),
          ),
        );
        bucket.inner.hook = undefined;
        const held = await holders(bucket, capacity);
        for (const [n, result] of results.entries()) {
          const run = `run-${(calls[n] as { run: number }).run}`;
          if (!result.ok) continue;
          expect(result.slots).toHaveLength((calls[n] as { u: number }).u);
          // Every slot a successful invocation reports is still its run's.
          for (const slot of result.slots) expect(held.get(slot), `slot ${slot}`).toBe(run);
          if (results.some((r, m) => m !== n && r.ok && calls[m]?.run === calls[n]?.run))
            shared += 1;
        }
        // A run reserved by one invocation that fell short holds nothing.
        for (const [i] of units.entries()) {
          const failed = results.find((r, n) => calls[n]?.run === i && !r.ok);
          if (!twice[i] && failed)
            expect([...held.values()].filter((r) => r === `run-${i}`)).toEqual([]);
        }
      }),
      { numRuns: 300, seed: 29 },
    );
    // Both invocations of a run really succeeded together in some interleavings.
    expect(shared).toBeGreaterThan(0);
  });
});

describe('releaseSlots', () => {
  it('frees exactly the given slots when a run gives them back', async () => {
    const bucket = new ControlBucket(REGION);
    await reserve(bucket, { runId: 'orders-g1', units: 1 });
    const mine = await reserve(bucket, { runId: 'petstore-g1', units: 2 });
    if (!mine.ok) throw new Error('test: reservation failed');

    await releaseSlots({ region: REGION, slots: mine.slots, release: (key) => bucket.delete(key) });

    expect(await holders(bucket, 4)).toEqual(new Map([[0, 'orders-g1']]));
    const again = await reserve(bucket, { runId: 'payments-g1', units: 3 });
    expect(again).toEqual({ ok: true, region: REGION, slots: [1, 2, 3] });
  });

  it('does nothing when the run holds no slots', async () => {
    const released: string[] = [];
    await releaseSlots({
      region: REGION,
      slots: [],
      release: async (key) => void released.push(key),
    });
    expect(released).toEqual([]);
  });
});

describe('reservedSlots', () => {
  it('lists every held slot of the region in slot order when several runs hold some', async () => {
    const bucket = new ControlBucket(REGION);
    await reserve(bucket, { runId: 'orders-g1', units: 1, firstFreeSlot: 2 });
    await reserve(bucket, { runId: 'petstore-g1', units: 1, firstFreeSlot: 2 });
    const slots = await reservedSlots(bucket, REGION, 4);
    expect(slots.map((s) => [s.slot, s.runId])).toEqual([
      [2, 'orders-g1'],
      [3, 'petstore-g1'],
    ]);
  });

  it('reads the region with one listing and a load per taken slot, never a load per free slot', async () => {
    const bucket = new ControlBucket(REGION);
    await reserve(bucket, { runId: 'orders-g1', units: 2, capacity: 100 });
    const before = bucket.inner.calls.length;
    const slots = await reservedSlots(bucket, REGION, 100);
    const calls = bucket.inner.calls.slice(before);
    expect(slots).toHaveLength(2);
    expect(calls.filter((c) => c.op === 'list')).toEqual([
      expect.objectContaining({ key: `capacity/${REGION}/` }),
    ]);
    expect(calls.filter((c) => c.op === 'load').map((c) => c.key)).toEqual([
      slotKey(0),
      slotKey(1),
    ]);
  });

  it('ignores slots released between its listing and its reads and slots beyond the capacity', async () => {
    const bucket = new ControlBucket(REGION);
    await reserve(bucket, { runId: 'orders-g1', units: 3, capacity: 8 });
    bucket.inner.seed(`capacity/${REGION}/notes.txt`, 'not a slot');
    bucket.inner.hook = async ({ op, key }) => {
      if (op === 'load' && key === slotKey(1)) await bucket.delete(slotKey(1));
    };
    const slots = await reservedSlots(bucket, REGION, 2);
    expect(slots.map((s) => s.slot)).toEqual([0]);
  });
});

describe('preferredSlot', () => {
  const instances = [
    { id: 'petstore', homeRegion: 'us-east-1', capacityUnits: 1 },
    { id: 'orders', homeRegion: REGION, capacityUnits: 3 },
    { id: 'bigstore', homeRegion: 'us-east-1', capacityUnits: 2 },
    { id: 'carts', homeRegion: 'us-west-2', capacityUnits: 1 },
  ];

  it('starts each instance after the units of those listed before it that are homed elsewhere', () => {
    expect(instances.map((i) => preferredSlot(instances, i.id, REGION, 3))).toEqual([3, 4, 4, 6]);
  });
});
