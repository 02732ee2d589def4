import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  buildReconcileHandler,
  reconcileDepsFor,
} from '../../../../functions/reconcile/handler.ts';
import { EmfMetrics } from '../../../../shared/adapters/emf-metrics.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../../shared/config/load.ts';
import { RecoveryEvent } from '../../../../shared/domain/events.ts';
import { type RecoveryRun, runKey } from '../../../../shared/domain/recovery/run-store.ts';
import {
  RECONCILE_POLICY,
  type ReconcileDeps,
  type SweepReport,
} from '../../../../shared/domain/recovery/steps/reconcile.ts';
import { EventPublishError, EventValidationError } from '../../../../shared/errors.ts';
import { logger } from '../../../../shared/observability.ts';
import { InMemoryBlobStore } from '../../../fakes/blob-store.ts';
import { emfLines } from '../../../fakes/emf.ts';
import { RecordingEventBus } from '../../../fakes/event-bus.ts';
import { lambdaContext } from '../../../fakes/lambda-context.ts';
import { ControlBucket } from '../../../fakes/recovery/control-bucket.ts';

const eventFile = (name: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`../../../../events/${name}`, import.meta.url)), 'utf8'),
  );

const context = lambdaContext('lifeboat-dev-reconcile', 256);
const CLAIM_SET = ['eu-west-1', 'us-east-2', 'us-west-2'];
const TICK = eventFile('reconcile-schedule.json');
const RESTORE_LIMIT = RECONCILE_POLICY.stallLimitSeconds.recovery.restore ?? 0;

beforeAll(() => {
  logger.setLogLevel('SILENT');
});

/** A recovery whose restore never started, last updated `secondsBefore` the sample tick. */
function stalledRun(secondsBefore: number): RecoveryRun {
  const updatedAt = new Date(Date.parse(String(TICK.time)) - secondsBefore * 1000).toISOString();
  return {
    runId: 'petstore-g1',
    kind: 'recovery',
    instanceId: 'petstore',
    generation: 1,
    from: 'us-east-1',
    claimant: 'delivery-a',
    claimSet: CLAIM_SET,
    status: 'running',
    incident: {},
    target: 'us-east-2',
    steps: {
      plan: { status: 'done', attempts: 1 },
      restore: { status: 'pending', attempts: 0 },
      verify: { status: 'pending', attempts: 0 },
      shift: { status: 'pending', attempts: 0 },
    },
    seq: 2,
    startedAt: updatedAt,
    updatedAt,
  };
}

/** Control buckets holding `run` in every region of its claim set; the sweeper in `here`. */
async function fakeDeps(run: RecoveryRun | undefined, here = 'eu-west-1') {
  const buckets = new Map(
    ['us-east-1', ...CLAIM_SET].map((region) => [region, new ControlBucket(region)]),
  );
  if (run) {
    for (const region of run.claimSet)
      await buckets.get(region)?.save(runKey(run.runId), run, undefined);
  }
  const bus = new RecordingEventBus();
  const documents = vi.fn((region: string) => {
    const bucket = buckets.get(region);
    if (!bucket) throw new Error(`test: no bucket in ${region}`);
    return bucket;
  });
  const deps: ReconcileDeps = { regions: [...buckets.keys()], here, documents, bus };
  const getDeps = vi.fn(() => deps);
  return { deps, bus, buckets, documents, getDeps };
}

describe('reconcile handler', () => {
  it("re-emits a stalled run's trigger, judged at the tick's time, when a schedule ticks", async () => {
    const { bus, getDeps } = await fakeDeps(stalledRun(RESTORE_LIMIT));
    const report = (await buildReconcileHandler(getDeps)(TICK, context)) as SweepReport;
    expect(report.runs).toBe(1);
    expect(report.verdicts).toEqual([
      expect.objectContaining({ runId: 'petstore-g1', action: 'nudge', step: 'restore' }),
    ]);
    // Judged by the wall clock (years after the sample tick) the run would be long reported.
    expect(bus.events.map((e) => e.detailType)).toEqual([RecoveryEvent.plan]);
    expect(bus.events[0]?.detail).toMatchObject({ runId: 'petstore-g1', claimSet: CLAIM_SET });
  });

  it('publishes nothing when no run has stalled', async () => {
    const { bus, getDeps } = await fakeDeps(stalledRun(60));
    const report = (await buildReconcileHandler(getDeps)(TICK, context)) as SweepReport;
    expect(report.verdicts).toEqual([
      expect.objectContaining({ action: 'none', why: 'progressing' }),
    ]);
    expect(bus.events).toEqual([]);
  });

  it('sweeps the reachable buckets and names the unreachable ones when a region is down', async () => {
    const { buckets, bus, getDeps } = await fakeDeps(stalledRun(RESTORE_LIMIT));
    for (const region of ['us-east-1', 'us-east-2']) {
      const bucket = buckets.get(region);
      if (bucket) bucket.unreachable = true;
    }
    const report = (await buildReconcileHandler(getDeps)(TICK, context)) as SweepReport;
    expect(report.unreachable.map((u) => u.region).sort()).toEqual(['us-east-1', 'us-east-2']);
    expect(bus.events.map((e) => e.detailType)).toEqual([RecoveryEvent.plan]);
  });

  it('fails the invocation with EventPublishError when the bus rejects a nudge', async () => {
    const { bus, getDeps } = await fakeDeps(stalledRun(RESTORE_LIMIT));
    bus.failWith = new Error('ThrottlingException');
    const caught = await buildReconcileHandler(getDeps)(TICK, context).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(EventPublishError);
    expect((caught as Error).message).toContain('petstore-g1: ThrottlingException');
  });

  it('rejects a malformed schedule event before reading any bucket', async () => {
    const { documents, getDeps } = await fakeDeps(stalledRun(RESTORE_LIMIT));
    const caught = await buildReconcileHandler(getDeps)(
      eventFile('schedule-malformed.json'),
      context,
    ).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(EventValidationError);
    expect((caught as EventValidationError).field).toBe('time');
    expect(documents).not.toHaveBeenCalled();
  });

  it('rejects an event that is not a schedule tick, naming its first wrong field', async () => {
    const { documents, getDeps } = await fakeDeps(undefined);
    const caught = await buildReconcileHandler(getDeps)(
      eventFile('failback-requested.json'),
      context,
    ).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(EventValidationError);
    // "Failback Requested" comes from lifeboat, not aws.events: its source is wrong first.
    expect((caught as EventValidationError).field).toBe('source');
    expect(documents).not.toHaveBeenCalled();
  });
});

describe('reconcileDepsFor', () => {
  it('sweeps every configured region and publishes in the region it runs in', () => {
    const config = loadConfig(DEFAULT_CONFIG_PATH);
    const deps = reconcileDepsFor(config, { LIFEBOAT_REGION: 'us-west-2' });
    expect(deps.here).toBe('us-west-2');
    expect(deps.regions).toEqual(config.regions.map((r) => r.name));
  });

  describe('metrics', () => {
    /** The sample tick's backup buckets: petstore committed 3 h before it, api-02 never. */
    async function withSnapshots() {
      const faked = await fakeDeps(undefined);
      const vault = new InMemoryBlobStore({ region: 'us-east-2' });
      const taken = new Date(Date.parse(String(TICK.time)) - 3 * 3600 * 1000);
      const id = taken
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
      await vault.put(`instances/petstore/commits/${id}.json`, new Uint8Array([123, 125]));
      const deps = {
        ...faked.deps,
        metrics: new EmfMetrics(),
        freshness: {
          targets: [
            { instanceId: 'petstore', replicaRegions: ['us-east-2'], scheduleSeconds: 3600 },
            { instanceId: 'api-02', replicaRegions: ['us-east-2'], scheduleSeconds: 86_400 },
          ],
          vault: () => vault,
        },
      };
      return { ...faked, deps, getDeps: () => deps };
    }

    it("publishes each instance's newest committed snapshot age, measured in its own region, when it ticks", async () => {
      const { getDeps } = await withSnapshots();
      const docs = await emfLines(() => buildReconcileHandler(getDeps)(TICK, context));
      const ages = docs.filter((d) => 'NewestSnapshotAge' in d);
      // api-02 has no committed snapshot: no datapoint, which its RPO alarm counts as breached.
      expect(ages).toEqual([
        expect.objectContaining({
          NewestSnapshotAge: 3 * 3600,
          instance: 'petstore',
          region: 'eu-west-1',
          service: 'lifeboat',
        }),
      ]);
      const aws = (ages[0] as { _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] } })._aws;
      expect(aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'instance', 'region']]);
    });

    it('reports the RPO breach in its result when the newest snapshot is older than two schedules', async () => {
      const { getDeps } = await withSnapshots();
      const report = (await buildReconcileHandler(getDeps)(TICK, context)) as {
        snapshotAges: { instanceId: string; breached: boolean; limitSeconds: number }[];
      };
      expect(report.snapshotAges).toEqual([
        expect.objectContaining({ instanceId: 'petstore', breached: true, limitSeconds: 7200 }),
        expect.objectContaining({ instanceId: 'api-02', breached: true, limitSeconds: 172_800 }),
      ]);
    });

    it('counts a stalled run per instance and for the whole region when it reports one', async () => {
      // One sweep period past the limit, the claim set's first region reports it early.
      const faked = await fakeDeps(stalledRun(RESTORE_LIMIT + RECONCILE_POLICY.sweepEverySeconds));
      const deps = { ...faked.deps, metrics: new EmfMetrics() };
      let report: SweepReport | undefined;
      const docs = await emfLines(async () => {
        report = (await buildReconcileHandler(() => deps)(TICK, context)) as SweepReport;
      });
      expect(report?.verdicts).toEqual([expect.objectContaining({ action: 'report' })]);
      const stalledDocs = docs.filter((d) => 'RunsStalled' in d);
      expect(stalledDocs).toEqual([
        expect.objectContaining({
          RunsStalled: 1,
          instance: 'petstore',
          kind: 'recovery',
          region: 'eu-west-1',
        }),
        expect.objectContaining({ RunsStalled: 1, region: 'eu-west-1' }),
      ]);
      expect(stalledDocs[1]).not.toHaveProperty('instance');
    });

    it('publishes no stall when it only nudges a run', async () => {
      const faked = await fakeDeps(stalledRun(RESTORE_LIMIT));
      const deps = { ...faked.deps, metrics: new EmfMetrics() };
      const docs = await emfLines(() => buildReconcileHandler(() => deps)(TICK, context));
      expect(docs.filter((d) => 'RunsStalled' in d)).toEqual([]);
    });
  });
});
