import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlanRecoveryHandler } from '../../functions/plan-recovery/handler.ts';
import { EventPump } from '../../local/event-pump.ts';
import { eventBus } from '../../shared/composition.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import {
  driveRecovery,
  runRecoveryStep,
  startRecovery,
} from '../../shared/domain/recovery/recovery-run.ts';
import type { OutageResponse } from '../../shared/domain/recovery/respond.ts';
import { dnsSpecFor, loadRun, type RecoveryDeps } from '../../shared/domain/recovery/run-store.ts';
import { buildStepHandler } from '../../shared/runtime/recovery-handler.ts';
import { subscribe } from '../support/bus.ts';
import {
  createRecoveryWorld,
  HERE,
  outageEvent,
  type RecoveryWorld,
} from '../worlds/moto-recovery.ts';

const context = { functionName: 'recovery', awsRequestId: 'test' } as Context;

let rw: RecoveryWorld;
let world: RecoveryWorld['world'];
let config: LifeboatConfig;
let deps: RecoveryDeps;

async function setUp(instances: string[], capacity: Record<string, number> = {}) {
  rw = await createRecoveryWorld({ instances, capacity });
  ({ world, config, deps } = rw);
}

const failHomeRegion = () => rw.failHome();

afterEach(async () => {
  await rw?.close();
});

describe('the recovery chain, event by event through EventBridge', () => {
  let pump: EventPump;
  beforeEach(async () => {
    await setUp(['petstore']);
    pump = new EventPump(world.endpoint, `${config.naming.bucketPrefix}-chain`);
    const bus = config.naming.eventBusName;
    const getDeps = () => deps;
    const steps: [string, string, ReturnType<typeof buildStepHandler>][] = [
      ['restore', 'Recovery Planned', buildStepHandler('restoreInstance', getDeps)],
      ['verify', 'Instance Restored', buildStepHandler('verifyInstance', getDeps)],
      ['shift', 'Instance Verified', buildStepHandler('shiftTraffic', getDeps)],
    ];
    const plan = buildPlanRecoveryHandler(getDeps);
    await pump.subscribe({
      name: 'plan',
      region: HERE,
      bus,
      pattern: { source: ['lifeboat'], 'detail-type': ['Region Outage Confirmed'] },
      handler: (event) => plan(event, context),
    });
    for (const [name, detailType, handler] of steps) {
      await pump.subscribe({
        name,
        region: HERE,
        bus,
        pattern: { source: ['lifeboat'], 'detail-type': [detailType] },
        handler: (event) => handler(event, context),
      });
    }
  });
  afterEach(async () => {
    await pump?.close();
  });

  it('restores into the nearest healthy region, verifies it and moves the weights there', async () => {
    const completed = await subscribe(config, HERE, ['Recovery Completed', 'Recovery Failed']);
    await failHomeRegion();

    await eventBus(config, HERE).publish([
      { detailType: 'Region Outage Confirmed', detail: outageEvent('unused').detail },
    ]);
    await pump.drain();

    expect(pump.failures).toEqual([]);
    const events = await completed.received();
    expect(events.map((e) => e['detail-type'])).toEqual(['Recovery Completed']);
    const detail = events[0]?.detail as {
      target: string;
      metrics: { rtoFromConfirmedSeconds: number; rpoSeconds: number };
    };
    expect(detail.target).toBe('us-east-2');
    expect(detail.metrics.rtoFromConfirmedSeconds).toBeGreaterThanOrEqual(0);
    expect(detail.metrics.rpoSeconds).toBeGreaterThan(200);
    expect(detail.metrics.rpoSeconds).toBeLessThan(230);
    const instance = config.instances[0];
    if (!instance) throw new Error('no instance');
    expect(await deps.dns.readWeights(dnsSpecFor(instance))).toEqual({
      'us-east-1': 0,
      'us-east-2': 100,
      'us-west-2': 0,
      'eu-west-1': 0,
    });
    const health = await deps.instances.health('petstore', 'us-east-2');
    const run = await loadRun(deps, 'petstore-g1', ['us-east-2', 'us-west-2', 'eu-west-1']);
    expect(health.configDigest).toBe(run?.snapshot?.configDigest);
  });

  it('starts one run when several detectors confirm the same outage', async () => {
    await failHomeRegion();
    const plan = buildPlanRecoveryHandler(() => deps);

    const first = await plan(outageEvent('from-us-west-2'), context);
    const second = await plan(outageEvent('from-eu-west-1'), context);
    const retried = await plan(outageEvent('from-us-west-2'), context);

    expect(first.instances[0]).toMatchObject({ outcome: 'started', runId: 'petstore-g1' });
    expect(second.instances[0]).toMatchObject({ outcome: 'duplicate', runId: 'petstore-g1' });
    expect(retried.instances[0]).toMatchObject({ outcome: 'resumed', runId: 'petstore-g1' });
  });
});

describe('recovery claims and resumption', () => {
  beforeEach(async () => {
    await setUp(['petstore']);
  });

  it('lets exactly one of two concurrent claimants start the run', async () => {
    await failHomeRegion();
    const instance = config.instances[0];
    if (!instance) throw new Error('no instance');
    const incident = { incidentId: 'x' };

    const outcomes = await Promise.all(
      ['claimant-a', 'claimant-b', 'claimant-c'].map((claimant) =>
        startRecovery(deps, { instance, failedRegion: 'us-east-1', claimant, incident }),
      ),
    );

    expect(outcomes.filter((o) => o.outcome === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(2);
  });

  it('resumes a run to completion after a crash after each step', async () => {
    await failHomeRegion();
    const instance = config.instances[0];
    if (!instance) throw new Error('no instance');
    const started = await startRecovery(deps, {
      instance,
      failedRegion: 'us-east-1',
      claimant: 'c',
      incident: { confirmedAt: new Date().toISOString() },
    });
    if (started.outcome !== 'started') throw new Error(`unexpected ${started.outcome}`);
    const regions = started.run.claimSet;

    // Each step runs in its own "invocation" that dies right after; the next picks up from storage.
    for (const step of ['plan', 'restore', 'verify'] as const) {
      await runRecoveryStep(deps, started.run.runId, step, regions);
      const stored = await loadRun(deps, started.run.runId, regions);
      expect(stored?.steps[step]?.status).toBe('done');
    }
    const stored = await loadRun(deps, started.run.runId, regions);
    if (!stored) throw new Error('run not stored');
    const finished = await driveRecovery(deps, stored);

    expect(finished.status).toBe('completed');
    expect(finished.steps.restore?.attempts).toBe(1);
    expect(finished.target).toBe('us-east-2');
  });
});

describe('capacity under competition', () => {
  beforeEach(async () => {
    // us-east-2 has one free slot; two instances from us-east-1 want it.
    await setUp(['petstore', 'orders'], { 'us-east-2': 1 });
  });

  it('gives the last slot to one instance and sends the other to the next nearest region', async () => {
    await failHomeRegion();
    const plan = buildPlanRecoveryHandler(() => deps);

    const result = await plan(outageEvent('delivery-1'), context);

    const targets = result.instances
      .map((i: OutageResponse) => ('target' in i ? i.target : undefined))
      .sort();
    expect(targets).toEqual(['us-east-2', 'us-west-2']);
  });
});
