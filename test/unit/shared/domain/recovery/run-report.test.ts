import { describe, expect, it } from 'vitest';
import type { Datapoint } from '../../../../../shared/domain/metrics.ts';
import {
  driveFailback,
  startFailback,
} from '../../../../../shared/domain/recovery/failback-run.ts';
import { driveRecovery } from '../../../../../shared/domain/recovery/recovery-run.ts';
import type { RecoveryRun } from '../../../../../shared/domain/recovery/run.ts';
import {
  buildRunReport,
  latestRunReport,
  type RunReport,
  readRunReport,
  renderRunReport,
  reportKey,
} from '../../../../../shared/domain/recovery/run-report.ts';
import { InMemoryBlobStore } from '../../../../fakes/blob-store.ts';
import { MINUTE } from '../../../../fakes/clock.ts';
import { recoveryWorld } from '../../../../worlds/recovery.ts';

const T = (s: number) => new Date(Date.UTC(2026, 10, 25, 6, 0, s)).toISOString();

/** A recovery: outage at 0 s, confirmed at 90, planned 91, restored 95 (2 attempts), shifted 100. */
const run: RecoveryRun = {
  runId: 'run-1',
  kind: 'recovery',
  instanceId: 'petstore',
  generation: 1,
  from: 'us-east-1',
  claimant: 'delivery-a',
  claimSet: ['us-east-2', 'us-west-2', 'eu-west-1'],
  status: 'completed',
  incident: { incidentId: 'i', outageStartedAt: T(0), confirmedAt: T(90) },
  target: 'us-east-2',
  snapshot: { snapshotId: 'snap', region: 'us-east-2', configDigest: 'd', takenAt: T(-300) },
  weights: {
    before: { 'us-east-1': 100, 'us-east-2': 0 },
    after: { 'us-east-1': 0, 'us-east-2': 100 },
  },
  approval: { decision: 'approved', by: 'ops@host', at: T(90.5) },
  metrics: { shiftedAt: T(100), rtoFromOutageStartSeconds: 100, rpoSeconds: 300 },
  steps: {
    plan: { status: 'done', attempts: 1, at: T(91) },
    restore: { status: 'done', attempts: 2, at: T(95) },
    verify: { status: 'done', attempts: 1, at: T(97) },
    shift: { status: 'done', attempts: 1, at: T(100) },
  },
  seq: 5,
  startedAt: T(90),
  updatedAt: T(100),
};

describe('buildRunReport', () => {
  const report = buildRunReport(run);

  it('gives each step its duration and attempts from the recorded step times', () => {
    expect(report.steps).toEqual([
      {
        name: 'plan',
        status: 'done',
        attempts: 1,
        startedAt: T(90),
        endedAt: T(91),
        durationSeconds: 1,
      },
      {
        name: 'restore',
        status: 'done',
        attempts: 2,
        startedAt: T(91),
        endedAt: T(95),
        durationSeconds: 4,
      },
      {
        name: 'verify',
        status: 'done',
        attempts: 1,
        startedAt: T(95),
        endedAt: T(97),
        durationSeconds: 2,
      },
      {
        name: 'shift',
        status: 'done',
        attempts: 1,
        startedAt: T(97),
        endedAt: T(100),
        durationSeconds: 3,
      },
    ]);
  });

  it('carries RTO, RPO, the snapshot, the approver and the weights at each change', () => {
    expect(report).toMatchObject({
      rtoSeconds: 100,
      rpoSeconds: 300,
      approvedBy: 'ops@host',
      snapshot: { snapshotId: 'snap' },
      durationSeconds: 10,
      status: 'completed',
    });
    expect(report.weights).toEqual([
      { at: T(90), label: 'before', weights: run.weights?.before },
      { at: T(100), label: 'after', weights: run.weights?.after },
    ]);
  });

  it('puts every moment on the timeline at its own recorded time, in time order', () => {
    const at = (kind: string) => report.timeline.find((e) => e.kind === kind)?.at;
    expect(at('outage started')).toBe(T(0));
    expect(at('outage confirmed')).toBe(T(90));
    expect(at('restore done')).toBe(T(95));
    expect(at('traffic shifted')).toBe(T(100));
    expect(at('run approved')).toBe(T(90.5));
    const times = report.timeline.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('names no approver when the run was rejected', () => {
    const rejected = buildRunReport({
      ...run,
      status: 'failed',
      approval: { decision: 'rejected', by: 'ops@host', at: T(91) },
    });
    expect(rejected.approvedBy).toBeUndefined();
    expect(rejected.timeline.map((e) => e.kind)).toContain('run rejected');
  });
});

describe('renderRunReport', () => {
  it("renders the drill's chart with the steps, the RTO, the RPO and the numbers", () => {
    const html = renderRunReport(buildRunReport(run));
    expect(html).toContain('class="band" data-kind="recovery"');
    expect(html).toContain('class="band" data-kind="detection"');
    expect(html).toContain('restore (2 attempts)');
    expect(html).toContain('RTO 100.0s');
    expect(html).toContain('RPO 300s');
    expect(html).toContain('approved by ops@host');
    expect(html).toContain('data-weight="100"');
  });
});

describe('run reports of real runs', () => {
  it('are written to every control bucket of the claim set when a recovery completes', async () => {
    const w = recoveryWorld();
    const blobs = new Map<string, InMemoryBlobStore>();
    w.deps.controlBlobs = (region) => {
      const store = blobs.get(region) ?? new InMemoryBlobStore({ region });
      blobs.set(region, store);
      return store;
    };
    const recovery = await w.recover();
    expect(recovery.status).toBe('completed');
    for (const region of recovery.claimSet) {
      const stored = (await w.bucket(region).load(reportKey(recovery.runId)))?.value as RunReport;
      expect(stored).toMatchObject({
        runId: recovery.runId,
        kind: 'recovery',
        status: 'completed',
      });
      expect(stored.steps.map((s) => s.name)).toEqual(['plan', 'restore', 'verify', 'shift']);
      expect(stored.rpoSeconds).toBeGreaterThan(0);
      const html = await blobs.get(region)?.get(reportKey(recovery.runId, 'html'));
      expect(new TextDecoder().decode(html)).toContain(`lifeboat recovery ${recovery.runId}`);
    }
    expect((await readRunReport(w.deps, recovery.runId))?.runId).toBe(recovery.runId);
  });

  it('are written for a failback with its canary steps, and --last finds the newest', async () => {
    const w = recoveryWorld();
    const recovery = await w.recover();
    w.heal('us-east-1');
    w.clock.advance(10 * MINUTE);
    const started = await startFailback(w.deps, {
      instance: w.instance(),
      home: 'us-east-1',
      claimant: 'recovered-a',
    });
    if (started.outcome !== 'started') throw new Error(`test: failback ${started.outcome}`);
    const failback = await driveFailback(w.deps, started.run);
    expect(failback.status).toBe('completed');
    const report = await readRunReport(w.deps, failback.runId);
    expect(report).toMatchObject({
      kind: 'failback',
      status: 'completed',
      recoveryRunId: recovery.runId,
    });
    const canary = report?.weights.filter((x) => x.label.startsWith('canary')) ?? [];
    expect(canary.length).toBeGreaterThan(0);
    expect(canary.map((c) => c.weights['us-east-1']).at(-1)).toBe(100);
    // Each canary step at the time it took effect (the world waits stepSeconds between them).
    expect(canary.map((c) => c.weights['us-east-1'])).toEqual([10, 50, 100]);
    const times = canary.map((c) => Date.parse(c.at ?? ''));
    expect(times.every((t, i) => i === 0 || t > (times[i - 1] as number))).toBe(true);
    expect(report?.timeline.filter((e) => e.kind.startsWith('canary step'))).toHaveLength(3);
    expect((await latestRunReport(w.deps))?.runId).toBe(failback.runId);
  });

  it('is written when a run fails, with the failed step and its reason', async () => {
    const w = recoveryWorld({ stepAttempts: 1 });
    await w.seed();
    await w.snapshot();
    w.clock.advance(5 * MINUTE);
    w.fail('us-east-1');
    const { startRecovery, driveRecovery } = await import(
      '../../../../../shared/domain/recovery/recovery-run.ts'
    );
    const event = w.outage('us-east-1');
    const started = await startRecovery(w.deps, {
      instance: w.instance(),
      failedRegion: 'us-east-1',
      claimant: 'delivery-a',
      incident: { outageStartedAt: event.outageStartedAt, confirmedAt: event.confirmedAt },
    });
    if (started.outcome !== 'started') throw new Error(`test: recovery ${started.outcome}`);
    // Every target's instance is down: verify cannot pass.
    for (const region of ['us-east-2', 'us-west-2', 'eu-west-1']) w.instances.down.add(region);
    await driveRecovery(w.deps, started.run).catch(() => undefined);
    const report = await readRunReport(w.deps, started.run.runId);
    expect(report?.status).toBe('failed');
    expect(report?.failedStep).toBeDefined();
    expect(report?.steps.find((s) => s.status === 'failed')?.name).toBe(report?.failedStep);
  });
});

describe('run metrics', () => {
  it('counts a run started and completed once, with RTO, RPO and step durations, when the final step is sent again', async () => {
    const w = recoveryWorld();
    const points: Datapoint[] = [];
    w.deps.metrics = { record: (p) => points.push(...p) };
    const recovery = await w.recover();
    // The chain re-runs the last step when everything is done (a lost final event): no new count.
    await driveRecovery(w.deps, recovery);
    const count = (name: string) => points.filter((p) => p.name === name).length;
    expect(count('RunsStarted')).toBe(1);
    expect(count('RunsCompleted')).toBe(1);
    expect(count('RunsFailed')).toBe(0);
    expect(points.find((p) => p.name === 'RTO')?.dimensions).toEqual({
      instance: 'petstore',
      region: w.deps.region,
      kind: 'recovery',
    });
    expect(points.find((p) => p.name === 'RPO')?.value).toBeGreaterThan(0);
    expect(points.filter((p) => p.name === 'StepDuration').map((p) => p.dimensions.step)).toEqual([
      'plan',
      'restore',
      'verify',
      'shift',
    ]);
  });
});
