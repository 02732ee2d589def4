import { describe, expect, it } from 'vitest';
import {
  checkTrace,
  FailbackKeepsWrites,
  HomeFencedThroughCanary,
  NoDoubleBookedSlot,
  NoRecoveryWithoutRegionOutage,
  NoStuckRun,
  NoWriteLost,
  SinglePrimary,
  TrafficLeavesFailedRegion,
} from '../../sim/invariants.ts';
import type { RunEntry, SetupEntry, TraceEntry, WriteEntry } from '../../sim/trace.ts';

const MIN = 60_000;

const setup: SetupEntry = {
  kind: 'setup',
  t: 0,
  regions: [
    { name: 'a', capacity: 2, homeUnits: 1 },
    { name: 'b', capacity: 2, homeUnits: 0 },
    { name: 'c', capacity: 2, homeUnits: 0 },
  ],
  instances: [
    { id: 'shop', home: 'a', units: 1, critical: false, endpointRegions: ['a', 'b', 'c'] },
  ],
  rtoBoundMs: 5 * MIN,
};

const run = (fields: Partial<RunEntry>): RunEntry => ({
  kind: 'run',
  t: MIN,
  runId: 'shop-g1',
  runKind: 'recovery',
  instanceId: 'shop',
  from: 'a',
  status: 'running',
  seq: 1,
  stepsDone: [],
  ...fields,
});

const outageOfA: TraceEntry[] = [
  setup,
  { kind: 'instance', t: 0, instanceId: 'shop', region: 'a', activated: true, fenced: false },
  { kind: 'weights', t: 0, instanceId: 'shop', weights: { a: 100, b: 0, c: 0 } },
  { kind: 'region', t: MIN, region: 'a', up: false, cause: 'outage' },
];

describe('TrafficLeavesFailedRegion', () => {
  it('reports an instance still unmoved when the RTO bound has passed and b has room', () => {
    const trace: TraceEntry[] = [...outageOfA, { kind: 'clock', t: 7 * MIN }];
    const violations = checkTrace(trace, [new TrafficLeavesFailedRegion()]);
    expect(violations.map((v) => v.invariant)).toEqual(['traffic-leaves-failed-region']);
  });

  it('reports traffic that stays on the failed region when no other region is ready', () => {
    // a's record is unhealthy and b and c run no instance (their readiness checks fail): with
    // every record unhealthy, Route 53 answers as if all were healthy, so by weight: all to a.
    const trace: TraceEntry[] = [...outageOfA, { kind: 'clock', t: 7 * MIN }];
    expect(checkTrace(trace, [new TrafficLeavesFailedRegion()])[0]?.message).toContain(
      'still sends traffic to a (',
    );
  });

  /** b restored and activated two minutes into a's outage. */
  const restoredB: TraceEntry = {
    kind: 'instance',
    t: 2 * MIN,
    instanceId: 'shop',
    region: 'b',
    activated: true,
    fenced: false,
  };

  it('reports nothing once a restored b is ready, even before the weights move', () => {
    // Route 53's data plane: a unhealthy, b healthy with weight 0, c not ready: b gets it all.
    const trace: TraceEntry[] = [...outageOfA, restoredB, { kind: 'clock', t: 7 * MIN }];
    expect(checkTrace(trace, [new TrafficLeavesFailedRegion()])).toEqual([]);
  });

  it('reports nothing when the weights moved to a restored b in time', () => {
    const trace: TraceEntry[] = [
      ...outageOfA,
      restoredB,
      { kind: 'weights', t: 3 * MIN, instanceId: 'shop', weights: { a: 0, b: 100, c: 0 } },
      { kind: 'clock', t: 7 * MIN },
    ];
    expect(checkTrace(trace, [new TrafficLeavesFailedRegion()])).toEqual([]);
  });

  it('reports nothing before the RTO bound', () => {
    const trace: TraceEntry[] = [...outageOfA, { kind: 'clock', t: 5 * MIN }];
    expect(checkTrace(trace, [new TrafficLeavesFailedRegion()])).toEqual([]);
  });

  it('reports nothing when every other region is full', () => {
    const full: SetupEntry = {
      ...setup,
      regions: setup.regions.map((r) => (r.name === 'a' ? r : { ...r, capacity: 0 })),
    };
    const trace: TraceEntry[] = [full, ...outageOfA.slice(1), { kind: 'clock', t: 9 * MIN }];
    expect(checkTrace(trace, [new TrafficLeavesFailedRegion()])).toEqual([]);
  });

  const outageWith = (restorable: Record<string, string[]>): TraceEntry[] => [
    ...outageOfA.slice(0, 3),
    { kind: 'region', t: MIN, region: 'a', up: false, cause: 'outage', restorable },
    { kind: 'clock', t: 7 * MIN },
  ];

  it('reports nothing when no region outside a held a committed snapshot as a went down', () => {
    expect(checkTrace(outageWith({ shop: [] }), [new TrafficLeavesFailedRegion()])).toEqual([]);
  });

  it('still reports an unmoved instance that had a committed snapshot in c', () => {
    const violations = checkTrace(outageWith({ shop: ['c'] }), [new TrafficLeavesFailedRegion()]);
    expect(violations.map((v) => v.invariant)).toEqual(['traffic-leaves-failed-region']);
  });
});

describe('SinglePrimary', () => {
  const base: TraceEntry[] = [
    setup,
    { kind: 'instance', t: 0, instanceId: 'shop', region: 'a', activated: true, fenced: false },
    { kind: 'instance', t: 0, instanceId: 'shop', region: 'b', activated: true, fenced: false },
  ];

  it('reports two unfenced, activated regions that both get traffic', () => {
    const trace: TraceEntry[] = [
      ...base,
      { kind: 'weights', t: MIN, instanceId: 'shop', weights: { a: 50, b: 50, c: 0 } },
    ];
    expect(checkTrace(trace, [new SinglePrimary()]).map((v) => v.invariant)).toEqual([
      'single-primary',
    ]);
  });

  it('reports nothing during a canary when the old primary is fenced', () => {
    const trace: TraceEntry[] = [
      ...base,
      { kind: 'instance', t: MIN, instanceId: 'shop', region: 'b', activated: true, fenced: true },
      { kind: 'weights', t: MIN, instanceId: 'shop', weights: { a: 50, b: 50, c: 0 } },
    ];
    expect(checkTrace(trace, [new SinglePrimary()])).toEqual([]);
  });
});

describe('NoRecoveryWithoutRegionOutage', () => {
  it('reports a recovery out of a region that only lost a zone', () => {
    const trace: TraceEntry[] = [
      setup,
      { kind: 'partial', t: 0, region: 'a', what: 'zone a1 down' },
      run({}),
    ];
    const [violation] = checkTrace(trace, [new NoRecoveryWithoutRegionOutage()]);
    expect(violation?.message).toContain('zone a1 down');
  });

  it('reports a recovery out of a flapping region', () => {
    const trace: TraceEntry[] = [
      setup,
      { kind: 'region', t: 0, region: 'a', up: false, cause: 'flap' },
      run({}),
    ];
    expect(checkTrace(trace, [new NoRecoveryWithoutRegionOutage()])).toHaveLength(1);
  });

  it('reports nothing after a real region outage', () => {
    expect(checkTrace([...outageOfA, run({})], [new NoRecoveryWithoutRegionOutage()])).toEqual([]);
  });
});

describe('FailbackKeepsWrites', () => {
  const write: TraceEntry = {
    kind: 'write',
    t: 2 * MIN,
    instanceId: 'shop',
    region: 'b',
    key: 'apis/new.json',
    valueHash: 'h1',
    accepted: true,
  };
  const end = (contents: Record<string, string>): TraceEntry => ({
    kind: 'end',
    t: 20 * MIN,
    runs: [],
    serving: [{ instanceId: 'shop', region: 'a', contents }],
  });
  const failback = run({ runId: 'shop-g2', runKind: 'failback', from: 'b', target: 'a' });

  it('reports an accepted write missing at home after failback', () => {
    const trace: TraceEntry[] = [setup, write, failback, end({})];
    expect(checkTrace(trace, [new FailbackKeepsWrites()])).toHaveLength(1);
  });

  it('reports nothing when home holds the write', () => {
    const trace: TraceEntry[] = [setup, write, failback, end({ 'apis/new.json': 'h1' })];
    expect(checkTrace(trace, [new FailbackKeepsWrites()])).toEqual([]);
  });
});

describe('NoWriteLost', () => {
  const write = (region: string, key = 'apis/new.json'): WriteEntry => ({
    kind: 'write',
    t: 2 * MIN,
    instanceId: 'shop',
    region,
    key,
    valueHash: 'h1',
    accepted: true,
  });
  const end = (contents: Record<string, string>): TraceEntry => ({
    kind: 'end',
    t: 20 * MIN,
    runs: [],
    serving: [{ instanceId: 'shop', region: 'b', contents }],
  });

  it('reports an accepted write missing where the instance serves when no failback ran', () => {
    const trace: TraceEntry[] = [setup, write('a'), run({ target: 'b' }), end({})];
    expect(checkTrace(trace, [new NoWriteLost()])).toEqual([
      expect.objectContaining({ invariant: 'no-write-lost' }),
    ]);
  });

  it('reports nothing when the serving region holds every accepted write', () => {
    const refused: TraceEntry = { ...write('a', 'apis/refused.json'), accepted: false };
    const trace: TraceEntry[] = [setup, write('a'), refused, end({ 'apis/new.json': 'h1' })];
    expect(checkTrace(trace, [new NoWriteLost()])).toEqual([]);
  });
});

describe('HomeFencedThroughCanary', () => {
  const canaryRun = (stepsDone: string[], status: RunEntry['status'] = 'running') =>
    run({
      runId: 'shop-g2',
      runKind: 'failback',
      from: 'b',
      target: 'a',
      seq: stepsDone.length + 1,
      stepsDone,
      status,
    });
  const weights = (a: number): TraceEntry => ({
    kind: 'weights',
    t: 3 * MIN,
    instanceId: 'shop',
    weights: { a, b: 100 - a, c: 0 },
  });
  const homeWrite: TraceEntry = {
    kind: 'write',
    t: 4 * MIN,
    instanceId: 'shop',
    region: 'a',
    key: 'apis/new.json',
    valueHash: 'h1',
    accepted: true,
  };
  const verified = ['fence', 'snapshot', 'restore', 'verify'];

  it('reports a write home accepted during the canary', () => {
    const trace: TraceEntry[] = [setup, canaryRun(verified), weights(10), homeWrite];
    expect(checkTrace(trace, [new HomeFencedThroughCanary()])).toEqual([
      expect.objectContaining({ invariant: 'home-fenced-through-canary' }),
    ]);
  });

  it('reports nothing once all traffic is home or the canary is recorded done', () => {
    const allHome: TraceEntry[] = [setup, canaryRun(verified), weights(100), homeWrite];
    const done: TraceEntry[] = [setup, canaryRun([...verified, 'shift']), weights(50), homeWrite];
    expect(checkTrace(allHome, [new HomeFencedThroughCanary()])).toEqual([]);
    expect(checkTrace(done, [new HomeFencedThroughCanary()])).toEqual([]);
  });
});

describe('NoDoubleBookedSlot', () => {
  const reserve = (runId: string, slot: number, seq = 2): RunEntry =>
    run({
      runId,
      instanceId: runId.replace(/-g\d+$/, ''),
      seq,
      reservation: { region: 'b', slots: [slot] },
    });

  it('reports one slot counted on by two runs', () => {
    const trace: TraceEntry[] = [
      setup,
      { kind: 'slot', t: MIN, region: 'b', slot: 1, runId: 'shop-g1' },
      reserve('shop-g1', 1),
      reserve('cart-g1', 1),
    ];
    const messages = checkTrace(trace, [new NoDoubleBookedSlot()]).map((v) => v.message);
    expect(messages.some((m) => m.includes('reserved by both'))).toBe(true);
  });

  it('reports a slot taken from the instances homed in the region', () => {
    const homeSlot = run({ seq: 2, reservation: { region: 'a', slots: [0] } });
    expect(checkTrace([setup, homeSlot], [new NoDoubleBookedSlot()])).toHaveLength(1);
  });

  it('reports nothing for distinct slots, or once the failback released them', () => {
    const trace: TraceEntry[] = [
      setup,
      { kind: 'slot', t: MIN, region: 'b', slot: 0, runId: 'shop-g1' },
      reserve('shop-g1', 0),
      run({
        runId: 'shop-g2',
        runKind: 'failback',
        recoveryRunId: 'shop-g1',
        stepsDone: ['release'],
      }),
      { kind: 'slot', t: 2 * MIN, region: 'b', slot: 0 },
      { kind: 'slot', t: 3 * MIN, region: 'b', slot: 0, runId: 'cart-g1' },
      reserve('cart-g1', 0),
    ];
    expect(checkTrace(trace, [new NoDoubleBookedSlot()])).toEqual([]);
  });
});

describe('NoStuckRun', () => {
  const end = (runs: Extract<TraceEntry, { kind: 'end' }>['runs']): TraceEntry => ({
    kind: 'end',
    t: 0,
    runs,
    serving: [],
  });

  it('reports a run still running that resume could not finish', () => {
    const trace = [
      end([{ runId: 'shop-g1', runKind: 'recovery', status: 'running', operatorResume: 'error' }]),
    ];
    expect(checkTrace(trace, [new NoStuckRun()])).toHaveLength(1);
  });

  it('reports a failed run without a reason', () => {
    const trace = [end([{ runId: 'shop-g1', runKind: 'recovery', status: 'failed' }])];
    expect(checkTrace(trace, [new NoStuckRun()])).toHaveLength(1);
  });

  it('reports nothing for completed, failed-with-reason, or resumed runs', () => {
    const trace = [
      end([
        { runId: 'a-g1', runKind: 'recovery', status: 'completed' },
        {
          runId: 'b-g1',
          runKind: 'recovery',
          status: 'failed',
          reason: 'no room',
          failedStep: 'plan',
        },
        { runId: 'c-g1', runKind: 'recovery', status: 'running', operatorResume: 'completed' },
      ]),
    ];
    expect(checkTrace(trace, [new NoStuckRun()])).toEqual([]);
  });
});
