import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DetailType,
  FailbackEvent,
  RecoveryEvent,
} from '../../../../../../shared/domain/events.ts';
import { startFailback } from '../../../../../../shared/domain/recovery/failback-run.ts';
import {
  runRecoveryStep,
  startRecovery,
} from '../../../../../../shared/domain/recovery/recovery-run.ts';
import { respondToFailbackRequest } from '../../../../../../shared/domain/recovery/respond.ts';
import { loadRun, type RecoveryRun } from '../../../../../../shared/domain/recovery/run-store.ts';
import {
  type JudgeContext,
  judgeRun,
  RECONCILE_POLICY,
  type ReconcileDeps,
  type ReconcilePolicy,
  sweepRuns,
} from '../../../../../../shared/domain/recovery/steps/reconcile.ts';
import type { FailbackRequest } from '../../../../../../shared/schemas/recovery-events.ts';
import { RecordingEventBus } from '../../../../../fakes/event-bus.ts';
import { type RecoveryWorld, recoveryWorld } from '../../../../../worlds/recovery.ts';

const SECOND = 1000;
const CLAIM_SET = ['eu-west-1', 'us-east-2', 'us-west-2'];
const UPDATED = '2026-11-25T06:00:00.000Z';
const RESTORE_LIMIT = RECONCILE_POLICY.stallLimitSeconds.recovery.restore ?? 0;

/** A recovery out of us-east-1 whose plan is recorded and whose restore never started. */
function plannedRun(overrides: Partial<RecoveryRun> = {}): RecoveryRun {
  return {
    runId: 'petstore-g1',
    kind: 'recovery',
    instanceId: 'petstore',
    generation: 1,
    from: 'us-east-1',
    claimant: 'delivery-a',
    claimSet: CLAIM_SET,
    status: 'running',
    incident: { incidentId: 'us-east-1-incident-1' },
    target: 'us-east-2',
    steps: {
      plan: { status: 'done', attempts: 1, at: UPDATED },
      restore: { status: 'pending', attempts: 0 },
      verify: { status: 'pending', attempts: 0 },
      shift: { status: 'pending', attempts: 0 },
    },
    seq: 2,
    startedAt: UPDATED,
    updatedAt: UPDATED,
    ...overrides,
  };
}

/** `seconds` after the run's last update, as seen from `here`. */
function at(seconds: number, here = CLAIM_SET[0] ?? '', newestGeneration = 1): JudgeContext {
  return {
    now: new Date(Date.parse(UPDATED) + seconds * SECOND),
    here,
    newestGeneration,
    policy: RECONCILE_POLICY,
  };
}

describe('judgeRun', () => {
  it('leaves a run alone when it is completed or failed', () => {
    for (const status of ['completed', 'failed'] as const) {
      expect(judgeRun(plannedRun({ status }), at(10 * RESTORE_LIMIT))).toMatchObject({
        action: 'none',
        why: 'finished',
      });
    }
  });

  it('leaves a run alone when its step may still be running', () => {
    expect(judgeRun(plannedRun(), at(RESTORE_LIMIT - 1))).toMatchObject({
      action: 'none',
      why: 'progressing',
    });
  });

  it("re-emits the previous step's event when the next step has stalled", () => {
    const verdict = judgeRun(plannedRun(), at(RESTORE_LIMIT));
    expect(verdict).toMatchObject({ action: 'nudge', step: 'restore', window: 0 });
    if (verdict.action !== 'nudge') return;
    expect(verdict.event.detailType).toBe(RecoveryEvent.plan);
    expect(verdict.event.detail).toMatchObject({
      runId: 'petstore-g1',
      instanceId: 'petstore',
      claimSet: CLAIM_SET,
      reconciled: { window: 0, stalledSince: UPDATED },
    });
  });

  it('picks the trigger of the step the run stalled at', () => {
    const verified = plannedRun({
      steps: {
        plan: { status: 'done', attempts: 1 },
        restore: { status: 'done', attempts: 1 },
        verify: { status: 'done', attempts: 1 },
        shift: { status: 'pending', attempts: 0 },
      },
    });
    const limit = RECONCILE_POLICY.stallLimitSeconds.recovery.shift ?? 0;
    expect(limit).toBeLessThan(RESTORE_LIMIT);
    const verdict = judgeRun(verified, at(limit));
    expect(verdict).toMatchObject({ action: 'nudge', step: 'shift' });
    if (verdict.action === 'nudge') expect(verdict.event.detailType).toBe(RecoveryEvent.verify);
  });

  it('acts only in the first sweep period of a window after the first', () => {
    const late = 2 * RESTORE_LIMIT + RECONCILE_POLICY.sweepEverySeconds;
    expect(judgeRun(plannedRun(), at(late, CLAIM_SET[1]))).toMatchObject({
      action: 'none',
      why: 'between-windows',
    });
  });

  it('reports a stalled step within 15 minutes of its limit, while the nudges go on', () => {
    const sweep = RECONCILE_POLICY.sweepEverySeconds;
    const first = judgeRun(plannedRun(), at(RESTORE_LIMIT + sweep, CLAIM_SET[0]));
    expect(first).toMatchObject({ action: 'report', step: 'restore', window: 0 });
    if (first.action === 'report') {
      expect(first.event.detail).toMatchObject({ stalled: true, stalledSince: UPDATED });
      expect((first.event.detail as { reason: string }).reason).toContain(
        're-emitted its trigger once',
      );
    }
    expect(judgeRun(plannedRun(), at(RESTORE_LIMIT + 2 * sweep, CLAIM_SET[1]))).toMatchObject({
      action: 'report',
    });
    expect(judgeRun(plannedRun(), at(RESTORE_LIMIT + 3 * sweep, CLAIM_SET[2]))).toMatchObject({
      action: 'none',
      why: 'between-windows',
    });
  });

  it('lets the regions of the claim set take turns, one per window', () => {
    expect(judgeRun(plannedRun(), at(RESTORE_LIMIT, 'us-east-2'))).toMatchObject({
      action: 'none',
      why: 'another-region',
    });
    expect(judgeRun(plannedRun(), at(2 * RESTORE_LIMIT, 'us-east-2'))).toMatchObject({
      action: 'nudge',
      window: 1,
    });
    // The failed region is not in the claim set: its sweeper never acts for this run.
    for (let window = 0; window < 6; window += 1) {
      expect(judgeRun(plannedRun(), at((window + 1) * RESTORE_LIMIT, 'us-east-1')).action).toBe(
        'none',
      );
    }
  });

  it('reports the run stalled once the nudges are used up', () => {
    const window = RECONCILE_POLICY.nudges;
    const here = CLAIM_SET[window % CLAIM_SET.length];
    const verdict = judgeRun(plannedRun(), at((window + 1) * RESTORE_LIMIT, here));
    expect(verdict).toMatchObject({ action: 'report', step: 'restore', window });
    if (verdict.action !== 'report') return;
    expect(verdict.event.detailType).toBe(RecoveryEvent.failed);
    expect(verdict.event.detail).toMatchObject({
      runId: 'petstore-g1',
      step: 'restore',
      stalled: true,
      reason: `stalled at step restore since ${UPDATED}; re-emitted "Recovery Planned" ${window} time(s) without progress`,
    });
  });

  it('stops reporting after every region of the claim set has reported once', () => {
    const window = RECONCILE_POLICY.nudges + CLAIM_SET.length;
    for (const here of CLAIM_SET) {
      expect(judgeRun(plannedRun(), at((window + 1) * RESTORE_LIMIT, here))).toMatchObject({
        action: 'none',
      });
    }
  });

  it('reports a run stalled at plan at once, since no event resumes the planner', () => {
    const unplanned = plannedRun({
      target: undefined,
      steps: {
        plan: { status: 'pending', attempts: 0 },
        restore: { status: 'pending', attempts: 0 },
        verify: { status: 'pending', attempts: 0 },
        shift: { status: 'pending', attempts: 0 },
      },
    });
    const limit = RECONCILE_POLICY.stallLimitSeconds.recovery.plan ?? 0;
    const verdict = judgeRun(unplanned, at(limit));
    expect(verdict).toMatchObject({ action: 'report', step: 'plan', window: 0 });
    if (verdict.action === 'report') {
      expect((verdict.event.detail as { reason: string }).reason).toContain(
        'lifeboat resume --run petstore-g1 --approve',
      );
    }
  });

  it('reports rather than nudges a run that a newer generation has superseded', () => {
    const verdict = judgeRun(plannedRun(), at(RESTORE_LIMIT, CLAIM_SET[0], 2));
    expect(verdict).toMatchObject({ action: 'report', step: 'restore' });
  });

  it('asks the failback function to resume a stalled failback with its own claimant', () => {
    const failback = plannedRun({
      runId: 'petstore-g2',
      kind: 'failback',
      generation: 2,
      from: 'us-east-2',
      target: 'us-east-1',
      claimant: 'recovered-a',
      claimSet: ['eu-west-1', 'us-east-1', 'us-east-2'],
      steps: {
        fence: { status: 'done', attempts: 1 },
        snapshot: { status: 'pending', attempts: 0 },
      },
    });
    const limit = RECONCILE_POLICY.stallLimitSeconds.failback.snapshot ?? 0;
    const nudge = judgeRun(failback, at(limit, 'eu-west-1', 2));
    expect(nudge).toMatchObject({ action: 'nudge', step: 'snapshot' });
    if (nudge.action === 'nudge') {
      expect(nudge.event.detailType).toBe(DetailType.FailbackRequested);
      expect(nudge.event.detail).toMatchObject({
        instanceId: 'petstore',
        region: 'us-east-1',
        claimant: 'recovered-a',
      });
    }
    const window = RECONCILE_POLICY.nudges;
    const report = judgeRun(failback, at((window + 1) * limit, 'us-east-2', 2));
    expect(report).toMatchObject({ action: 'report' });
    if (report.action === 'report') expect(report.event.detailType).toBe(FailbackEvent.failed);
  });

  it('nudges N times and reports once per claim-set region, never twice in a window, whatever the tick phases', () => {
    const policy: ReconcilePolicy = RECONCILE_POLICY;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: policy.sweepEverySeconds - 1 }), {
          minLength: CLAIM_SET.length,
          maxLength: CLAIM_SET.length,
        }),
        fc.constantFrom('plan', 'restore', 'verify', 'shift'),
        (phases, step) => {
          const steps = Object.fromEntries(
            ['plan', 'restore', 'verify', 'shift'].map((s, i, all) => [
              s,
              { status: i < all.indexOf(step) ? 'done' : 'pending', attempts: 0 },
            ]),
          ) as RecoveryRun['steps'];
          const run = plannedRun({ steps });
          const limit = policy.stallLimitSeconds.recovery[step] ?? 0;
          const horizon = (policy.nudges + CLAIM_SET.length + 3) * limit;
          const actions: { at: number; action: string; region: string }[] = [];
          CLAIM_SET.forEach((region, r) => {
            // Each region's schedule ticks every sweep period, at its own phase.
            for (let t = phases[r] ?? 0; t <= horizon; t += policy.sweepEverySeconds) {
              const verdict = judgeRun(run, {
                now: new Date(Date.parse(UPDATED) + t * SECOND),
                here: region,
                newestGeneration: 1,
                policy,
              });
              if (verdict.action !== 'none')
                actions.push({ at: t, action: verdict.action, region });
            }
          });
          actions.sort((a, b) => a.at - b.at);
          const nudges = actions.filter((a) => a.action === 'nudge');
          const reports = actions.filter((a) => a.action === 'report');
          const nudgeable = step !== 'plan';
          const within = policy.reportWithinSeconds ?? 0;
          const early = reports.filter((a) => a.at < limit + within);
          const late = reports.filter((a) => a.at >= limit + within);
          expect(nudges).toHaveLength(nudgeable ? policy.nudges : 0);
          // Reported within 15 minutes of the limit, by distinct regions, one per sweep period.
          expect(within).toBe(900);
          expect(early).toHaveLength(nudgeable ? 2 : CLAIM_SET.length);
          expect(new Set(early.map((a) => a.region)).size).toBe(early.length);
          for (let i = 1; i < early.length; i += 1)
            expect((early[i]?.at ?? 0) - (early[i - 1]?.at ?? 0)).toBeGreaterThan(0);
          // Once the nudges are used up, every region of the claim set reports once more.
          expect(late).toHaveLength(nudgeable ? CLAIM_SET.length : 0);
          expect(new Set(late.map((a) => a.region)).size).toBe(late.length);
          // A nudged step gets a full stall limit to run before the next nudge or late report.
          const driving = [...nudges, ...late];
          for (let i = 1; i < driving.length; i += 1) {
            const gap = (driving[i]?.at ?? 0) - (driving[i - 1]?.at ?? 0);
            expect(gap).toBeGreaterThan(limit - policy.sweepEverySeconds);
          }
          expect(actions[0]?.at ?? 0).toBeGreaterThanOrEqual(limit);
          if (nudgeable) expect(actions[0]?.action).toBe('nudge');
          // Every nudge comes before every late report.
          if (nudges.length > 0 && late.length > 0) {
            expect(nudges[nudges.length - 1]?.at ?? 0).toBeLessThan(late[0]?.at ?? 0);
          }
        },
      ),
    );
  });
});

/** The world's control buckets and a bus of the sweeper's own, sweeping from `here`. */
function sweeper(w: RecoveryWorld, here: string) {
  const bus = new RecordingEventBus();
  const deps: ReconcileDeps = {
    regions: w.config.regions.map((r) => r.name),
    here,
    documents: w.bucket,
    bus,
  };
  return { deps, bus };
}

/** A recovery out of us-east-1 whose plan is recorded and whose "Recovery Planned" was lost. */
async function lostAfterPlan(w: RecoveryWorld): Promise<RecoveryRun> {
  await w.seed();
  await w.snapshot();
  w.fail('us-east-1');
  const started = await startRecovery(w.deps, {
    instance: w.instance(),
    failedRegion: 'us-east-1',
    claimant: 'delivery-a',
    incident: { incidentId: 'us-east-1-incident-1' },
  });
  if (started.outcome !== 'started') throw new Error(`test: recovery ${started.outcome}`);
  const run = await runRecoveryStep(w.deps, started.run.runId, 'plan', started.run.claimSet);
  w.bus.events.length = 0;
  return run;
}

describe('sweepRuns', () => {
  it('resumes a run whose chain event was lost through the normal chain', async () => {
    const w = recoveryWorld();
    const planned = await lostAfterPlan(w);
    expect(planned.claimSet).toEqual(CLAIM_SET);
    w.clock.advance(RESTORE_LIMIT * SECOND);

    const owner = sweeper(w, 'eu-west-1');
    const report = await sweepRuns(owner.deps, w.clock.peek());
    expect(report.unreachable.map((u) => u.region)).toEqual(['us-east-1']);
    expect(owner.bus.events.map((e) => e.detailType)).toEqual([RecoveryEvent.plan]);
    // The sweeper only read: the run's record is untouched.
    expect((await loadRun(w.deps, planned.runId, CLAIM_SET))?.seq).toBe(planned.seq);

    // The chain's restore function receives the re-emitted event and moves the run on.
    const detail = owner.bus.events[0]?.detail as { runId: string; claimSet: string[] };
    const restored = await runRecoveryStep(w.deps, detail.runId, 'restore', detail.claimSet);
    expect(restored.steps.restore?.status).toBe('done');

    // Progress was recorded: the same window no longer counts the run as stalled.
    const again = sweeper(w, 'eu-west-1');
    await sweepRuns(again.deps, w.clock.peek());
    expect(again.bus.events).toEqual([]);
  });

  it('publishes nothing from the regions whose turn it is not', async () => {
    const w = recoveryWorld();
    await lostAfterPlan(w);
    w.clock.advance(RESTORE_LIMIT * SECOND);
    for (const region of ['us-east-2', 'us-west-2', 'us-east-1']) {
      const other = sweeper(w, region);
      const report = await sweepRuns(other.deps, w.clock.peek());
      expect(other.bus.events, region).toEqual([]);
      expect(report.runs, region).toBe(1);
    }
  });

  it('finds runs through any reachable copy when regions of the claim set are down', async () => {
    const w = recoveryWorld();
    await lostAfterPlan(w);
    w.bucket('eu-west-1').unreachable = true;
    w.bucket('us-east-2').unreachable = true;
    // Window 2 belongs to us-west-2, the one copy left: past the nudges, it reports.
    w.clock.advance((RECONCILE_POLICY.nudges + 1) * RESTORE_LIMIT * SECOND);
    const last = sweeper(w, 'us-west-2');
    const report = await sweepRuns(last.deps, w.clock.peek());
    expect(report.unreachable.map((u) => u.region).sort()).toEqual([
      'eu-west-1',
      'us-east-1',
      'us-east-2',
    ]);
    expect(last.bus.details(RecoveryEvent.failed)).toEqual([
      expect.objectContaining({ runId: 'petstore-g1', step: 'restore', stalled: true }),
    ]);
  });

  it('keeps sweeping the other runs when publishing one fails', async () => {
    const w = recoveryWorld();
    await lostAfterPlan(w);
    w.clock.advance(RESTORE_LIMIT * SECOND);
    const owner = sweeper(w, 'eu-west-1');
    owner.bus.failWith = new Error('bus down');
    const report = await sweepRuns(owner.deps, w.clock.peek());
    expect(report.unpublished).toEqual([{ runId: 'petstore-g1', reason: 'bus down' }]);
    expect(report.verdicts).toEqual([expect.objectContaining({ action: 'nudge' })]);
  });

  it('reads a completed run once, not once per region', async () => {
    const w = recoveryWorld();
    await w.recover();
    const owner = sweeper(w, 'eu-west-1');
    const loadsBefore = CLAIM_SET.map(
      (r) => w.bucket(r).inner.calls.filter((c) => c.op === 'load').length,
    );
    const report = await sweepRuns(owner.deps, w.clock.peek());
    const loads = CLAIM_SET.map(
      (r, i) =>
        w.bucket(r).inner.calls.filter((c) => c.op === 'load').length - (loadsBefore[i] ?? 0),
    );
    expect(report.verdicts).toEqual([expect.objectContaining({ action: 'none', why: 'finished' })]);
    expect(loads.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('resumes a stalled failback through the failback function with its own claimant', async () => {
    const w = recoveryWorld();
    await w.recover();
    w.heal('us-east-1');
    const started = await startFailback(w.deps, {
      instance: w.instance(),
      home: 'us-east-1',
      claimant: 'recovered-a',
    });
    if (started.outcome !== 'started') throw new Error(`test: failback ${started.outcome}`);
    // The invocation that recorded the run died before fencing; its retries were lost.
    const limit = RECONCILE_POLICY.stallLimitSeconds.failback.fence ?? 0;
    w.clock.advance(limit * SECOND);
    const owner = sweeper(w, started.run.claimSet[0] ?? '');
    await sweepRuns(owner.deps, w.clock.peek());
    const [request] = owner.bus.details<FailbackRequest>(DetailType.FailbackRequested);
    expect(request).toMatchObject({ instanceId: 'petstore', region: 'us-east-1' });
    if (!request) return;

    const response = await respondToFailbackRequest(w.deps, request);
    expect(response).toMatchObject({ action: 'failback', outcome: 'resumed', status: 'completed' });
    expect(response).toMatchObject({ runId: started.run.runId });
  });
});
