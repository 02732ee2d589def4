import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Weights } from '../../../../../shared/domain/recovery/ports.ts';
import {
  activeActiveWeights,
  assertRoutable,
  canarySteps,
  DEFAULT_CANARY_PERCENTS,
  describeWeights,
  FULL_WEIGHT,
  failoverWeights,
  homeWeights,
  returnSteps,
  trafficShare,
  validateCanaryPercents,
  weightsProblem,
} from '../../../../../shared/domain/recovery/weights.ts';
import { WeightPlanError } from '../../../../../shared/errors.ts';

const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1'];
const RUNS = { seed: 42, numRuns: 200 };

const sum = (w: Weights) => Object.values(w).reduce((a, b) => a + b, 0);

/** Every plan step must be sendable to Route 53 and must not be all-zero. */
function expectRoutable(steps: Weights[]) {
  for (const step of steps) {
    expect(() => assertRoutable(step)).not.toThrow();
    expect(sum(step)).toBe(FULL_WEIGHT);
  }
}

/** Distinct region names, 1..8 of them, in random order. */
const regionsArb: fc.Arbitrary<string[]> = fc.uniqueArray(
  fc.constantFrom(
    'us-east-1',
    'us-east-2',
    'us-west-1',
    'us-west-2',
    'eu-west-1',
    'eu-central-1',
    'ap-south-1',
    'sa-east-1',
  ),
  { minLength: 1, maxLength: 8 },
);

/** Strictly increasing integer percents in (0, 100] ending at 100. */
const percentsArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 99 }), { maxLength: 6 })
  .map((ps) => [...ps.sort((a, b) => a - b), 100]);

describe('failoverWeights', () => {
  it('gives the target 100 and every other region 0 when failing over', () => {
    expect(failoverWeights(REGIONS, 'us-east-2')).toEqual({
      'us-east-1': 0,
      'us-east-2': 100,
      'us-west-2': 0,
      'eu-west-1': 0,
    });
  });

  it('throws WeightPlanError when the target is not among the regions', () => {
    expect(() => failoverWeights(REGIONS, 'ap-south-1')).toThrow(WeightPlanError);
    expect(() => failoverWeights(REGIONS, 'ap-south-1')).toThrow(
      'failover target ap-south-1 is not among the plan',
    );
  });
});

describe('homeWeights', () => {
  it('gives the home region 100 and every other region 0 when traffic is home', () => {
    expect(homeWeights(['us-east-1', 'us-east-2'], 'us-east-1')).toEqual({
      'us-east-1': 100,
      'us-east-2': 0,
    });
  });

  it('throws WeightPlanError when the home region is not among the regions', () => {
    expect(() => homeWeights([], 'us-east-1')).toThrow(WeightPlanError);
  });
});

describe('validateCanaryPercents', () => {
  it('accepts the default schedule and a single 100 step when they are well formed', () => {
    expect(() => validateCanaryPercents(DEFAULT_CANARY_PERCENTS)).not.toThrow();
    expect(() => validateCanaryPercents([100])).not.toThrow();
  });

  it.each([
    [[], 'at least one step is needed'],
    [[10, 50], 'the last step must be 100'],
    [[50, 10, 100], '10 follows 50; steps must be strictly increasing'],
    [[10, 10, 100], '10 follows 10'],
    [[0, 100], '0 is outside (0, 100]'],
    [[-5, 100], '-5 is outside (0, 100]'],
    [[10, 150], '150 is outside (0, 100]'],
    [[12.5, 100], '12.5 is not a whole number'],
    [[Number.NaN, 100], 'NaN is not a whole number'],
  ])('rejects %j with a clear WeightPlanError when the percents are bad', (percents, why) => {
    expect(() => validateCanaryPercents(percents)).toThrow(WeightPlanError);
    expect(() => validateCanaryPercents(percents)).toThrow(why);
  });
});

describe('canarySteps', () => {
  it('moves traffic 10, 50, 100 percent to the destination when using the default percents', () => {
    expect(canarySteps('us-east-2', 'us-east-1', REGIONS)).toEqual([
      { 'us-east-1': 10, 'us-east-2': 90, 'us-west-2': 0, 'eu-west-1': 0 },
      { 'us-east-1': 50, 'us-east-2': 50, 'us-west-2': 0, 'eu-west-1': 0 },
      { 'us-east-1': 100, 'us-east-2': 0, 'us-west-2': 0, 'eu-west-1': 0 },
    ]);
  });

  it('ends at the home weights when failing back home', () => {
    const steps = canarySteps('us-west-2', 'us-east-1', REGIONS, [5, 25, 100]);
    expect(steps.at(-1)).toEqual(homeWeights(REGIONS, 'us-east-1'));
    expectRoutable(steps);
  });

  it('grows the destination share monotonically when stepping', () => {
    const shares = canarySteps('us-east-2', 'us-east-1', REGIONS, [1, 2, 30, 99, 100]).map(
      (w) => trafficShare(w)['us-east-1'],
    );
    expect(shares).toEqual([0.01, 0.02, 0.3, 0.99, 1]);
  });

  it('rejects bad percents with WeightPlanError when they are not a valid schedule', () => {
    expect(() => canarySteps('us-east-2', 'us-east-1', REGIONS, [50, 10])).toThrow(WeightPlanError);
    expect(() => canarySteps('us-east-2', 'us-east-1', REGIONS, [10, 50])).toThrow(
      'the last step must be 100',
    );
  });

  it('rejects a move when the source equals the destination or is outside the plan', () => {
    expect(() => canarySteps('us-east-1', 'us-east-1', REGIONS)).toThrow(WeightPlanError);
    expect(() => canarySteps('ap-south-1', 'us-east-1', REGIONS)).toThrow(
      'canary source ap-south-1',
    );
    expect(() => canarySteps('us-east-1', 'ap-south-1', REGIONS)).toThrow(
      'canary destination ap-south-1',
    );
  });

  it('keeps the destination share non-decreasing and ending at 1 for any valid schedule', () => {
    fc.assert(
      fc.property(
        regionsArb.filter((rs) => rs.length >= 2),
        percentsArb,
        (regions, percents) => {
          const [from, to] = regions as [string, string];
          const steps = canarySteps(from, to, regions, percents);
          const shares = steps.map((w) => trafficShare(w)[to] ?? Number.NaN);
          for (let i = 1; i < shares.length; i++) {
            expect(shares[i]).toBeGreaterThanOrEqual(shares[i - 1] as number);
          }
          expect(shares.at(-1)).toBe(1);
          expectRoutable(steps);
        },
      ),
      RUNS,
    );
  });
});

describe('activeActiveWeights', () => {
  it('splits 100 evenly when no active region is drained', () => {
    expect(activeActiveWeights(['eu-west-1', 'us-east-1'], new Set())).toEqual({
      'eu-west-1': 50,
      'us-east-1': 50,
    });
  });

  it('gives the remainder to the first listed regions when 100 does not divide evenly', () => {
    expect(activeActiveWeights(['us-west-2', 'eu-west-1', 'us-east-1'], new Set())).toEqual({
      'us-west-2': 34,
      'eu-west-1': 33,
      'us-east-1': 33,
    });
  });

  it('drains a region to 0 and gives its share to the others when it is drained', () => {
    expect(
      activeActiveWeights(['us-west-2', 'eu-west-1', 'us-east-1'], new Set(['eu-west-1'])),
    ).toEqual({ 'us-west-2': 50, 'eu-west-1': 0, 'us-east-1': 50 });
  });

  it('ignores drained regions when they are not active', () => {
    expect(activeActiveWeights(['eu-west-1', 'us-east-1'], new Set(['us-west-2']))).toEqual({
      'eu-west-1': 50,
      'us-east-1': 50,
    });
  });

  it('throws WeightPlanError instead of an all-zero plan when every active region is drained', () => {
    expect(() =>
      activeActiveWeights(['eu-west-1', 'us-east-1'], new Set(['eu-west-1', 'us-east-1'])),
    ).toThrow('every active region is drained (eu-west-1, us-east-1); refusing an all-zero plan');
    expect(() => activeActiveWeights([], new Set())).toThrow(WeightPlanError);
  });

  it('sums to 100 over the live regions with weights within 1 of each other for any drain set', () => {
    fc.assert(
      fc.property(regionsArb, fc.array(fc.boolean(), { maxLength: 8 }), (regions, flags) => {
        const drained = new Set(regions.filter((_, i) => flags[i]));
        const live = regions.filter((r) => !drained.has(r));
        fc.pre(live.length > 0);
        const w = activeActiveWeights(regions, drained);
        expect(Object.keys(w).sort()).toEqual([...regions].sort());
        for (const r of drained) expect(w[r]).toBe(0);
        const liveWeights = live.map((r) => w[r] as number);
        expect(liveWeights.reduce((a, b) => a + b, 0)).toBe(100);
        expect(Math.max(...liveWeights) - Math.min(...liveWeights)).toBeLessThanOrEqual(1);
        for (const lw of liveWeights) expect(Number.isInteger(lw)).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('returnSteps', () => {
  it('grows the returning region to its equal share step by step when it comes back', () => {
    expect(returnSteps(['eu-west-1', 'us-east-1'], 'eu-west-1')).toEqual([
      { 'eu-west-1': 5, 'us-east-1': 95 },
      { 'eu-west-1': 25, 'us-east-1': 75 },
      { 'eu-west-1': 50, 'us-east-1': 50 },
    ]);
  });

  it('ends exactly at the active-active weights when three regions are active', () => {
    const active = ['us-west-2', 'eu-west-1', 'us-east-1'];
    const steps = returnSteps(active, 'us-west-2', [10, 50, 100]);
    expect(steps).toEqual([
      { 'us-west-2': 3, 'eu-west-1': 49, 'us-east-1': 48 },
      { 'us-west-2': 17, 'eu-west-1': 42, 'us-east-1': 41 },
      { 'us-west-2': 34, 'eu-west-1': 33, 'us-east-1': 33 },
    ]);
    expect(steps.at(-1)).toEqual(activeActiveWeights(active, new Set()));
  });

  it('keeps other drained regions at 0 when they are still drained', () => {
    const active = ['us-west-2', 'eu-west-1', 'us-east-1'];
    const steps = returnSteps(active, 'eu-west-1', [50, 100], new Set(['us-west-2', 'eu-west-1']));
    expect(steps).toEqual([
      { 'us-west-2': 0, 'eu-west-1': 25, 'us-east-1': 75 },
      { 'us-west-2': 0, 'eu-west-1': 50, 'us-east-1': 50 },
    ]);
  });

  it('gives the returning region at least 1 on the first step when its rounded share would be 0', () => {
    const [first] = returnSteps(['eu-west-1', 'us-east-1'], 'eu-west-1', [1, 100]);
    expect(first).toEqual({ 'eu-west-1': 1, 'us-east-1': 99 });
  });

  it('returns one full step when every other active region is drained', () => {
    expect(
      returnSteps(['eu-west-1', 'us-east-1'], 'eu-west-1', undefined, new Set(['us-east-1'])),
    ).toEqual([{ 'eu-west-1': 100, 'us-east-1': 0 }]);
  });

  it('throws WeightPlanError when the returning region is not active or the percents are bad', () => {
    expect(() => returnSteps(['eu-west-1', 'us-east-1'], 'us-west-2')).toThrow(
      'returning region us-west-2',
    );
    expect(() => returnSteps(['eu-west-1', 'us-east-1'], 'eu-west-1', [60, 50, 100])).toThrow(
      WeightPlanError,
    );
  });

  it('grows the returning share monotonically up to the equal share for any schedule', () => {
    fc.assert(
      fc.property(
        regionsArb.filter((rs) => rs.length >= 2),
        percentsArb,
        fc.array(fc.boolean(), { maxLength: 8 }),
        (regions, percents, flags) => {
          const returning = regions[0] as string;
          const drained = new Set(regions.filter((_, i) => flags[i]));
          const steps = returnSteps(regions, returning, percents, drained);
          const shares = steps.map((w) => trafficShare(w)[returning] as number);
          for (let i = 1; i < shares.length; i++) {
            expect(shares[i]).toBeGreaterThanOrEqual(shares[i - 1] as number);
          }
          expect(shares[0]).toBeGreaterThan(0);
          drained.delete(returning);
          expect(steps.at(-1)).toEqual(activeActiveWeights(regions, drained));
          for (const r of drained) for (const step of steps) expect(step[r]).toBe(0);
          expectRoutable(steps);
        },
      ),
      RUNS,
    );
  });
});

describe('describeWeights', () => {
  it('lists regions sorted by name when describing weights', () => {
    expect(describeWeights({ 'us-west-2': 100, 'eu-west-1': 0, 'us-east-1': 0 })).toBe(
      'eu-west-1=0 us-east-1=0 us-west-2=100',
    );
  });

  it('returns the same string whatever the key order when describing equal weights', () => {
    expect(describeWeights({ b: 1, a: 2 })).toBe(describeWeights({ a: 2, b: 1 }));
    expect(describeWeights({})).toBe('');
  });
});

describe('trafficShare', () => {
  it('returns each region fraction of the total when weights are set', () => {
    expect(trafficShare({ 'us-east-1': 10, 'us-east-2': 90, 'us-west-2': 0 })).toEqual({
      'us-east-1': 0.1,
      'us-east-2': 0.9,
      'us-west-2': 0,
    });
  });

  it('returns 0 for every region when every weight is 0', () => {
    expect(trafficShare({ 'us-east-1': 0, 'us-east-2': 0 })).toEqual({
      'us-east-1': 0,
      'us-east-2': 0,
    });
  });
});

describe('assertRoutable', () => {
  it('throws WeightPlanError when every weight is 0', () => {
    expect(() => assertRoutable({ 'us-east-1': 0, 'us-east-2': 0 })).toThrow(
      'every weight is 0 (us-east-1=0 us-east-2=0); Route 53 would answer with every record',
    );
    expect(() => assertRoutable({})).toThrow(WeightPlanError);
  });

  it('throws WeightPlanError when a weight is not an integer in 0..255', () => {
    expect(() => assertRoutable({ a: 256 })).toThrow('weight of a is 256');
    expect(() => assertRoutable({ a: -1, b: 5 })).toThrow(WeightPlanError);
    expect(() => assertRoutable({ a: 0.5 })).toThrow(WeightPlanError);
  });

  it('accepts Route 53 maximum weights when they are within range', () => {
    expect(() => assertRoutable({ a: 255, b: 0 })).not.toThrow();
  });
});

describe('weightsProblem', () => {
  const record = ['us-east-1', 'us-east-2'];

  it('returns undefined when every weight names a region of the record and one is above 0', () => {
    expect(weightsProblem({ 'us-east-1': 0, 'us-east-2': 100 }, record)).toBeUndefined();
    expect(weightsProblem({ 'us-east-2': 255 }, record)).toBeUndefined();
  });

  it('names the region when it is not a region of the record or its weight is out of range', () => {
    expect(weightsProblem({ 'eu-west-1': 5 }, record)?.region).toBe('eu-west-1');
    expect(weightsProblem({ 'us-east-1': 256 }, record)).toEqual({
      region: 'us-east-1',
      detail: 'weight 256 is not an integer in 0–255',
    });
    expect(weightsProblem({ 'us-east-1': 0.5 }, record)?.region).toBe('us-east-1');
  });

  it('refuses all-zero weights, and a partial batch only when the batch must be complete', () => {
    expect(weightsProblem({ 'us-east-1': 0, 'us-east-2': 0 }, record)).toEqual({
      detail: 'every weight is 0',
    });
    expect(weightsProblem({ 'us-east-1': 100 }, record)).toBeUndefined();
    expect(weightsProblem({ 'us-east-1': 100 }, record, { complete: true })?.region).toBe(
      'us-east-2',
    );
  });
});
