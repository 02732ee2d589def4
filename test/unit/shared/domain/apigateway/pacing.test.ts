import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AWS_PACING,
  Pacer,
  type PacingPolicy,
  projectSeconds,
  UNPACED,
} from '../../../../../shared/domain/apigateway/pacing.ts';

/** A virtual clock: sleeping moves it on at once. */
function fakeTime(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    elapsed: () => now - start,
    sleeps,
  };
}

/** Runs `operations` one after another through a pacer; the virtual milliseconds they took. */
async function pacedRun(operations: string[], policy: PacingPolicy = AWS_PACING) {
  const time = fakeTime();
  const pacer = new Pacer(policy, time);
  for (const operation of operations) await pacer.acquire(operation);
  return { elapsed: time.elapsed(), pacer, time };
}

const times = (n: number, operation: string) => Array.from({ length: n }, () => operation);

describe('Pacer', () => {
  it('spaces CreateRestApi 3 s apart when three are made: at least 6 s of virtual time', async () => {
    const { elapsed, pacer } = await pacedRun(times(3, 'CreateRestApi'));
    expect(elapsed).toBeGreaterThanOrEqual(6_000);
    expect(elapsed).toBeLessThan(6_010);
    expect(pacer.waitedMs).toBe(elapsed);
    expect(pacer.calls.get('CreateRestApi')).toBe(3);
  });

  it('allows one CreateDeployment per 5 s when deployments follow each other', async () => {
    const { elapsed } = await pacedRun(times(4, 'CreateDeployment'));
    expect(elapsed).toBeGreaterThanOrEqual(15_000);
    expect(elapsed).toBeLessThan(15_010);
  });

  it('lets 5 GetResources through at once, then 2.5 a second', async () => {
    const { time } = await pacedRun(times(10, 'GetResources'));
    expect(time.elapsed()).toBeGreaterThanOrEqual(2_000);
    expect(time.elapsed()).toBeLessThan(2_010);
    // The first five took no wait.
    expect(time.sleeps.length).toBe(5);
  });

  it('holds the whole account to 10 a second after its burst of 40, whatever the operations', async () => {
    const ops = [...times(60, 'PutMethod'), ...times(40, 'PutIntegration')];
    const { elapsed } = await pacedRun(ops);
    expect(elapsed).toBeGreaterThanOrEqual(6_000);
    expect(elapsed).toBeLessThan(6_100);
  });

  it('never waits when unpaced', async () => {
    const { elapsed, time } = await pacedRun(times(500, 'CreateRestApi'), UNPACED);
    expect(elapsed).toBe(0);
    expect(time.sleeps).toEqual([]);
  });

  it('serves concurrent callers in the order they asked', async () => {
    const time = fakeTime();
    const pacer = new Pacer(AWS_PACING, time);
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2, 3].map((i) => pacer.acquire('CreateRestApi').then(() => order.push(i))),
    );
    expect(order).toEqual([0, 1, 2, 3]);
    expect(time.elapsed()).toBeGreaterThanOrEqual(9_000);
  });

  it('never lets more calls of an operation through in any window than its rate allows', async () => {
    const operation = fc.constantFrom(
      'CreateRestApi',
      'CreateDeployment',
      'GetResources',
      'PutMethod',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 80 }), async (ops) => {
        const time = fakeTime();
        const pacer = new Pacer(AWS_PACING, time);
        const at: { op: string; t: number }[] = [];
        for (const op of ops) {
          await pacer.acquire(op);
          at.push({ op, t: time.elapsed() });
        }
        // Token bucket: over any window of w ms at most burst + rate × w calls go.
        const check = (calls: number[], perSecond: number, burst: number) => {
          for (let i = 0; i < calls.length; i++)
            for (let j = i; j < calls.length; j++) {
              const window = (calls[j] as number) - (calls[i] as number);
              expect(j - i + 1).toBeLessThanOrEqual(burst + (perSecond * window) / 1000 + 1e-9);
            }
        };
        check(
          at.map((c) => c.t),
          AWS_PACING.account.perSecond,
          AWS_PACING.account.burst,
        );
        for (const [name, rate] of Object.entries(AWS_PACING.operations))
          check(
            at.filter((c) => c.op === name).map((c) => c.t),
            rate.perSecond,
            rate.burst,
          );
        // And the projection is a lower bound of the paced time.
        expect(time.elapsed()).toBeGreaterThanOrEqual(
          projectSeconds(pacer.calls, AWS_PACING) * 1000 - 1,
        );
      }),
      { numRuns: 100 },
    );
  });
});

describe('projectSeconds', () => {
  it('is the binding limit: the slowest operation or the whole account', () => {
    expect(projectSeconds(new Map([['CreateRestApi', 3]]), AWS_PACING)).toBeCloseTo(6);
    expect(projectSeconds(new Map([['CreateDeployment', 50]]), AWS_PACING)).toBeCloseTo(245);
    // 2,100 calls: (2,100 − 40) / 10 = 206 s for the account, 245 s for the deployments.
    const calls = new Map([
      ['CreateRestApi', 50],
      ['PutMethod', 2_000],
      ['CreateDeployment', 50],
    ]);
    expect(projectSeconds(calls, AWS_PACING)).toBeCloseTo(245);
    expect(projectSeconds(new Map([['PutMethod', 2_040]]), AWS_PACING)).toBeCloseTo(200);
  });

  it('is zero within the bursts and when unpaced', () => {
    expect(projectSeconds(new Map([['PutMethod', 40]]), AWS_PACING)).toBe(0);
    expect(projectSeconds(new Map([['CreateRestApi', 1]]), AWS_PACING)).toBe(0);
    expect(projectSeconds(new Map([['CreateRestApi', 1_000]]), UNPACED)).toBe(0);
  });

  it('matches what the pacer takes for calls of one operation', async () => {
    for (const [operation, n] of [
      ['CreateRestApi', 7],
      ['CreateDeployment', 3],
      ['GetResources', 25],
      ['PutMethod', 90],
    ] as const) {
      const { elapsed, pacer } = await pacedRun(times(n, operation));
      const projected = projectSeconds(pacer.calls, AWS_PACING) * 1000;
      expect(elapsed, operation).toBeGreaterThanOrEqual(projected - 1);
      expect(elapsed, operation).toBeLessThanOrEqual(projected + n);
    }
  });
});
