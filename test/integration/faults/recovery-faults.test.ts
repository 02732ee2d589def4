import { afterAll, describe, expect, it } from 'vitest';
import type { ProxiedCall } from '../../../local/fault-proxy.ts';
import { InstanceRuntime } from '../../../local/instance-runtime.ts';
import { sampleInstanceObjects, seedInstance } from '../../../local/sample-instance.ts';
import { Route53Dns } from '../../../shared/adapters/route53-dns.ts';
import {
  controlDocuments,
  controlStore,
  instanceStore,
  snapshotJob,
} from '../../../shared/composition.ts';
import type { InstanceConfig, LifeboatConfig } from '../../../shared/config/schema.ts';
import { regionStateKey } from '../../../shared/domain/detection/detect.ts';
import { systemClock } from '../../../shared/domain/ports.ts';
import { reservedSlots } from '../../../shared/domain/recovery/capacity.ts';
import {
  driveRecovery,
  RECOVERY_TABLE,
  startRecovery,
} from '../../../shared/domain/recovery/recovery-run.ts';
import {
  dnsSpecFor,
  driveRun,
  latestGeneration,
  loadRun,
  type RecoveryDeps,
} from '../../../shared/domain/recovery/run-store.ts';
import { homeWeights } from '../../../shared/domain/recovery/weights.ts';
import { runSnapshots } from '../../../shared/domain/snapshot/run.ts';
import { readInstance } from '../../support/s3.ts';
import { createFaultWorld, HERE } from '../../worlds/faults.ts';
import { REGIONS } from '../../worlds/regions.ts';
import { expectEveryCaseHit, type FaultCase, faultCases, planOf } from './fault-cases.ts';

/**
 * Every S3, Route 53 and EventBridge call of a recovery out of us-east-1 (claim, plan, restore,
 * verify, shift, run records, events), broken one at a time. After each, the run has completed,
 * or stopped failed-with-reason (or before its record), and picking it up again with the fault
 * gone (a redelivered event, or `lifeboat resume`) completes it: the target serves exactly the
 * snapshot, DNS sends all traffic there, there is one run, and no capacity slot is leaked.
 */

const world = await createFaultWorld();
const runtimes: InstanceRuntime[] = [];
afterAll(async () => {
  for (const runtime of runtimes) await runtime.stop();
  await world.close();
});

let caseNumber = 0;
const direct = world.directConfigFor([]);
const dnsDirect = new Route53Dns(world.directRoute53, { baseDelayMs: 10, pollMs: 10 });

/**
 * A fresh instance homed in us-east-1: seeded, snapshotted five minutes ago (straight on moto),
 * DNS all on us-east-1, a runtime waiting in every other region.
 */
async function prepare() {
  caseNumber += 1;
  const id = `r${caseNumber}`;
  const endpoints: Record<string, { url: string }> = {
    'us-east-1': { url: 'http://127.0.0.1:9/' },
  };
  for (const region of REGIONS.filter((r) => r !== 'us-east-1')) {
    const runtime = new InstanceRuntime({
      instanceId: id,
      region,
      zones: [`${region}a`],
      store: instanceStore(direct, region),
    });
    await runtime.start();
    runtimes.push(runtime);
    endpoints[region] = { url: Object.values(runtime.urls())[0] as string };
  }
  const def = {
    id,
    homeRegion: 'us-east-1',
    replicaRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
    dns: {
      hostedZoneId: world.hostedZoneId,
      recordName: `${id}.${world.prefix}.lifeboat.test`,
      ttl: 30,
    },
    endpoints,
  };
  const config = world.configFor([def]);
  const directConfig = world.directConfigFor([def]);
  const instance = config.instances[0] as InstanceConfig;
  const objects = sampleInstanceObjects({ apis: 1, seed: caseNumber });
  await seedInstance(instanceStore(directConfig, 'us-east-1'), id, objects);
  await runSnapshots({
    jobs: [snapshotJob(directConfig, directConfig.instances[0] as InstanceConfig)],
    triggerTime: new Date(Date.now() - 300_000),
    force: true,
    bus: { publish: async () => undefined },
    clock: systemClock,
  });
  const spec = dnsSpecFor(instance);
  await dnsDirect.applyWeights(spec, homeWeights(Object.keys(spec.targets), 'us-east-1'));
  // Earlier cases' runs keep their slots (no failback here); give the room back.
  for (const region of REGIONS) {
    const store = controlStore(direct, region);
    const held = await store.list('capacity/');
    if (held.length > 0) await store.delete(held.map((b) => b.key));
  }
  return { id, config, directConfig, instance, objects, deps: world.depsFor(config) };
}

const incident = () => ({
  incidentId: 'us-east-1-incident',
  outageStartedAt: new Date(Date.now() - 90_000).toISOString(),
  confirmedAt: new Date().toISOString(),
});

/** One delivery of "Region Outage Confirmed" to this instance, driven to the end in-process. */
async function deliver(deps: RecoveryDeps, instance: InstanceConfig): Promise<string> {
  try {
    const started = await startRecovery(deps, {
      instance,
      failedRegion: 'us-east-1',
      claimant: 'detector-us-west-2',
      incident: incident(),
    });
    if (started.outcome !== 'started' && started.outcome !== 'resumed') return started.outcome;
    return (await driveRecovery(deps, started.run)).status;
  } catch (error) {
    return `threw: ${(error as Error).message}`;
  }
}

/**
 * With the fault gone, does what the system offers for a stopped run: a redelivered event
 * when nothing was recorded, `lifeboat resume --approve` for a failed run, a redelivery of
 * the next step's event for one left running.
 */
async function settle(deps: RecoveryDeps, instance: InstanceConfig, runId: string) {
  const regions = REGIONS.filter((r) => r !== 'us-east-1');
  for (let round = 0; round < 3; round += 1) {
    const run = await loadRun(deps, runId, regions);
    if (run?.status === 'completed') return run;
    if (!run) await deliver(deps, instance);
    else if (run.status === 'failed')
      await driveRun(deps, run, RECOVERY_TABLE, { resume: true }).catch(() => undefined);
    else await driveRecovery(deps, run).catch(() => undefined);
  }
  return loadRun(deps, runId, regions);
}

async function checkRecovered(
  c: { id: string; directConfig: LifeboatConfig; instance: InstanceConfig },
  deps: RecoveryDeps,
  objects: Map<string, Buffer>,
  runId: string,
) {
  const run = await loadRun(deps, runId, REGIONS.slice(1));
  expect(run?.status, `run ${runId}: ${run?.reason ?? ''}`).toBe('completed');
  const target = run?.target as string;
  expect(REGIONS.slice(1)).toContain(target);
  // Exactly one recovery: one generation claimed.
  expect((await latestGeneration(deps, c.id)).generation).toBe(1);
  // The target's instance store holds exactly the snapshot, byte for byte.
  const restored = await readInstance(c.directConfig, target, c.id);
  expect([...restored.keys()].sort()).toEqual([...objects.keys()].sort());
  for (const [key, body] of objects) expect(restored.get(key)?.equals(body), key).toBe(true);
  const health = await deps.instances.health(c.id, target);
  expect(health).toMatchObject({ ok: true, configDigest: run?.snapshot?.configDigest });
  // All traffic on the recovered region.
  const weights = await dnsDirect.readWeights(dnsSpecFor(c.instance));
  expect(weights).toEqual(
    Object.fromEntries(REGIONS.map((r) => [r, r === target ? 100 : 0] as const)),
  );
  // The run holds the slots it recorded, and no other.
  for (const region of REGIONS.slice(1)) {
    const mine = (
      await reservedSlots(world.depsFor(c.directConfig).documents(region), region, 2)
    ).filter((s) => s.runId === runId);
    expect(
      mine.map((s) => s.slot),
      `slots of ${runId} in ${region}`,
    ).toEqual(region === target ? (run?.reservation?.slots ?? []) : []);
  }
}

// The outage: us-east-1's whole network path is closed for the rest of the file, and the
// detector here holds it in outage (what confirmed it), as the recovery functions expect.
await world.regionProxies.get('us-east-1')?.down();
await controlDocuments(direct, HERE).save(
  regionStateKey('us-east-1'),
  { region: 'us-east-1', status: 'outage' },
  undefined,
);

// The clean run, counted.
const counted = await prepare();
world.proxy.setPlan(undefined);
const cleanOutcome = await deliver(counted.deps, counted.instance);
const cleanCalls: readonly ProxiedCall[] = [...world.proxy.calls()];
const cleanCounts = world.proxy.counts();
const cases = faultCases(cleanCounts, ['s3', 'route53', 'eventbridge']);
const hits: { name: string; hit: string; first: string }[] = [];

describe('the recovery path, clean', () => {
  it('completes into us-east-2 and calls S3, Route 53 and EventBridge through the proxy', async () => {
    expect(cleanOutcome).toBe('completed');
    expect(cleanCounts.route53).toBeGreaterThanOrEqual(2);
    expect(cleanCounts.eventbridge).toBe(4);
    expect(cleanCalls.some((c) => c.operation === 'ChangeResourceRecordSets')).toBe(true);
    await checkRecovered(counted, counted.deps, counted.objects, `${counted.id}-g1`);
  });
});

describe('the recovery path under one injected fault', () => {
  it.for(cases)(
    'completes or resumes to the same end: $kind $mode at $service call $index',
    async (c: FaultCase) => {
      const prepared = await prepare();
      const { deps, instance, objects, id } = prepared;
      world.proxy.setPlan(planOf(c));
      const first = await deliver(deps, instance);
      world.proxy.clearFaults();
      const hit = world.proxy.calls().find((call) => call.fault !== undefined);
      hits.push({
        name: `${c.kind} ${c.mode} ${c.service}#${c.index}`,
        hit: hit ? `${hit.operation} ${hit.region} ${hit.path.replace(/\?.*/, '')}` : 'none',
        first,
      });

      // Whatever the fault did, the run ended in a known state: completed, failed with a reason
      // and the step it stopped at, or not (yet) recorded.
      const stopped = await loadRun(deps, `${id}-g1`, REGIONS.slice(1));
      if (stopped?.status === 'failed') {
        expect(stopped.reason).toBeTruthy();
        expect(stopped.failedStep).toBeTruthy();
      }
      await settle(deps, instance, `${id}-g1`);
      await checkRecovered(prepared, deps, objects, `${id}-g1`);
    },
  );
});

describe('the fault suite itself', () => {
  it('hit a call in every case', () => {
    expectEveryCaseHit({ counts: cleanCounts, calls: cleanCalls }, hits);
  });
});
