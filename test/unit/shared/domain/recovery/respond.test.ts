import { describe, expect, it } from 'vitest';
import { RecoveryEvent } from '../../../../../shared/domain/events.ts';
import { reservedSlots } from '../../../../../shared/domain/recovery/capacity.ts';
import type { Weights } from '../../../../../shared/domain/recovery/ports.ts';
import { driveRecovery } from '../../../../../shared/domain/recovery/recovery-run.ts';
import {
  requestFailbacks,
  respondToFailbackRequest,
  respondToOutage,
  respondToRecovery,
} from '../../../../../shared/domain/recovery/respond.ts';
import { loadRun, type RecoveryRun } from '../../../../../shared/domain/recovery/run-store.ts';
import { RunStepError, StorageUnavailableError } from '../../../../../shared/errors.ts';
import { MINUTE } from '../../../../fakes/clock.ts';
import {
  type InstanceSpec,
  type RecoveryWorld,
  recoveryWorld,
} from '../../../../worlds/recovery.ts';

const PETSTORE: InstanceSpec = { id: 'petstore' };
const ORDERS: InstanceSpec = { id: 'orders', home: 'us-west-2' };
const PAYMENTS: InstanceSpec = {
  id: 'payments',
  activeRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
};
const LEDGER: InstanceSpec = {
  id: 'ledger',
  home: 'us-west-2',
  activeRegions: ['us-west-2', 'eu-west-1'],
};

const weights = (e1: number, e2: number, w2: number, eu = 0): Weights => ({
  'us-east-1': e1,
  'us-east-2': e2,
  'us-west-2': w2,
  'eu-west-1': eu,
});

/** The four instances, petstore snapshotted at 06:00, every active-active instance serving. */
async function world(instances: InstanceSpec[] = [PETSTORE, ORDERS, PAYMENTS, LEDGER]) {
  const w = recoveryWorld({ instances });
  if (instances.includes(PETSTORE)) {
    await w.seed('petstore');
    await w.snapshot('petstore');
  }
  for (const spec of instances) {
    for (const region of spec.activeRegions ?? []) await w.instances.activate(spec.id, region);
  }
  w.clock.advance(5 * MINUTE);
  return w;
}

/** What each of the four instances answers once us-east-1 has recovered. */
const ALL_RETURNED_FROM_US_EAST_1 = [
  {
    instanceId: 'petstore',
    action: 'failback',
    outcome: 'started',
    runId: 'petstore-g2',
    status: 'completed',
  },
  { instanceId: 'orders', action: 'none', reason: 'orders has never been recovered' },
  { instanceId: 'payments', action: 'returned', steps: expect.any(Array) },
  { instanceId: 'ledger', action: 'none', reason: 'not active in us-east-1' },
];

/** us-east-1 fails and petstore's recovery runs to the end, as the chain of handlers would. */
async function recoveredFromUsEast1(w: RecoveryWorld) {
  w.fail('us-east-1');
  await respondToOutage(w.deps, w.outage('us-east-1'));
  const run = (await loadRun(w.deps, 'petstore-g1', [
    'eu-west-1',
    'us-east-2',
    'us-west-2',
  ])) as RecoveryRun;
  await driveRecovery(w.deps, run);
  w.heal('us-east-1');
  w.clock.advance(10 * MINUTE);
}

describe('respondToOutage', () => {
  it('plans a recovery for the instance running in the failed region and leaves the others alone when a region fails', async () => {
    const w = await world();
    w.fail('us-east-1');
    const responses = await respondToOutage(w.deps, w.outage('us-east-1'));
    expect(responses).toEqual([
      {
        instanceId: 'petstore',
        action: 'recovery',
        outcome: 'started',
        runId: 'petstore-g1',
        target: 'us-east-2',
      },
      { instanceId: 'orders', action: 'none', reason: 'runs in us-west-2, not us-east-1' },
      { instanceId: 'payments', action: 'drained', weights: weights(0, 50, 50) },
      { instanceId: 'ledger', action: 'none', reason: 'not active in us-east-1' },
    ]);
    expect(w.bus.events.map((e) => e.detailType)).toEqual([RecoveryEvent.plan]);
    expect(w.store('us-east-2').count('write')).toBe(0);
    expect(w.dns.weightsOf('payments')).toEqual(weights(0, 50, 50));
    expect(w.dns.appliedFor('ledger')).toEqual([]);
    expect(w.dns.appliedFor('orders')).toEqual([]);
    expect(w.dns.appliedFor('petstore')).toEqual([]);
  });

  it('reports a duplicate and drains to the same weights when another detector confirms the outage', async () => {
    const w = await world();
    w.fail('us-east-1');
    await respondToOutage(w.deps, w.outage('us-east-1', 'delivery-a'));
    const second = await respondToOutage(w.deps, w.outage('us-east-1', 'delivery-b'));
    expect(second[0]).toEqual({
      instanceId: 'petstore',
      action: 'recovery',
      outcome: 'duplicate',
      runId: 'petstore-g1',
    });
    expect(second[2]).toEqual({
      instanceId: 'payments',
      action: 'drained',
      weights: weights(0, 50, 50),
    });
    expect(await reservedSlots(w.bucket('us-east-2'), 'us-east-2', 4)).toHaveLength(1);
  });

  it('resumes the same run without a second reservation when the same delivery is retried', async () => {
    const w = await world();
    w.fail('us-east-1');
    await respondToOutage(w.deps, w.outage('us-east-1'));
    const again = await respondToOutage(w.deps, w.outage('us-east-1'));
    expect(again[0]).toEqual({
      instanceId: 'petstore',
      action: 'recovery',
      outcome: 'resumed',
      runId: 'petstore-g1',
      target: 'us-east-2',
    });
    expect(w.bucket('us-east-2').savesOf(/^capacity\//)).toBe(1);
  });

  it('keeps a region drained by an earlier outage at 0 when another active region fails', async () => {
    const w = await world();
    w.fail('us-east-2');
    const first = await respondToOutage(w.deps, w.outage('us-east-2'));
    expect(first[2]).toEqual({
      instanceId: 'payments',
      action: 'drained',
      weights: weights(50, 0, 50),
    });
    expect(first[0]).toEqual({
      instanceId: 'petstore',
      action: 'none',
      reason: 'runs in us-east-1, not us-east-2',
    });

    w.fail('us-east-1');
    const second = await respondToOutage(w.deps, w.outage('us-east-1', 'delivery-c'));
    expect(second[2]).toEqual({
      instanceId: 'payments',
      action: 'drained',
      weights: weights(0, 0, 100),
    });
    expect(w.dns.weightsOf('payments')).toEqual(weights(0, 0, 100));
  });

  it('fails the delivery so it is retried when too few control buckets answer to claim', async () => {
    const w = await world([PETSTORE]);
    w.fail('us-east-1');
    w.bucket('us-east-2').unreachable = true;
    w.bucket('us-west-2').unreachable = true;
    const error = await respondToOutage(w.deps, w.outage('us-east-1')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RunStepError);
    expect((error as Error).message).toMatch(/claims undecided for petstore/);
  });

  it('fails the delivery after trying every instance when a run was recorded but not read back', async () => {
    const w = await world([PETSTORE, { id: 'bigstore', units: 5, home: 'us-east-1' }]);
    w.fail('us-east-1');
    // petstore's run is claimed and written, then no bucket answers its read: nothing records
    // a failure, so only a retry of the delivery can move the run on.
    for (const region of ['us-east-2', 'us-west-2', 'eu-west-1'])
      w.bucket(region).inner.hook = ({ op, key }) => {
        if (op === 'load' && key === 'runs/petstore-g1.json')
          throw new StorageUnavailableError(`${region}: connect ECONNREFUSED`);
      };
    const error = await respondToOutage(w.deps, w.outage('us-east-1')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RunStepError);
    expect((error as Error).message).toMatch(/nothing recorded for petstore:/);
    // bigstore, recorded as failed ("Recovery Failed" sent), is not what fails the delivery.
    expect((error as Error).message).not.toMatch(/bigstore/);
    expect(w.bus.details('Recovery Failed')).toContainEqual(
      expect.objectContaining({ instanceId: 'bigstore', step: 'plan' }),
    );
  });

  it('plans the instances at once, each in a slot of its own with no lost compare-and-swap, when several run in the failed region', async () => {
    const specs: InstanceSpec[] = ['petstore', 'orders', 'carts', 'users'].map((id) => ({ id }));
    const w = recoveryWorld({ instances: specs, capacity: { 'us-east-2': 8 } });
    for (const { id } of specs) {
      await w.seed(id);
      await w.snapshot(id);
    }
    w.clock.advance(5 * MINUTE);
    w.fail('us-east-1');
    // Every plan's first listing of us-east-2's slots waits here until all four plans have
    // reached it: planned one after another, the first would never get past it.
    let waiting = 0;
    let release: () => void = () => undefined;
    const together = new Promise<void>((resolve) => {
      release = resolve;
    });
    w.bucket('us-east-2').inner.hook = async ({ op, key }) => {
      if (op !== 'list' || !key.startsWith('capacity/')) return;
      waiting += 1;
      if (waiting === specs.length) release();
      await together;
    };

    const responses = await respondToOutage(w.deps, w.outage('us-east-1'));

    expect(responses.map((r) => r.instanceId)).toEqual(specs.map((s) => s.id));
    expect(responses.every((r) => r.action === 'recovery' && r.outcome === 'started')).toBe(true);
    const slots = await reservedSlots(w.bucket('us-east-2'), 'us-east-2', 8);
    expect(slots.map((s) => [s.slot, s.instanceId])).toEqual([
      [0, 'petstore'],
      [1, 'orders'],
      [2, 'carts'],
      [3, 'users'],
    ]);
    const conflicts = w
      .bucket('us-east-2')
      .inner.calls.filter(
        (c) => c.op === 'save' && c.outcome === 'conflict' && c.key.startsWith('capacity/'),
      );
    expect(conflicts).toEqual([]);
  });

  it('still recovers the other instances when one instance cannot be planned', async () => {
    const w = await world([{ id: 'bigstore', units: 5 }, PETSTORE]);
    await w.seed('bigstore');
    await w.snapshot('bigstore');
    w.fail('us-east-1');

    const responses = await respondToOutage(w.deps, w.outage('us-east-1'));

    expect(responses.find((r) => r.instanceId === 'petstore')).toMatchObject({
      action: 'recovery',
      outcome: 'started',
      target: 'us-east-2',
    });
  });
});

describe('respondToRecovery', () => {
  it('fails instances back home and returns active-active traffic when their region recovers', async () => {
    const w = await world();
    await recoveredFromUsEast1(w);
    const responses = await respondToRecovery(w.deps, w.recovered('us-east-1'));
    expect(responses).toEqual(ALL_RETURNED_FROM_US_EAST_1);
    expect(w.dns.weightsOf('petstore')['us-east-1']).toBe(100);
    expect(w.store('us-east-1').contents('petstore')).toEqual(
      w.store('us-east-2').contents('petstore'),
    );
  });

  it('returns the region share in non-decreasing steps ending at the even split when the region recovers', async () => {
    const w = await world();
    await recoveredFromUsEast1(w);
    const responses = await respondToRecovery(w.deps, w.recovered('us-east-1'));
    const returned = responses.find((r) => r.instanceId === 'payments');
    if (returned?.action !== 'returned') throw new Error('test: payments not returned');

    expect(returned.steps).toEqual([weights(3, 49, 48), weights(17, 42, 41), weights(34, 33, 33)]);
    const shares = returned.steps.map((s) => s['us-east-1'] ?? -1);
    expect(shares).toEqual([...shares].sort((a, b) => a - b));
    for (const step of returned.steps)
      expect(Object.values(step).reduce((a, b) => a + b, 0)).toBe(100);
    expect(w.dns.appliedFor('payments').slice(-3)).toEqual(returned.steps);
    // Each step was watched before the next.
    expect(w.instances.count('health', 'us-east-1')).toBeGreaterThanOrEqual(3);
  });

  it('keeps another region at 0 in every step when it is still drained', async () => {
    const w = await world([PAYMENTS]);
    w.fail('us-east-2');
    await respondToOutage(w.deps, w.outage('us-east-2'));
    w.fail('us-east-1');
    await respondToOutage(w.deps, w.outage('us-east-1', 'delivery-b'));
    w.heal('us-east-1');

    const [response] = await respondToRecovery(w.deps, w.recovered('us-east-1'));

    expect(response).toEqual({
      instanceId: 'payments',
      action: 'returned',
      steps: [weights(5, 0, 95), weights(25, 0, 75), weights(50, 0, 50)],
    });
  });

  it('does nothing for an active region when it already serves', async () => {
    const w = await world([PAYMENTS]);
    expect(await respondToRecovery(w.deps, w.recovered('us-east-1'))).toEqual([
      { instanceId: 'payments', action: 'none', reason: 'us-east-1 already serves' },
    ]);
    expect(w.dns.appliedFor('payments')).toEqual([]);
  });

  it('drains the region again and reports why when it regresses while its share comes back', async () => {
    const w = await world([PAYMENTS]);
    w.fail('us-east-1');
    await respondToOutage(w.deps, w.outage('us-east-1'));
    w.heal('us-east-1');
    w.instances.regressAfter('us-east-1', 1);

    const [response] = await respondToRecovery(w.deps, w.recovered('us-east-1'));

    expect(response).toMatchObject({ instanceId: 'payments', action: 'none' });
    expect(response && 'reason' in response ? response.reason : '').toMatch(/drained again/);
    expect(w.dns.appliedFor('payments')).toEqual([
      weights(0, 50, 50),
      weights(3, 49, 48),
      weights(17, 42, 41),
      weights(0, 50, 50),
    ]);
    expect(w.dns.weightsOf('payments')).toEqual(weights(0, 50, 50));
  });

  it('reports the failback as failed with its reason when it rolled back', async () => {
    const w = await world([PETSTORE]);
    await recoveredFromUsEast1(w);
    // Verify sees home healthy once, then home regresses at the first canary step.
    w.instances.regressAfter('us-east-1', 1);
    const [response] = await respondToRecovery(w.deps, w.recovered('us-east-1'));
    expect(response).toMatchObject({
      instanceId: 'petstore',
      action: 'failback',
      outcome: 'started',
      runId: 'petstore-g2',
      status: 'failed',
      reason: expect.stringMatching(/rolled back to us-east-2/),
    });
    expect(w.dns.weightsOf('petstore')['us-east-2']).toBe(100);
  });

  it('reports a duplicate when another delivery finds the failback running', async () => {
    const w = await world([PETSTORE]);
    await recoveredFromUsEast1(w);
    w.instances.regressAfter('us-east-1', 1);
    await respondToRecovery(w.deps, w.recovered('us-east-1', 'recovered-a'));
    expect(await respondToRecovery(w.deps, w.recovered('us-east-1', 'recovered-b'))).toEqual([
      { instanceId: 'petstore', action: 'failback', outcome: 'duplicate', runId: 'petstore-g2' },
    ]);
  });

  // A regression of one active-active instance's region must not stop the loop.
  it('still fails the other instances back when an active-active instance regresses', async () => {
    const w = await world([PAYMENTS, PETSTORE]);
    await recoveredFromUsEast1(w);
    // payments' first return step sees us-east-1 fail; petstore's own checks are fine.
    w.instances.script = ({ instanceId, region }) =>
      instanceId === 'payments' && region === 'us-east-1'
        ? { ok: false, error: 'HTTP 503' }
        : undefined;

    const responses = await respondToRecovery(w.deps, w.recovered('us-east-1'));

    expect(responses.find((r) => r.instanceId === 'petstore')).toMatchObject({
      action: 'failback',
      status: 'completed',
    });
  });
});

describe('requestFailbacks', () => {
  it('publishes one "Failback Requested" per instance, each naming the delivery as claimant', async () => {
    const w = await world();
    await recoveredFromUsEast1(w);
    const before = w.bus.events.length;
    const requests = await requestFailbacks(w.deps, w.recovered('us-east-1', 'recovered-a'));
    const published = w.bus.events.slice(before);
    expect(published.map((e) => e.detailType)).toEqual(Array(4).fill('Failback Requested'));
    expect(published.map((e) => e.detail)).toEqual(requests);
    expect(requests.map((r) => r.instanceId)).toEqual(['petstore', 'orders', 'payments', 'ledger']);
    for (const request of requests)
      expect(request).toMatchObject({ region: 'us-east-1', claimant: 'recovered-a' });
    // Publishing the requests starts nothing: no failback run exists yet.
    expect(w.dns.weightsOf('petstore')['us-east-1']).toBe(0);
  });

  it('fails every instance back, one request at a time, as respondToRecovery does in one call', async () => {
    const w = await world();
    await recoveredFromUsEast1(w);
    const requests = await requestFailbacks(w.deps, w.recovered('us-east-1'));
    const responses = [];
    for (const request of requests) responses.push(await respondToFailbackRequest(w.deps, request));
    expect(responses).toEqual(ALL_RETURNED_FROM_US_EAST_1);
    expect(w.dns.weightsOf('petstore')['us-east-1']).toBe(100);
  });

  it('resumes its own run when the same request is delivered again', async () => {
    const w = await world([PETSTORE]);
    await recoveredFromUsEast1(w);
    const [request] = await requestFailbacks(w.deps, w.recovered('us-east-1'));
    if (!request) throw new Error('test: no request');
    await respondToFailbackRequest(w.deps, request);
    expect(await respondToFailbackRequest(w.deps, request)).toMatchObject({
      instanceId: 'petstore',
      action: 'failback',
      runId: 'petstore-g2',
      status: 'completed',
    });
  });

  it('answers "not in the config" for an instance the config no longer has', async () => {
    const w = await world([PETSTORE]);
    expect(
      await respondToFailbackRequest(w.deps, {
        instanceId: 'retired',
        region: 'us-east-1',
        recoveredAt: '2026-11-25T07:00:00.000Z',
        claimant: 'recovered-a',
      }),
    ).toEqual({ instanceId: 'retired', action: 'none', reason: 'not in the config' });
  });
});
