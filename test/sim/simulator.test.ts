import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../shared/random.ts';
import { parseSimulateArgs, SimulateUsageError } from '../../sim/main.ts';
import { runSeed } from '../../sim/run-seed.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { Scheduler } from '../../sim/scheduler.ts';

const digestOf = (value: unknown) =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex');

const MIN = 60_000;

/**
 * Seed 4 draws a us-west-2 outage of petstore, homed there (three regions). Pinned: the outage
 * lasts nine minutes (past the RTO bound), then the region returns and petstore fails back; no
 * AWS faults are injected. Every invariant has something to check on this path.
 */
const SEED = 4;
const outageAndReturn = (s: Scenario): Scenario => ({
  ...s,
  kind: 'region-outage',
  faults: [
    { at: MIN, kind: 'region-down', region: s.subject, cause: 'outage' },
    { at: 10 * MIN, kind: 'region-up', region: s.subject },
  ],
  rates: { s3Error: 0, s3Timeout: 0, dnsError: 0, busError: 0, crash: 0 },
  duplicate: 0.2,
  writes: { from: 3 * MIN, until: 15 * MIN, every: 10_000, instanceId: 'petstore' },
  endAt: 16 * MIN,
});

describe('Scheduler', () => {
  it('wakes sleepers in time order, ties in the order they were scheduled', async () => {
    const sched = new Scheduler(0);
    const order: string[] = [];
    void sched.sleep(30).then(() => order.push('c'));
    void sched.sleep(10).then(() => order.push('a'));
    void sched.sleep(10).then(() => order.push('b'));
    await sched.runUntil(100, () => undefined);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(sched.now).toBe(100);
  });
});

describe('Rng', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, () => new Rng(seed).next());
    const a = new Rng(7);
    const b = new Rng(7);
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(
      Array.from({ length: 5 }, () => b.next()),
    );
    expect(draw(7)).not.toEqual(draw(8));
  });
});

describe('runSeed', () => {
  it('replays a seed exactly: same seed, same trace', async () => {
    const first = await runSeed(31, { keepTrace: true });
    const again = await runSeed(31, { keepTrace: true });
    expect(first.trace.length).toBeGreaterThan(10);
    expect(digestOf(again.trace)).toBe(digestOf(first.trace));
    const other = await runSeed(32, { keepTrace: true });
    expect(digestOf(other.trace)).not.toBe(digestOf(first.trace));
  });

  it('recovers and fails back cleanly when nothing else goes wrong', async () => {
    const result = await runSeed(SEED, { keepTrace: true, scenario: outageAndReturn });
    expect(result.scenario).toContain('region-outage of us-west-2');
    expect(result.violations).toEqual([]);
    // The runs really did restore, fail back and take writes: the checkers had work to do.
    const completed = result.trace.filter((e) => e.kind === 'run' && e.status === 'completed');
    expect(new Set(completed.map((e) => (e.kind === 'run' ? e.runKind : '')))).toEqual(
      new Set(['recovery', 'failback']),
    );
    expect(result.trace.filter((e) => e.kind === 'restored')).toHaveLength(2);
    expect(result.trace.some((e) => e.kind === 'write' && e.accepted)).toBe(true);
  });

  it("runs each instance's scheduled restore test into its scratch prefix and passes without faults", async () => {
    const result = await runSeed(SEED, { keepTrace: true, scenario: outageAndReturn });
    const tests = result.trace.filter((e) => e.kind === 'restore-test');
    // Once 30 s in and once in the drain, for every instance (all have snapshot.restoreTest).
    expect(tests.length).toBe(2 * new Set(tests.map((e) => e.instanceId)).size);
    expect(tests.length).toBeGreaterThan(0);
    for (const e of tests) {
      if (e.kind !== 'restore-test') continue;
      expect(e, e.instanceId).toMatchObject({ passed: true, scratchLeft: 0 });
      expect(e.touched).toEqual([e.scratchId]);
    }
    expect(result.violations).toEqual([]);
  });

  it('checks every committed snapshot at the end and catches a bucket that drops pack writes', async () => {
    const clean = await runSeed(SEED, { keepTrace: true, scenario: outageAndReturn });
    const end = clean.trace.find((e) => e.kind === 'end');
    const snapshots = end?.kind === 'end' ? (end.snapshots ?? []) : [];
    expect(snapshots.length).toBeGreaterThan(0);
    expect(snapshots.filter((s) => s.problem)).toEqual([]);

    const broken = await runSeed(SEED, {
      scenario: outageAndReturn,
      mutate: (world) => {
        const put = world.vaultPut.bind(world);
        // us-east-2 acknowledges every pack and stores none.
        world.vaultPut = (region, key, body, options) =>
          region === 'us-east-2' && key.endsWith('.pack')
            ? undefined
            : put(region, key, body, options);
      },
    });
    expect(broken.violations.map((v) => v.invariant)).toContain('committed-snapshot-whole');
  });

  it('catches a Route 53 that acknowledges weight changes without applying them', async () => {
    const result = await runSeed(SEED, {
      keepTrace: true,
      scenario: outageAndReturn,
      mutate: (world) => {
        const records = world.dns.records;
        const created = new Set(records.keys());
        records.set = function set(key, value) {
          return created.has(key) ? this : Map.prototype.set.call(this, key, value);
        };
      },
    });
    // Traffic still leaves the failed region (the records' readiness checks move it to the
    // restored region), so the weights are what is wrong: the shift reads them back, and the
    // recovery never reports itself completed.
    const runs = result.trace.filter((e) => e.kind === 'run' && e.runKind === 'recovery');
    expect(runs.some((e) => e.kind === 'run' && e.status === 'completed')).toBe(false);
    expect(
      runs.some(
        (e) => e.kind === 'run' && e.status === 'failed' && /DNS reads back/.test(e.reason ?? ''),
      ),
    ).toBe(true);
  });

  it('catches an instance runtime that reports itself fenced but still takes writes', async () => {
    const result = await runSeed(SEED, {
      scenario: outageAndReturn,
      mutate: (world) => {
        world.fenceHonoured = false;
      },
    });
    expect(result.violations.map((v) => v.invariant)).toContain('failback-keeps-writes');
  });
});

describe('parseSimulateArgs', () => {
  it('reads --seeds and --from', () => {
    expect(parseSimulateArgs(['--seeds', '10', '--from', '5', '--workers', '2'])).toEqual({
      from: 5,
      count: 10,
      workers: 2,
      trace: false,
    });
  });

  it('replays one seed with --seed', () => {
    expect(parseSimulateArgs(['--seed', '42'])).toMatchObject({ from: 42, count: 1 });
  });

  it.each([
    [['--seeds', 'ten'], '--seeds'],
    [['--seeds', '0'], '--seeds'],
    [['--from', '-1'], '--from'],
    [['--seed', '1', '--seeds', '2'], '--seed'],
    [['--trace'], '--trace'],
    [['--bogus'], 'bogus'],
  ])('rejects %j naming %s', (argv, name) => {
    expect(() => parseSimulateArgs(argv)).toThrow(SimulateUsageError);
    expect(() => parseSimulateArgs(argv)).toThrow(name);
  });
});
