import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { InstanceRuntime } from '../../local/instance-runtime.ts';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { Route53Dns } from '../../shared/adapters/route53-dns.ts';
import { instanceStore, recoveryDeps, snapshotJob } from '../../shared/composition.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { dnsSpecFor, type RecoveryDeps } from '../../shared/domain/recovery/run-store.ts';
import { activeActiveWeights, homeWeights } from '../../shared/domain/recovery/weights.ts';
import { runSnapshots } from '../../shared/domain/snapshot/run.ts';
import { createMotoWorld, type MotoWorld } from './moto.ts';
import { REGIONS } from './regions.ts';

/** Where the recovery functions run in these tests. */
export const HERE = 'us-west-2';

/** A multi-region world with a real instance runtime per (instance, region) and DNS pre-created. */
export interface RecoveryWorld {
  world: MotoWorld;
  config: LifeboatConfig;
  deps: RecoveryDeps;
  route53: Route53Client;
  runtime(instanceId: string, region: string): InstanceRuntime;
  /** A real outage of us-east-1: its S3 path closes and its instances stop answering. */
  failHome(): Promise<void>;
  /** us-east-1 answers again (its data intact: a partition that healed). */
  restoreHome(): Promise<void>;
  close(): Promise<void>;
}

/** Options of the world: which instances, and overrides of region capacity. */
export interface RecoveryWorldOptions {
  instances: string[];
  capacity?: Record<string, number>;
  /** Instances that run active-active in us-east-1 and us-west-2. */
  critical?: string[];
}

/**
 * Builds the world: every instance homed in us-east-1 (replicas us-east-1, us-east-2,
 * us-west-2), seeded, snapshotted five minutes ago, with its weighted records pre-created.
 */
export async function createRecoveryWorld(options: RecoveryWorldOptions): Promise<RecoveryWorld> {
  const world = await createMotoWorld();
  const prefix = world.config.naming.bucketPrefix;
  const route53 = new Route53Client({ region: 'us-east-1', endpoint: world.endpoint });
  const zone = await route53.send(
    new CreateHostedZoneCommand({ Name: `${prefix}.lifeboat.test`, CallerReference: prefix }),
  );
  const hostedZoneId = (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '');
  const runtimes = new Map<string, InstanceRuntime>();
  const raw = JSON.parse(JSON.stringify(world.config));
  raw.failback = { canaryPercents: [10, 50, 100], stepSeconds: 0, healthChecksPerStep: 1 };
  raw.instances = [];
  for (const id of options.instances) {
    const endpoints: Record<string, { url: string }> = {};
    for (const region of REGIONS) {
      const runtime = new InstanceRuntime({
        instanceId: id,
        region,
        zones: [`${region}a`],
        store: instanceStore(world.config, region),
      });
      await runtime.start();
      runtimes.set(`${id}/${region}`, runtime);
      endpoints[region] = { url: Object.values(runtime.urls())[0] as string };
    }
    const critical = options.critical?.includes(id) ?? false;
    raw.instances.push({
      id,
      homeRegion: 'us-east-1',
      replicaRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
      ...(critical ? { critical: true, activeRegions: ['us-east-1', 'us-west-2'] } : {}),
      dns: { hostedZoneId, recordName: `${id}.${prefix}.lifeboat.test`, ttl: 30 },
      endpoints,
    });
  }
  for (const region of raw.regions)
    region.capacity = options.capacity?.[region.name] ?? region.capacity;
  const config = parseConfig(raw, 'recovery world');
  const deps: RecoveryDeps = {
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
      // Taken five minutes ago; outages in these tests start 90 s ago: RPO is 210 s.
      triggerTime: new Date(Date.now() - 300_000),
      force: true,
      bus: { publish: async () => undefined },
      clock: systemClock,
    });
    const spec = dnsSpecFor(instance);
    const regions = Object.keys(spec.targets);
    const initial = instance.critical
      ? Object.fromEntries(
          regions.map((r) => [
            r,
            activeActiveWeights(instance.activeRegions ?? [], new Set())[r] ?? 0,
          ]),
        )
      : homeWeights(regions, 'us-east-1');
    await deps.dns.applyWeights(spec, initial);
  }
  const homeRuntimes = () =>
    [...runtimes].filter(([key]) => key.endsWith('/us-east-1')).map(([, r]) => r);
  return {
    world,
    config,
    deps,
    route53,
    runtime: (instanceId, region) => {
      const runtime = runtimes.get(`${instanceId}/${region}`);
      if (!runtime) throw new Error(`no runtime for ${instanceId} in ${region}`);
      return runtime;
    },
    failHome: async () => {
      await world.proxies.get('us-east-1')?.down();
      for (const runtime of homeRuntimes()) await runtime.stopZone('us-east-1a');
    },
    restoreHome: async () => {
      await world.proxies.get('us-east-1')?.up();
      for (const runtime of homeRuntimes()) await runtime.startZone('us-east-1a');
    },
    close: async () => {
      for (const runtime of runtimes.values()) await runtime.stop();
      await world.close();
    },
  };
}

/** A "Region Outage Confirmed" envelope for us-east-1, as one detector's delivery. */
export function outageEvent(deliveryId: string) {
  const now = new Date();
  return {
    version: '0',
    id: deliveryId,
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
