import { parseConfig } from '../../shared/config/load.ts';
import type { InstanceConfig, LifeboatConfig } from '../../shared/config/schema.ts';
import { driveRecovery, startRecovery } from '../../shared/domain/recovery/recovery-run.ts';
import {
  dnsSpecFor,
  type RecoveryDeps,
  type RecoveryRun,
} from '../../shared/domain/recovery/run-store.ts';
import { activeActiveWeights, homeWeights } from '../../shared/domain/recovery/weights.ts';
import { snapshotIdFor } from '../../shared/domain/snapshot/format.ts';
import { type SnapshotResult, takeSnapshot } from '../../shared/domain/snapshot/take-snapshot.ts';
import type { OutageConfirmed, RegionRecovered } from '../../shared/schemas/recovery-events.ts';
import { FakeClock, MINUTE } from '../fakes/clock.ts';
import { RecordingEventBus } from '../fakes/event-bus.ts';
import { replicaSet, seedInstance } from '../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../fakes/instance-store.ts';
import { ControlBucket } from '../fakes/recovery/control-bucket.ts';
import { FakeDns } from '../fakes/recovery/dns.ts';
import { FakeInstanceControl } from '../fakes/recovery/instance-control.ts';
import { REGIONS, type Region, regionEntries } from './regions.ts';

/** An instance of the world, with defaults for everything a test does not care about. */
export interface InstanceSpec {
  id: string;
  /** Default us-east-1. */
  home?: Region;
  units?: number;
  /** Default: us-east-1, us-east-2, us-west-2. */
  replicas?: Region[];
  /** Active-active in these regions (makes the instance critical). */
  activeRegions?: Region[];
  failoverOrder?: Region[];
  /** Default: every region. */
  endpointRegions?: Region[];
  /** The approval gate (default: automatic). */
  recovery?: {
    approval?: 'automatic' | 'required';
    approvalTimeout?: { seconds: number; onTimeout: 'proceed' | 'wait' };
  };
}

/** What a world is built from. */
export interface WorldOptions {
  instances?: InstanceSpec[];
  /** Slots per region; default 4. */
  capacity?: Partial<Record<Region, number>>;
  failback?: { canaryPercents?: number[]; stepSeconds?: number; healthChecksPerStep?: number };
  stepAttempts?: number;
  verifyAttempts?: number;
  /** The region this copy of the control plane runs in; default us-west-2. */
  here?: Region;
}

/** A validated config for the world's four regions and the given instances. */
export function worldConfig(options: WorldOptions = {}): LifeboatConfig {
  const instances = options.instances ?? [{ id: 'petstore' }];
  return parseConfig(
    {
      version: 1,
      regions: regionEntries({ capacity: (name) => options.capacity?.[name] ?? 4 }),
      failback: {
        canaryPercents: [10, 50, 100],
        stepSeconds: 30,
        healthChecksPerStep: 1,
        ...options.failback,
      },
      instances: instances.map((i) => ({
        id: i.id,
        homeRegion: i.home ?? 'us-east-1',
        replicaRegions: i.replicas ?? ['us-east-1', 'us-east-2', 'us-west-2'],
        ...(i.units ? { capacityUnits: i.units } : {}),
        ...(i.failoverOrder ? { failoverOrder: i.failoverOrder } : {}),
        ...(i.activeRegions ? { critical: true, activeRegions: i.activeRegions } : {}),
        ...(i.recovery ? { recovery: i.recovery } : {}),
        dns: { hostedZoneId: 'Z0TEST', recordName: `${i.id}.api.example.com` },
        endpoints: Object.fromEntries(
          (i.endpointRegions ?? REGIONS).map((r) => [
            r,
            { url: `https://${i.id}.${r}.example.com` },
          ]),
        ),
      })),
    },
    'recovery test world',
  );
}

/**
 * Everything the recovery chain touches, in memory: a control bucket, a backup bucket and an
 * instance store per region, Route 53, the instances, the bus, a clock that `sleep` advances.
 * Every instance's DNS records are pre-created with all traffic at home (active-active ones
 * split evenly).
 */
export function recoveryWorld(options: WorldOptions = {}) {
  const config = worldConfig(options);
  const clock = new FakeClock('2026-11-25T06:00:00Z');
  const buckets = new Map(REGIONS.map((r) => [r as string, new ControlBucket(r)]));
  const { vault } = replicaSet(REGIONS, clock);
  const stores = new Map(
    REGIONS.map((r) => [r as string, new InMemoryInstanceStore({ region: r })]),
  );
  const store = (region: string): InMemoryInstanceStore => {
    const found = stores.get(region);
    if (!found) throw new Error(`test: no instance store in ${region}`);
    return found;
  };
  const bucket = (region: string): ControlBucket => {
    const found = buckets.get(region);
    if (!found) throw new Error(`test: no control bucket in ${region}`);
    return found;
  };
  const dns = new FakeDns();
  const instances = new FakeInstanceControl(store);
  const bus = new RecordingEventBus();
  const unhealthy = new Set<string>();
  const sleeps: number[] = [];
  const deps: RecoveryDeps = {
    config,
    region: options.here ?? 'us-west-2',
    clock,
    documents: bucket,
    deleteControlKey: (region, key) => bucket(region).delete(key),
    vault,
    instanceStore: store,
    dns,
    instances,
    bus,
    unhealthyRegions: async () => new Set(unhealthy),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    },
    stepAttempts: options.stepAttempts ?? 3,
    verifyAttempts: options.verifyAttempts ?? 3,
  };
  for (const instance of config.instances) {
    const spec = dnsSpecFor(instance);
    const regions = Object.keys(spec.targets);
    const shares = instance.activeRegions
      ? activeActiveWeights(instance.activeRegions, new Set())
      : homeWeights(regions, instance.homeRegion);
    dns.create(spec, Object.fromEntries(regions.map((r) => [r, shares[r] ?? 0])));
  }

  const instance = (id = 'petstore'): InstanceConfig => {
    const found = config.instances.find((i) => i.id === id);
    if (!found) throw new Error(`test: no instance ${id}`);
    return found;
  };

  /** Fills the instance's home store with config objects and has home serve them. */
  const seed = async (id = 'petstore', count = 6, seedValue = 1): Promise<string[]> => {
    const home = instance(id).homeRegion;
    const keys = seedInstance(store(home), id, { count, size: 300, seed: seedValue });
    await instances.activate(id, home);
    instances.calls.length = 0;
    return keys;
  };

  /** A committed snapshot of the instance's home store, taken now, in every replica. */
  const snapshot = async (id = 'petstore'): Promise<SnapshotResult> => {
    const i = instance(id);
    const result = await takeSnapshot({
      instanceId: id,
      sourceRegion: i.homeRegion,
      source: store(i.homeRegion),
      replicas: i.replicaRegions.map((region) => ({ region, vault: vault(region) })),
      quorum: 2,
      snapshotId: snapshotIdFor(clock.peek()),
      clock,
    });
    if (!result.committed) throw new Error(`test: snapshot of ${id} did not commit`);
    return result;
  };

  /** A real outage of a region: its buckets, store and instances stop answering. */
  const fail = (region: string): void => {
    bucket(region).unreachable = true;
    vault(region).unreachable = true;
    store(region).unreachable = true;
    instances.down.add(region);
    unhealthy.add(region);
  };

  /** The region answers again with its data intact (a partition that healed). */
  const heal = (region: string): void => {
    bucket(region).unreachable = false;
    vault(region).unreachable = false;
    store(region).unreachable = false;
    instances.down.delete(region);
    unhealthy.delete(region);
  };

  /** "Region Outage Confirmed" as one detector's delivery: started a minute ago, confirmed now. */
  const outage = (region: string, deliveryId = 'delivery-a'): OutageConfirmed => ({
    deliveryId,
    region,
    incidentId: `${region}-incident-1`,
    outageStartedAt: new Date(clock.peek().getTime() - MINUTE).toISOString(),
    confirmedAt: clock.peek().toISOString(),
  });

  /** "Region Recovered" as one detector's delivery. */
  const recovered = (region: string, deliveryId = 'recovered-a'): RegionRecovered => ({
    deliveryId,
    region,
    recoveredAt: clock.peek().toISOString(),
  });

  /**
   * The usual start of a failback test: the instance is seeded and snapshotted, its home fails
   * five minutes later, and a recovery runs to completion.
   */
  const recover = async (id = 'petstore', claimant = 'delivery-a'): Promise<RecoveryRun> => {
    await seed(id);
    await snapshot(id);
    clock.advance(5 * MINUTE);
    const home = instance(id).homeRegion;
    fail(home);
    const event = outage(home, claimant);
    const started = await startRecovery(deps, {
      instance: instance(id),
      failedRegion: home,
      claimant,
      incident: {
        incidentId: event.incidentId,
        outageStartedAt: event.outageStartedAt,
        confirmedAt: event.confirmedAt,
      },
    });
    if (started.outcome !== 'started') throw new Error(`test: recovery ${started.outcome}`);
    return driveRecovery(deps, started.run);
  };

  return {
    config,
    clock,
    deps,
    bucket,
    vault,
    store,
    dns,
    instances,
    bus,
    unhealthy,
    sleeps,
    instance,
    seed,
    snapshot,
    fail,
    heal,
    outage,
    recovered,
    recover,
  };
}

/** A world as `recoveryWorld` builds it. */
export type RecoveryWorld = ReturnType<typeof recoveryWorld>;
