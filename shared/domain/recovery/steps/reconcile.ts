import { DetailType, FailbackEvent, RecoveryEvent } from '../../events.ts';
import type { DocumentStore, EventBus, LifeboatEvent } from '../../ports.ts';
import { awaitingApproval, awaitingApprovalEvent } from '../approval.ts';
import { FAILBACK_STEPS } from '../failback-run.ts';
import { RECOVERY_STEPS } from '../recovery-run.ts';
import { type RecoveryRun, runEventDetail, runKey } from '../run-store.ts';

/**
 * The sweeper for stalled runs. A run stays "running" with nobody told when every delivery of
 * its next step is lost (the invocation and both Lambda retries die before the step is
 * recorded, or a chain event runs out of EventBridge retries). On a schedule, every region
 * lists the recorded runs; for a run with no recorded progress for longer than its next step
 * can legitimately take, it re-emits the event that triggers that step (the normal chain then
 * resumes it, idempotently), and after a few of those it emits "Recovery Failed" / "Failback
 * Failed" so that someone is told. It never runs a step and never writes a run.
 *
 * Stateless on purpose (its role may only read runs and publish): what to do is decided from
 * the run's age alone. Time since the run's last update is cut into windows as long as the
 * step's stall limit; in each window exactly one region of the claim set acts (they take turns,
 * so a dead region only costs its own windows), and only on the first tick of the window. Since
 * a window is as long as the step may legitimately run, a nudged step has finished or recorded
 * progress before the next window can nudge it again: nothing is driven twice at once.
 */

/** How eager the sweeper is. */
export interface ReconcilePolicy {
  /** The schedule's period: one tick per region falls into each window's first `sweepEverySeconds`. */
  sweepEverySeconds: number;
  /** Re-emissions of a stalled step's trigger before the run is reported stalled. */
  nudges: number;
  /**
   * How long each step may go without the run recording progress before it counts as stalled:
   * longer than the function that runs it can take over its first attempt and both Lambda
   * retries (3 × timeout + the 1 and 2 minute waits between them).
   */
  stallLimitSeconds: Record<RecoveryRun['kind'], Record<string, number>>;
  /**
   * Every stalled run is reported within this long after its step's limit, whatever the nudges
   * do afterwards (default 900 s): an operator hears of a stuck step in minutes, not hours.
   */
  reportWithinSeconds?: number;
}

/** Every failback step runs in one invocation of the failback function (timeout 900 s). */
const FAILBACK_STALL_SECONDS = 3000;

/**
 * The deployed policy. The stall limits follow serverless.yml's timeouts (planRecovery 120 s,
 * restoreInstance 900 s, verifyInstance and shiftTraffic 300 s, failback 900 s); the infra test
 * checks them against the packaged template, and the schedule against `sweepEverySeconds`.
 */
export const RECONCILE_POLICY: ReconcilePolicy = {
  sweepEverySeconds: 300,
  nudges: 2,
  reportWithinSeconds: 900,
  stallLimitSeconds: {
    recovery: { plan: 900, restore: 3000, verify: 1200, shift: 1200 },
    failback: Object.fromEntries(FAILBACK_STEPS.map((step) => [step, FAILBACK_STALL_SECONDS])),
  },
};

/**
 * The event whose rule runs each recovery step. `plan` has none: the planner claims with the
 * outage delivery's own id, so a re-emitted "Region Outage Confirmed" would lose to the claim
 * it already holds. A run stalled at `plan` is reported at once.
 */
const RECOVERY_TRIGGERS: Record<string, string | undefined> = {
  plan: undefined,
  restore: RecoveryEvent.plan,
  verify: RecoveryEvent.restore,
  shift: RecoveryEvent.verify,
};

/** What the sweeper does about one run on one tick. */
export type RunVerdict =
  | {
      runId: string;
      action: 'none';
      why:
        | 'finished'
        | 'progressing'
        | 'between-windows'
        | 'another-region'
        | 'already-reported'
        | 'awaiting-approval';
    }
  | {
      runId: string;
      action: 'nudge' | 'report';
      step: string;
      window: number;
      event: LifeboatEvent;
    };

/** What `judgeRun` needs besides the run. */
export interface JudgeContext {
  /** The schedule tick's time: every retry of one tick decides the same way. */
  now: Date;
  /** The region this sweeper runs in. */
  here: string;
  /** The newest generation recorded for the run's instance: only that one may be nudged. */
  newestGeneration: number;
  policy: ReconcilePolicy;
}

const stepsOf = (run: RecoveryRun): readonly string[] =>
  run.kind === 'failback' ? FAILBACK_STEPS : RECOVERY_STEPS;

/** The first step the run has not recorded as done. */
export function pendingStep(run: RecoveryRun): string | undefined {
  return stepsOf(run).find((step) => run.steps[step]?.status !== 'done');
}

/** Decides, from the run's record and the tick's time alone, whether to nudge or report it. */
export function judgeRun(run: RecoveryRun, context: JudgeContext): RunVerdict {
  const { runId } = run;
  if (run.status !== 'running') return { runId, action: 'none', why: 'finished' };
  // A run waiting for its approver is not stalled: only its timeout can move it.
  if (awaitingApproval(run)) return judgeAwaitingApproval(run, context);
  const steps = stepsOf(run);
  // All steps done yet running cannot be recorded by the engine; report it as the last step.
  const step = pendingStep(run) ?? steps[steps.length - 1] ?? 'plan';
  const limit = context.policy.stallLimitSeconds[run.kind][step] ?? FAILBACK_STALL_SECONDS;
  const stalledFor = (context.now.getTime() - Date.parse(run.updatedAt)) / 1000;
  if (!(stalledFor >= limit)) return { runId, action: 'none', why: 'progressing' };
  const window = Math.floor((stalledFor - limit) / limit);
  const trigger = triggerOf(run, step);
  // A newer generation has moved on from this run: re-emitting its step could act on an
  // instance that is no longer where the run left it, so it is only reported.
  const nudgeable = trigger !== undefined && run.generation >= context.newestGeneration;
  const slot = Math.floor((stalledFor - limit - window * limit) / context.policy.sweepEverySeconds);
  if (window === 0 && slot > 0) {
    // The first window's later sweep periods: early reports, one region per period, so that a
    // stalled step is reported within `reportWithinSeconds` of its limit, even while the nudges
    // (a full limit apart) may still move it. The first period belongs to the nudge.
    const early = earlyReporters(run, context.policy, nudgeable);
    const reporter = early[slot - (nudgeable ? 1 : 0)];
    if (reporter === undefined) return { runId, action: 'none', why: 'between-windows' };
    if (reporter !== context.here) return { runId, action: 'none', why: 'another-region' };
    return report(run, step, window, stalledReason(run, step, undefined, context, nudgeable));
  }
  if (slot > 0) return { runId, action: 'none', why: 'between-windows' };
  if (run.claimSet[window % run.claimSet.length] !== context.here)
    return { runId, action: 'none', why: 'another-region' };

  if (nudgeable && window < context.policy.nudges) {
    return {
      runId,
      action: 'nudge',
      step,
      window,
      event: { detailType: trigger, detail: nudgeDetail(run, window) },
    };
  }
  // Every region of the claim set reports once, in turn: a report from a dead region is lost,
  // and a duplicate alert is cheaper than a silent stall.
  // A run that cannot be nudged was reported by the early reporters of window 0 already.
  if (!nudgeable && window > 0) return { runId, action: 'none', why: 'already-reported' };
  const reportsFrom = nudgeable ? context.policy.nudges : 0;
  if (window >= reportsFrom + run.claimSet.length)
    return { runId, action: 'none', why: 'already-reported' };
  const reason = stalledReason(run, step, nudgeable ? trigger : undefined, context);
  return report(run, step, window, reason);
}

/**
 * The approval timeout, applied by the sweeper because it runs anyway. Windows start at the
 * timeout, one restore stall limit long, one region each, as for a stalled step. `proceed`:
 * re-sends "Recovery Planned" (the restore's gate records the approval as `timeout`), twice at
 * most, then reports the run stalled. `wait`: the first region of the claim set reminds once,
 * re-announcing "Recovery Awaiting Approval" with `timedOut: true`.
 */
function judgeAwaitingApproval(run: RecoveryRun, context: JudgeContext): RunVerdict {
  const { runId } = run;
  const timeoutAt = run.approval?.timeoutAt;
  const since = timeoutAt ? (context.now.getTime() - Date.parse(timeoutAt)) / 1000 : Number.NaN;
  if (!(since >= 0)) return { runId, action: 'none', why: 'awaiting-approval' };
  const limit = context.policy.stallLimitSeconds.recovery.restore ?? FAILBACK_STALL_SECONDS;
  const window = Math.floor(since / limit);
  const slot = Math.floor((since - window * limit) / context.policy.sweepEverySeconds);
  if (slot > 0) return { runId, action: 'none', why: 'between-windows' };
  if (run.claimSet[window % run.claimSet.length] !== context.here)
    return { runId, action: 'none', why: 'another-region' };
  if (run.approval?.onTimeout !== 'proceed') {
    if (window > 0) return { runId, action: 'none', why: 'awaiting-approval' };
    return {
      runId,
      action: 'report',
      step: 'approval',
      window,
      event: awaitingApprovalEvent(run, { timedOut: true }),
    };
  }
  if (window < context.policy.nudges)
    return {
      runId,
      action: 'nudge',
      step: 'restore',
      window,
      event: {
        detailType: RecoveryEvent.plan,
        detail: { ...runEventDetail(run), reconciled: { window, approvalTimedOutAt: timeoutAt } },
      },
    };
  if (window >= context.policy.nudges + run.claimSet.length)
    return { runId, action: 'none', why: 'already-reported' };
  return report(
    run,
    'restore',
    window,
    `approval timed out at ${timeoutAt} and the policy proceeds, but re-emitting "${RecoveryEvent.plan}" ${context.policy.nudges} time(s) did not start the restore`,
  );
}

/**
 * The regions that report a run early, in turn, one per sweep period of its first window after
 * the nudge's: as many of the claim set as fit before `reportWithinSeconds`.
 */
function earlyReporters(run: RecoveryRun, policy: ReconcilePolicy, nudgeable: boolean): string[] {
  const within = policy.reportWithinSeconds ?? 900;
  const periods = Math.floor(within / policy.sweepEverySeconds) - (nudgeable ? 1 : 0);
  return run.claimSet.slice(0, Math.max(1, periods));
}

function report(run: RecoveryRun, step: string, window: number, reason: string): RunVerdict {
  return {
    runId: run.runId,
    action: 'report',
    step,
    window,
    event: {
      detailType: run.kind === 'failback' ? FailbackEvent.failed : RecoveryEvent.failed,
      detail: { ...runEventDetail(run), step, reason, stalled: true, stalledSince: run.updatedAt },
    },
  };
}

function triggerOf(run: RecoveryRun, step: string): string | undefined {
  // The failback function drives every failback step from "Failback Requested"; the request
  // carries the run's own claimant, so startFailback resumes this run instead of claiming anew.
  if (run.kind === 'failback') return run.target ? DetailType.FailbackRequested : undefined;
  return RECOVERY_TRIGGERS[step];
}

function stalledReason(
  run: RecoveryRun,
  step: string,
  trigger: string | undefined,
  context: JudgeContext,
  nudgedOnce = false,
): string {
  const since = `stalled at step ${step} since ${run.updatedAt}`;
  if (nudgedOnce)
    return `${since}, past its ${context.policy.stallLimitSeconds[run.kind][step] ?? FAILBACK_STALL_SECONDS} s limit; re-emitted its trigger once, ${context.policy.nudges - 1} more nudge(s) to come`;
  if (trigger)
    return `${since}; re-emitted "${trigger}" ${context.policy.nudges} time(s) without progress`;
  if (run.generation < context.newestGeneration)
    return `${since}; generation ${context.newestGeneration} has started since`;
  return `${since}; no event resumes ${step}: lifeboat resume --run ${run.runId} --approve`;
}

function nudgeDetail(run: RecoveryRun, window: number) {
  const reconciled = { window, stalledSince: run.updatedAt };
  if (run.kind === 'failback') {
    return {
      instanceId: run.instanceId,
      region: run.target,
      // The request's time is informational for a failback; the run's start is the nearest.
      recoveredAt: run.startedAt,
      claimant: run.claimant,
      runId: run.runId,
      reconciled,
    };
  }
  return { ...runEventDetail(run), reconciled };
}

/** Everything a sweep needs from outside. */
export interface ReconcileDeps {
  /** Every configured region: each control bucket may hold runs. */
  regions: readonly string[];
  /** The region this sweeper runs in, and whose bus it publishes on. */
  here: string;
  /** A region's control bucket; the sweeper only lists and loads `runs/`. */
  documents(region: string): Pick<DocumentStore, 'list' | 'load'>;
  bus: EventBus;
  policy?: ReconcilePolicy;
}

/** What one sweep saw and did. */
export interface SweepReport {
  runs: number;
  verdicts: RunVerdict[];
  unreachable: { region: string; reason: string }[];
  unpublished: { runId: string; reason: string }[];
}

const RUNS_PREFIX = 'runs/';
const RUN_ID = /^(?<instanceId>.+)-g(?<generation>\d+)$/;

/** Lists every reachable region's runs, judges each, and publishes the nudges and reports. */
export async function sweepRuns(deps: ReconcileDeps, now: Date): Promise<SweepReport> {
  const policy = deps.policy ?? RECONCILE_POLICY;
  const unreachable: SweepReport['unreachable'] = [];
  /** Run id → the regions whose control bucket lists it. */
  const holders = new Map<string, string[]>();
  await Promise.all(
    deps.regions.map(async (region) => {
      try {
        for (const key of await deps.documents(region).list(RUNS_PREFIX)) {
          if (!key.endsWith('.json')) continue;
          const runId = key.slice(RUNS_PREFIX.length, -'.json'.length);
          holders.set(runId, [...(holders.get(runId) ?? []), region]);
        }
      } catch (error) {
        unreachable.push({ region, reason: (error as Error).message });
      }
    }),
  );

  const newest = new Map<string, number>();
  for (const runId of holders.keys()) {
    const match = RUN_ID.exec(runId)?.groups;
    if (!match?.instanceId) continue;
    const generation = Number(match.generation);
    newest.set(match.instanceId, Math.max(newest.get(match.instanceId) ?? 0, generation));
  }

  const verdicts: RunVerdict[] = [];
  const unpublished: SweepReport['unpublished'] = [];
  for (const [runId, regions] of [...holders].sort(([a], [b]) => a.localeCompare(b))) {
    const run = await newestCopy(deps, runId, regions);
    if (!run) continue;
    const verdict = judgeRun(run, {
      now,
      here: deps.here,
      newestGeneration: newest.get(run.instanceId) ?? run.generation,
      policy,
    });
    verdicts.push(verdict);
    if (verdict.action === 'none') continue;
    try {
      await deps.bus.publish([verdict.event]);
    } catch (error) {
      unpublished.push({ runId, reason: (error as Error).message });
    }
  }
  return { runs: holders.size, verdicts, unreachable, unpublished };
}

/**
 * The most advanced copy of a run. A completed run never changes again, so one completed copy
 * settles it: the sweep then costs one read per finished run rather than one per region.
 */
async function newestCopy(
  deps: ReconcileDeps,
  runId: string,
  regions: readonly string[],
): Promise<RecoveryRun | undefined> {
  let best: RecoveryRun | undefined;
  for (const region of regions) {
    try {
      const run = (await deps.documents(region).load(runKey(runId)))?.value as
        | RecoveryRun
        | undefined;
      if (run && (!best || run.seq > best.seq)) best = run;
    } catch {
      // An unreachable copy holds no vote; the other regions' copies decide.
    }
    if (best?.status === 'completed') return best;
  }
  return best;
}
