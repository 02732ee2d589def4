import { describe, expect, it } from 'vitest';
import type { RecoveryRun } from '../../../../../shared/domain/recovery/run-store.ts';
import { dnsSpecFor } from '../../../../../shared/domain/recovery/run-store.ts';
import {
  describeRunState,
  readDns,
  whereabouts,
} from '../../../../../shared/domain/recovery/whereabouts.ts';
import { recoveryWorld } from '../../../../worlds/recovery.ts';

describe('whereabouts', () => {
  it('places an instance at home when no generation was ever claimed', async () => {
    const world = recoveryWorld();
    expect(await whereabouts(world.deps, world.instance())).toEqual({
      generation: 0,
      runsIn: ['us-east-1'],
      state: 'home',
    });
  });

  it('places an instance in its target when its recovery completed', async () => {
    const world = recoveryWorld();
    const run = await world.recover();
    const where = await whereabouts(world.deps, world.instance());
    expect(where).toMatchObject({ generation: 1, runsIn: ['us-east-2'], state: 'recovered' });
    expect(where.run?.runId).toBe(run.runId);
  });

  it('lists the active regions when the instance runs active-active', async () => {
    const world = recoveryWorld({
      instances: [{ id: 'payments', activeRegions: ['us-east-1', 'us-west-2'] }],
    });
    expect(await whereabouts(world.deps, world.instance('payments'))).toMatchObject({
      runsIn: ['us-east-1', 'us-west-2'],
      state: 'active-active',
    });
  });
});

describe('readDns', () => {
  it('reports the error instead of throwing when DNS does not answer', async () => {
    const world = recoveryWorld();
    world.dns.unreachable = true;
    const reading = await readDns(world.deps, dnsSpecFor(world.instance()));
    expect(reading.weights).toBeUndefined();
    expect(reading.error).toEqual(expect.any(String));
  });
});

describe('describeRunState', () => {
  const run = (fields: Partial<RecoveryRun>) => ({ status: 'running', ...fields }) as RecoveryRun;

  it('names the step and the reason when the run failed', () => {
    expect(
      describeRunState(
        run({ status: 'failed', failedStep: 'verify', reason: 'no answer', rolledBack: true }),
      ),
    ).toBe('failed at verify: no answer (rolled back)');
  });

  it('says running or completed otherwise', () => {
    expect(describeRunState(run({}))).toBe('is running');
    expect(describeRunState(run({ status: 'completed' }))).toBe('completed');
  });
});
