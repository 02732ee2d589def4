import { describe, expect, it } from 'vitest';
import {
  type ActiveReturnPlan,
  applyActiveReturn,
  planActiveReturn,
} from '../../../../../shared/domain/recovery/active-return.ts';
import type { Weights } from '../../../../../shared/domain/recovery/ports.ts';
import { dnsSpecFor } from '../../../../../shared/domain/recovery/run-store.ts';
import { recoveryWorld } from '../../../../worlds/recovery.ts';

const ACTIVE = ['us-east-1', 'us-east-2', 'us-west-2'] as const;

const weights = (e1: number, e2: number, w2: number): Weights => ({
  'us-east-1': e1,
  'us-east-2': e2,
  'us-west-2': w2,
  'eu-west-1': 0,
});

function world() {
  const w = recoveryWorld({ instances: [{ id: 'payments', activeRegions: [...ACTIVE] }] });
  return { ...w, payments: w.instance('payments') };
}

describe('planActiveReturn', () => {
  it('returns one region in canary steps over every record when it alone was drained', () => {
    const { payments } = world();

    const [plan, ...more] = planActiveReturn(payments, ['us-east-1'], ['us-east-1'], [10, 50, 100]);

    expect(more).toEqual([]);
    expect(plan).toEqual({
      region: 'us-east-1',
      stillDrained: [],
      steps: [weights(3, 49, 48), weights(17, 42, 41), weights(34, 33, 33)],
    });
  });

  it('keeps the later regions drained while an earlier one returns when two come back', () => {
    const { payments } = world();

    const plans = planActiveReturn(
      payments,
      ['us-east-1', 'us-east-2'],
      ['us-east-1', 'us-east-2'],
      [50, 100],
    );

    expect(plans.map((p) => [p.region, p.stillDrained, p.steps.at(-1)])).toEqual([
      ['us-east-1', ['us-east-2'], weights(50, 0, 50)],
      ['us-east-2', [], weights(34, 33, 33)],
    ]);
  });
});

describe('applyActiveReturn', () => {
  it('applies every step, waiting the step time, when the region stays healthy', async () => {
    const w = world();
    await w.dns.applyWeights(dnsSpecFor(w.payments), weights(0, 50, 50));
    await w.instances.activate('payments', 'us-east-1');
    const [plan] = planActiveReturn(w.payments, ['us-east-1'], ['us-east-1'], [50, 100]);
    const seen: Weights[] = [];

    const outcome = await applyActiveReturn(w.deps, w.payments, plan as ActiveReturnPlan, (s) =>
      seen.push(s),
    );

    expect(outcome).toEqual({ ok: true, applied: [weights(17, 42, 41), weights(34, 33, 33)] });
    expect(seen).toEqual(outcome.applied);
    expect(w.sleeps).toEqual([30_000, 30_000]);
    expect(w.dns.weightsOf('payments')).toEqual(weights(34, 33, 33));
  });

  it('drains the region again with those still drained when its health regresses', async () => {
    const w = world();
    await w.instances.activate('payments', 'us-east-1');
    w.instances.regressAfter('us-east-1', 0);
    const [plan] = planActiveReturn(
      w.payments,
      ['us-east-1', 'us-east-2'],
      ['us-east-1'],
      [50, 100],
    );
    const seen: Weights[] = [];

    const outcome = await applyActiveReturn(w.deps, w.payments, plan as ActiveReturnPlan, (s) =>
      seen.push(s),
    );

    expect(outcome).toEqual({
      ok: false,
      applied: [weights(25, 0, 75)],
      regressedAt: weights(25, 0, 75),
      error: 'HTTP 503',
      drainedAgain: weights(0, 0, 100),
    });
    expect(seen).toEqual([]);
    expect(w.dns.weightsOf('payments')).toEqual(weights(0, 0, 100));
  });
});
