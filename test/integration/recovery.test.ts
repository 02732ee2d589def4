import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlanRecoveryHandler } from '../../functions/plan-recovery/handler.ts';
import { EventPump } from '../../local/event-pump.ts';
import { InstanceRuntime } from '../../local/instance-runtime.ts';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { Route53Dns } from '../../shared/adapters/route53-dns.ts';
import { eventBus, instanceStore, recoveryDeps, snapshotJob } from '../../shared/composition.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import {
  driveRecovery,
  runRecoveryStep,
  startRecovery,
} from '../../shared/domain/recovery/recovery-run.ts';
import type { OutageResponse } from '../../shared/domain/recovery/respond.ts';
import { dnsSpecFor, loadRun, type RecoveryDeps } from '../../shared/domain/recovery/run-store.ts';
import { homeWeights } from '../../shared/domain/recovery/weights.ts';
import { runSnapshots } from '../../shared/domain/snapshot/run.ts';
import { buildStepHandler } from '../../shared/runtime/recovery-handler.ts';
import { subscribe } from '../support/bus.ts';
import { createTestWorld, TEST_REGIONS, type TestWorld } from '../support/world.ts';

const context = { functionName: 'recovery', awsRequestId: 'test' } as Context;
const HERE = 'us-west-2';

let world: TestWorld;
let config: LifeboatConfig;
let runtimes: Map<string, InstanceRuntime>;
let deps: RecoveryDeps;

function instanceConfig(
  id: string,
  endpoints: Record<string, string>,
  hostedZoneId: string,
  zoneName: string,
) {
  return {
    id,
    homeRegion: 'us-east-1',
    replicaRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
    dns: { hostedZoneId, recordName: `${id}.${zoneName}`, ttl: 30 },
    endpoints: Object.fromEntries(
      Object.entries(endpoints).map(([region, url]) => [region, { url }]),
    ),
  };
}

/** A world with a real runtime per region for each instance, records pre-created, one snapshot. */
async function setUp(instanceIds: string[], capacity: Record<string, number> = {}) {
  world = await createTestWorld();
  const route53 = new Route53Client({ region: 'us-east-1', endpoint: world.endpoint });
  const zone = await route53.send(
    new CreateHostedZoneCommand({
      Name: `${world.config.naming.bucketPrefix}.lifeboat.test`,
      CallerReference: world.config.naming.bucketPrefix,
    }),
  );
  const hostedZoneId = (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '');
  runtimes = new Map();
  const endpoints: Record<string, Record<string, string>> = {};
  for (const id of instanceIds) {
    endpoints[id] = {};
    for (const region of TEST_REGIONS) {
      const runtime = new InstanceRuntime({
        instanceId: id,
        region,
        zones: [`${region}a`],
        store: instanceStore(world.config, region),
      });
      await runtime.start();
      runtimes.set(`${id}/${region}`, runtime);
      endpoints[id][region] = Object.values(runtime.urls())[0] as string;
    }
  }
  const raw = JSON.parse(JSON.stringify(world.config));
  raw.instances = instanceIds.map((id) =>
    instanceConfig(
      id,
      endpoints[id] ?? {},
      hostedZoneId,
      `${world.config.naming.bucketPrefix}.lifeboat.test`,
    ),
  );
  for (const region of raw.regions) region.capacity = capacity[region.name] ?? region.capacity;
  config = parseConfig(raw, 'recovery test');
  deps = {
    ...recoveryDeps(config, HERE),
    dns: new Route53Dns(route53, { baseDelayMs: 10, pollMs: 10 }),
    sleep: async () => undefined,
  };
  for (const instance of config.instances) {
    await seedInstance(
      instanceStore(config, 'us-east-1'),
      instance.id,
      sampleInstanceObjects({ apis: 5 }),
    );
    await runtimes.get(`${instance.id}/us-east-1`)?.reload();
    await runSnapshots({
      jobs: [snapshotJob(config, instance)],
      // Taken five minutes ago; the outage starts 90 s ago: RPO is 210 s.
      triggerTime: new Date(Date.now() - 300_000),
      force: true,
      bus: { publish: async () => undefined },
      clock: systemClock,
    });
    const spec = dnsSpecFor(instance);
    await deps.dns.applyWeights(spec, homeWeights(Object.keys(spec.targets), 'us-east-1'));
  }
}

/** A real region outage: us-east-1's S3 path and its instances stop answering. */
async function failHomeRegion() {
  await world.proxies.get('us-east-1')?.down();
  for (const [key, runtime] of runtimes) if (key.endsWith('/us-east-1')) await runtime.stop();
}

function outageEvent(id: string) {
  const now = new Date();
  return {
    version: '0',
    id,
    'detail-type': 'Region Outage Confirmed',
    source: 'lifeboat',
    account: '123456789012',
    time: now.toISOString(),
    region: HERE,
    resources: [],
    detail: {
      eventId: 'us-east-1-20261125T060000Z:confirmed',
      region: 'us-east-1',
      incidentId: 'us-east-1-20261125T060000Z',
      outageStartedAt: new Date(now.getTime() - 90_000).toISOString(),
      confirmedAt: now.toISOString(),
    },
  };
}

afterEach(async () => {
  for (const runtime of runtimes?.values() ?? []) await runtime.stop();
  await world?.close();
});

describe('the recovery chain, event by event through EventBridge', () => {
  let pump: EventPump;
  beforeEach(async () => {
    await setUp(['petstore']);
    pump = new EventPump(world.endpoint, `${config.naming.bucketPrefix}-chain`);
    const bus = config.naming.eventBusName;
    const getDeps = () => deps;
    const steps: [string, string, ReturnType<typeof buildStepHandler>][] = [
      ['restore', 'Recovery Planned', buildStepHandler('restore', 'Recovery Planned', getDeps)],
      ['verify', 'Instance Restored', buildStepHandler('verify', 'Instance Restored', getDeps)],
      ['shift', 'Instance Verified', buildStepHandler('shift', 'Instance Verified', getDeps)],
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
