import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { DeleteObjectsCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import {
  buildDetectOutageHandler,
  detectorDepsFor,
} from '../../functions/detect-outage/handler.ts';
import { buildFailbackHandler } from '../../functions/failback/handler.ts';
import { buildNotifyHandler, notifyDepsFor } from '../../functions/notify/handler.ts';
import { buildPlanRecoveryHandler } from '../../functions/plan-recovery/handler.ts';
import { buildProbeHandler, probeDepsFor } from '../../functions/probe/handler.ts';
import { buildRestoreTestHandler } from '../../functions/restore-test/handler.ts';
import { buildSnapshotHandler, snapshotDepsFor } from '../../functions/snapshot/handler.ts';
import { s3ClientFor } from '../../shared/adapters/aws-clients.ts';
import { Route53Dns } from '../../shared/adapters/route53-dns.ts';
import { instanceStore, recoveryDeps } from '../../shared/composition.ts';
import { parseConfig, regionBuckets } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { DetailType, type FunctionName } from '../../shared/domain/events.ts';
import type { EventBus } from '../../shared/domain/ports.ts';
import type { RecoveryDeps } from '../../shared/domain/recovery/run-store.ts';
import { dnsSpecFor } from '../../shared/domain/recovery/run-store.ts';
import { activeActiveWeights, homeWeights } from '../../shared/domain/recovery/weights.ts';
import { type RestoreTestResult, scratchIdFor } from '../../shared/domain/snapshot/restore-test.ts';
import { LocalWorldError } from '../../shared/errors.ts';
import { buildStepHandler } from '../../shared/runtime/recovery-handler.ts';
import { EventPump } from '../event-pump.ts';
import { InstanceRuntime } from '../instance-runtime.ts';
import { functionInvocation } from '../lambda-concurrency.ts';
import {
  localRules,
  localSchedules,
  type ProvisionedRegion,
  provisionWorld,
} from '../provision.ts';
import { RegionProxy } from '../tcp-proxy.ts';
import { type CrashPlan, type CrashRecord, killingFirstInvocation } from './crash.ts';
import { type DrillInstanceKind, drillKind, lateInstanceStore } from './kinds.ts';
import { type DeliveredEvent, recorderOf, recordingDns, type WeightChange } from './timeline.ts';

const context = { functionName: 'drill', awsRequestId: 'drill' } as Context;

/** Every lifeboat event the drill's timeline records (probe observations are too many). */
export const RECORDED_EVENTS: string[] = Object.values(DetailType).filter(
  (type) => type !== DetailType.HealthObserved && type !== DetailType.FailbackRequested,
);

/** The time scale of a drill: Route 53's 30 s × 3 shrunk so a drill takes well under 2 minutes. */
export const DRILL_DETECTION = {
  intervalSeconds: 0.5,
  failureThreshold: 3,
  recoverySeconds: 3,
  probeTimeoutMs: 400,
};

/** What the drill world needs to know. */
export interface DrillWorldOptions {
  endpoint: string;
  baseConfig: LifeboatConfig;
  regions: number;
  instances: number;
  /** Instance ids that run active-active (critical). */
  critical?: string[];
  seed: number;
  /** What the instances are (default: the object-store reference instance). */
  instanceKind?: DrillInstanceKind;
  /** Overrides every function's concurrency (default: as serverless.yml deploys it). */
  concurrency?: number;
  /** A real crash: the first invocation of this step function is killed mid-step. */
  crash?: CrashPlan;
}

/**
 * A complete local multi-region world: moto behind one TCP proxy per region, a real instance
 * runtime per instance × region × zone, Route 53 records pre-created, and every lifeboat
 * function subscribed through EventBridge rules (SQS targets) and invoked by the pump.
 */
export class DrillWorld {
  readonly proxies = new Map<string, RegionProxy>();
  readonly runtimes = new Map<string, InstanceRuntime>();
  config!: LifeboatConfig;
  recovery!: RecoveryDeps;
  pump!: EventPump;
  /** Every lifeboat event EventBridge delivered to the recorder, in arrival order. */
  readonly delivered: DeliveredEvent[] = [];
  /** Every weight change lifeboat (or the world's setup) applied, as it took effect. */
  readonly weightChanges: WeightChange[] = [];
  /** The region where lifeboat's functions run in this drill (never the failed one). */
  controlRegion = '';
  homeRegion = '';
  /** The control region's notification topic and the queue subscribed to it (local/provision.ts). */
  notifications?: Pick<ProvisionedRegion, 'notificationTopicArn' | 'notificationQueueUrl'>;
  /** The invocation the drill killed (see DrillWorldOptions.crash), once it ran. */
  readonly crashes: CrashRecord[] = [];
  /**
   * The probe schedule's record: rounds run per vantage, ticks skipped because that vantage's
   * previous round was still running (a deployed probe skips them too: its rounds are bounded
   * by time), ticks that waited for the detector (see startSchedules), and rounds that threw.
   */
  readonly probes = {
    rounds: 0,
    skipped: 0,
    waitedForDetector: 0,
    failures: [] as { vantage: string; error: unknown }[],
  };
  private probeTimer: NodeJS.Timeout | undefined;
  /** detectOutage invocations running now. */
  private detecting = 0;
  private readonly probing = new Map<string, Promise<void>>();

  constructor(private readonly options: DrillWorldOptions) {}

  get regionNames(): string[] {
    return this.config.regions.map((r) => r.name);
  }

  async start(): Promise<void> {
    const { baseConfig, endpoint } = this.options;
    const regions = baseConfig.regions.slice(0, this.options.regions);
    const motoPort = Number(new URL(endpoint).port);
    for (const region of regions) {
      const proxy = new RegionProxy(region.name, motoPort);
      await proxy.up();
      this.proxies.set(region.name, proxy);
    }
    const prefix = `drill${this.options.seed}${Date.now().toString(36)}`.slice(0, 24);
    const zoneName = `${prefix}.lifeboat.test`;
    const route53 = new Route53Client({ region: 'us-east-1', endpoint });
    const zone = await route53.send(
      new CreateHostedZoneCommand({ Name: zoneName, CallerReference: prefix }),
    );
    const hostedZoneId = (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '');
    this.homeRegion = regions[0]?.name as string;
    this.controlRegion = regions[regions.length - 1]?.name as string;

    const draft: LifeboatConfig = {
      ...baseConfig,
      naming: { bucketPrefix: prefix, eventBusName: `${prefix}-bus` },
      regions: regions.map((r) => ({ ...r, endpointUrl: this.proxies.get(r.name)?.url })),
      instances: [],
    };
    // API Gateway is account-wide, not per bucket: a drill against a kept endpoint must not meet
    // the APIs of the one before, so that kind's instance ids carry this drill's mark.
    const mark = this.options.instanceKind === 'apigateway' ? `-${prefix.slice(-5)}` : '';
    const ids = Array.from({ length: this.options.instances }, (_, i) =>
      i === 0 ? `petstore${mark}` : `api-${String(i + 1).padStart(2, '0')}${mark}`,
    );
    const instances = [];
    const kind = drillKind(this.options.instanceKind ?? 'object-store');
    for (const id of ids) {
      const endpoints: Record<string, { url: string; zones: Record<string, string> }> = {};
      for (const region of regions) {
        const runtime = new InstanceRuntime({
          instanceId: id,
          region: region.name,
          zones: region.zones,
          store: lateInstanceStore(() => instanceStore(this.config ?? draft, region.name)),
          reloadIntervalMs: kind.reloadIntervalMs,
        });
        await runtime.start();
        this.runtimes.set(`${id}/${region.name}`, runtime);
        const urls = runtime.urls();
        endpoints[region.name] = { url: urls[region.zones[0] as string] as string, zones: urls };
      }
      const critical = this.options.critical?.includes(id) ?? false;
      instances.push({
        id,
        ...kind.instanceFields(
          id,
          regions.map((r) => r.name),
          zoneName,
        ),
        homeRegion: this.homeRegion,
        replicaRegions: regions.slice(0, 3).map((r) => r.name),
        ...(critical
          ? { critical: true, activeRegions: [this.homeRegion, this.controlRegion] }
          : {}),
        snapshot: { schedule: 'rate(1 day)', restoreTest: 'rate(7 days)' },
        dns: { hostedZoneId, recordName: `${id}.${zoneName}`, ttl: 5 },
        endpoints,
      });
    }
    this.config = parseConfig(
      {
        ...JSON.parse(JSON.stringify(draft)),
        detection: { ...DRILL_DETECTION, quorum: Math.min(3, regions.length - 1) },
        failback: { canaryPercents: [10, 50, 100], stepSeconds: 0.6, healthChecksPerStep: 2 },
        instances,
      },
      'drill world',
    );
    const provisioned = await provisionWorld(this.config);
    this.notifications = provisioned.find((r) => r.region === this.controlRegion);
    for (const instance of this.config.instances) {
      await kind.seed(this.config, instance, this.options.seed);
      await this.runtime(instance.id, instance.homeRegion).reload();
    }
    const deps = recoveryDeps(this.config, this.controlRegion);
    this.recovery = {
      ...deps,
      bus: this.kicking(deps.bus),
      dns: recordingDns(new Route53Dns(route53, { baseDelayMs: 20, pollMs: 20 }), (change) =>
        this.weightChanges.push(change),
      ),
      verifyAttempts: 20,
    };
    for (const instance of this.config.instances) {
      const spec = dnsSpecFor(instance);
      const regionsWithEndpoints = Object.keys(spec.targets);
      const weights = instance.critical
        ? Object.fromEntries(
            regionsWithEndpoints.map((r) => [
              r,
              activeActiveWeights(instance.activeRegions ?? [], new Set())[r] ?? 0,
            ]),
          )
        : homeWeights(regionsWithEndpoints, instance.homeRegion);
      await this.recovery.dns.applyWeights(spec, weights);
    }
    await this.subscribeFunctions();
  }

  /**
   * A bus that tells the pump when it has published: EventBridge invokes a target as soon as
   * an event matches, so the pump must not wait for its next idle poll.
   */
  private kicking(bus: EventBus): EventBus {
    return {
      publish: async (events) => {
        try {
          await bus.publish(events);
        } finally {
          this.pump?.kick();
        }
      },
    };
  }

  runtime(instanceId: string, region: string): InstanceRuntime {
    const runtime = this.runtimes.get(`${instanceId}/${region}`);
    if (!runtime) throw new Error(`no runtime for ${instanceId} in ${region}`);
    return runtime;
  }

  /**
   * One EventBridge rule per function on the control region's bus, each with an SQS target the
   * pump drains: the same routing serverless.yml deploys, minus Lambda (which moto cannot invoke).
   */
  private async subscribeFunctions(): Promise<void> {
    const env = { LIFEBOAT_REGION: this.controlRegion };
    const detect = buildDetectOutageHandler(() => {
      const deps = detectorDepsFor(this.config, env);
      return { ...deps, bus: this.kicking(deps.bus) };
    });
    const detector = async (event: unknown, ctx: Context) => {
      this.detecting += 1;
      try {
        return await detect(event, ctx);
      } finally {
        this.detecting -= 1;
      }
    };
    const getDeps = () => this.recovery;
    // Lambda retries an async invocation after 1 and 2 minutes; the drill runs 60× faster.
    this.pump = new EventPump(this.options.endpoint, this.config.naming.bucketPrefix, {
      retryDelayMs: 1000,
    });
    const bus = this.config.naming.eventBusName;
    const built = {
      detectOutage: detector,
      planRecovery: buildPlanRecoveryHandler(getDeps),
      restoreInstance: buildStepHandler('restoreInstance', getDeps),
      verifyInstance: buildStepHandler('verifyInstance', getDeps),
      shiftTraffic: buildStepHandler('shiftTraffic', getDeps),
      failback: buildFailbackHandler(getDeps),
      // People are told through the control region's topic, as its stack would tell them.
      notify: buildNotifyHandler(() =>
        notifyDepsFor(this.config, {
          ...env,
          LIFEBOAT_NOTIFICATION_TOPIC: this.notifications?.notificationTopicArn,
        }),
      ),
    };
    // The functions EventBridge invokes; the scheduled ones (probe, snapshot, reconcile) the
    // drill runs itself.
    const handlers: Partial<Record<FunctionName, (event: unknown) => Promise<unknown>>> =
      Object.fromEntries(
        Object.entries(built).map(([fn, handler]) => [fn, (e: unknown) => handler(e, context)]),
      );
    const crash = this.options.crash;
    if (crash) {
      handlers[crash.fn] = killingFirstInvocation(
        handlers[crash.fn],
        crash,
        { config: this.config, controlRegion: this.controlRegion, endpoint: this.options.endpoint },
        (record) => this.crashes.push(record),
      );
    }
    for (const rule of localRules(this.config)) {
      const handler = handlers[rule.fn];
      if (!handler) throw new LocalWorldError(`the drill world has no handler for ${rule.fn}`);
      // Each event is its own invocation, as on Lambda: steps of different instances overlap,
      // up to the function's concurrency as deployed, and a failed one is retried as deployed.
      const deployed = functionInvocation(rule.fn);
      await this.pump.subscribe({
        ...rule,
        region: this.controlRegion,
        handler,
        concurrency: this.options.concurrency ?? deployed.concurrency,
        retries: deployed.retries,
      });
    }
    await this.pump.subscribe({
      name: 'recorder',
      region: this.controlRegion,
      bus,
      pattern: { source: ['lifeboat'], 'detail-type': RECORDED_EVENTS },
      handler: recorderOf(this.delivered),
    });
  }

  /**
   * Starts the schedules as EventBridge runs them, each on its own clock whatever else runs:
   * every probe interval each live region's probe runs one round, and the pump delivers
   * events in the background. Until now the drill probed only between pump passes, so a long
   * chain of invocations held the next probe round back.
   */
  startSchedules(): void {
    if (this.probeTimer) return;
    this.pump.start();
    const tick = () => {
      // At 30 s between rounds the detector has folded one round in long before the next; at
      // the drill's 0.5 s on a busy machine it may not have, and overlapping rounds then only
      // make the detectors' compare-and-swap on the same region states lose to each other
      // (measured: 662 of 730 writes of one state lost at N = 1). So a round waits for the
      // detector to finish the last one, as it would at the real interval.
      if (this.detecting > 0) {
        this.probes.waitedForDetector += 1;
        return;
      }
      // A region that is down runs no probes of its own.
      for (const vantage of this.regionNames) {
        if (!this.proxies.get(vantage)?.isUp) continue;
        if (this.probing.has(vantage)) {
          this.probes.skipped += 1;
          continue;
        }
        const round = this.probeVantage(vantage)
          .catch((error: unknown) => {
            this.probes.failures.push({ vantage, error });
          })
          .finally(() => {
            this.probes.rounds += 1;
            this.probing.delete(vantage);
          });
        this.probing.set(vantage, round);
      }
    };
    tick();
    this.probeTimer = setInterval(tick, DRILL_DETECTION.intervalSeconds * 1000);
  }

  /** Stops the probe schedule and the background pump, and waits for what they started. */
  async stopSchedules(): Promise<void> {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    await Promise.all([...this.probing.values()]);
    await this.pump?.stop();
  }

  /** A schedule tick for every live region's probe function, all at once. */
  async probeRound(): Promise<void> {
    await Promise.all(
      this.regionNames
        .filter((vantage) => this.proxies.get(vantage)?.isUp)
        .map((vantage) => this.probeVantage(vantage)),
    );
  }

  /** One round of one region's probe function ("local timers stand in for schedules"). */
  private async probeVantage(vantage: string): Promise<void> {
    const tick = {
      version: '0',
      id: `tick-${Date.now()}`,
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: new Date().toISOString(),
      region: vantage,
      resources: [],
      detail: {},
    };
    await buildProbeHandler(() => ({
      ...probeDepsFor(this.config, { LIFEBOAT_REGION: vantage }),
      // Every vantage's observations reach the control region's detector, standing in
      // for the cross-region forwarding rules serverless.yml deploys.
      bus: this.recovery.bus,
      invocationSeconds: DRILL_DETECTION.intervalSeconds,
    }))(tick, context);
  }

  /** Runs the snapshot function for every instance (an explicit request, as an operator would). */
  async snapshotAll(time: Date): Promise<unknown> {
    const handler = buildSnapshotHandler(() =>
      snapshotDepsFor(this.config, { LIFEBOAT_REGION: this.controlRegion }),
    );
    return handler({ action: 'snapshot', time: time.toISOString() }, context);
  }

  /**
   * Fires every per-instance schedule once (the restore tests), as EventBridge would from each
   * instance's home stack, and reports each result with what its scratch prefix still holds in
   * every region afterwards (a passed test leaves nothing).
   */
  async restoreTests(): Promise<{ result: RestoreTestResult; scratchLeft: number }[]> {
    const handler = buildRestoreTestHandler(() => this.config);
    const out: { result: RestoreTestResult; scratchLeft: number }[] = [];
    for (const schedule of localSchedules(this.config)) {
      const result = (await handler(schedule.input, context)) as RestoreTestResult;
      let scratchLeft = 0;
      for (const region of this.regionNames) {
        if (!this.proxies.get(region)?.isUp) continue;
        const store = instanceStore(this.config, region);
        scratchLeft += (await store.list(scratchIdFor(schedule.input.instanceId))).length;
      }
      out.push({ result, scratchLeft });
    }
    return out;
  }

  /** A real region outage: the region's S3 path closes and every instance endpoint in it stops answering. */
  async takeRegionDown(region: string): Promise<void> {
    await this.proxies.get(region)?.down();
    for (const [key, runtime] of this.runtimes) {
      if (!key.endsWith(`/${region}`)) continue;
      for (const zone of Object.keys(runtime.urls())) await runtime.stopZone(zone);
    }
  }

  async bringRegionBack(region: string): Promise<void> {
    await this.proxies.get(region)?.up();
    for (const [key, runtime] of this.runtimes) {
      if (!key.endsWith(`/${region}`)) continue;
      for (const zone of Object.keys(runtime.urls())) await runtime.startZone(zone);
      await runtime.reload();
    }
  }

  async takeZoneDown(region: string, zone: string): Promise<void> {
    for (const [key, runtime] of this.runtimes)
      if (key.endsWith(`/${region}`)) await runtime.stopZone(zone);
  }

  /** "destroyed": the region's data is gone too (every version of every object in its buckets). */
  async destroyRegionData(region: string): Promise<void> {
    const r = this.config.regions.find((x) => x.name === region);
    if (!r) return;
    // Straight to moto, not through the (closed) proxy: the data center burns while unreachable.
    const s3 = s3ClientFor({ region, endpointUrl: this.options.endpoint });
    for (const bucket of Object.values(regionBuckets(this.config, r))) {
      for (;;) {
        const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
        const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
          Key: v.Key,
          VersionId: v.VersionId,
        }));
        if (objects.length === 0) break;
        await s3.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
        );
      }
    }
    // Whatever else holds an instance's config there goes too (an API Gateway instance's APIs,
    // plans, keys and domains); for the object-store kind its bucket is already empty.
    const direct: LifeboatConfig = {
      ...this.config,
      regions: this.config.regions.map((x) => ({ ...x, endpointUrl: this.options.endpoint })),
    };
    for (const instance of this.config.instances) {
      const store = instanceStore(direct, region);
      const keys = (await store.list(instance.id)).map((e) => e.key);
      if (keys.length > 0) await store.delete(instance.id, keys);
    }
  }

  async close(): Promise<void> {
    await this.stopSchedules().catch(() => undefined);
    await this.pump?.close().catch(() => undefined);
    for (const runtime of this.runtimes.values()) await runtime.stop();
    for (const proxy of this.proxies.values()) await proxy.down();
  }
}
