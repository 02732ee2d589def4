import type { InstanceConfig } from '../../config/schema.ts';
import { RecoveryEvent } from '../events.ts';
import { approvalGate, planEventFor } from './approval.ts';
import { claim, claimSet } from './claims.ts';
import type { RecoveryDeps } from './ports.ts';
import { generationKey, type RecoveryRun, type StepRecord } from './run.ts';
import { latestGeneration, loadRun, saveRun } from './run-store.ts';
import { driveRun, runStep, type StepTable } from './step-engine.ts';
import { plan } from './steps/plan-recovery.ts';
import { restore } from './steps/restore-instance.ts';
import { shift } from './steps/shift-traffic.ts';
import { verify } from './steps/verify-instance.ts';

/**
 * One recovery of one instance out of a failed region: claimed once, then
 * plan → restore → verify → shift, each step recorded before the next starts.
 */

// Kept for importers of the names from before the steps moved to steps/.
export { currentReservations } from './steps/plan-recovery.ts';
export { decideReturnedHome, type ReturnedHomeDecision } from './steps/shift-traffic.ts';

/** The steps of a recovery run, in order. */
export const RECOVERY_STEPS = ['plan', 'restore', 'verify', 'shift'] as const;

/** A request to recover an instance out of its failed region. */
export interface RecoveryRequest {
  instance: InstanceConfig;
  failedRegion: string;
  claimant: string;
  incident: RecoveryRun['incident'];
}

/** How a request to recover an instance ended. */
export type StartOutcome =
  | { outcome: 'started' | 'resumed'; run: RecoveryRun }
  | { outcome: 'duplicate'; runId: string; claimant: string }
  | { outcome: 'not-primary'; primary: string }
  | { outcome: 'undecided'; holders: Record<string, string> };

/**
 * Claims the next generation of an instance for a recovery out of `failedRegion`, unless the
 * instance is not (any longer) primary there or another claimant already runs it.
 */
export async function startRecovery(
  deps: RecoveryDeps,
  input: RecoveryRequest,
): Promise<StartOutcome> {
  const { instance, failedRegion } = input;
  const regions = deps.config.regions.map((r) => r.name);
  const { generation, claim: latest } = await latestGeneration(deps, instance.id);
  let primary = instance.homeRegion;
  if (latest) {
    const runId = String(latest.payload.runId);
    const run = await loadRun(deps, runId, latest.claimSet);
    // A run that kept home is over (see keepHome): a new outage of home needs a new generation.
    // So is a run an approver rejected: nothing changed, and a new incident may ask again.
    const keptHome =
      latest.payload.kind === 'recovery' &&
      (run?.rolledBack === true || run?.approval?.decision === 'rejected');
    if (latest.payload.kind === 'recovery' && latest.payload.from === failedRegion && !keptHome) {
      // The same outage, seen again (another detector, a late or repeated event). A failed run
      // is not restarted behind the operator's back: `lifeboat resume` picks it up.
      if (latest.claimant === input.claimant) {
        if (run) return { outcome: 'resumed', run };
        // The claim was won but the run never recorded (a crash in between): record it now.
        return {
          outcome: 'started',
          run: await recordNewRun(deps, input, latest.claimSet, generation, runId),
        };
      }
      // Another detector's delivery won the claim. If its run is recorded but not planned yet,
      // this one plans it too: the winner's invocation may have died (its Lambda retries come
      // 1 and 3 minutes later, past the RTO; sim seed 42), and planning twice is safe (the step
      // engine records one result; capacity.ts counts a run's own slots first, bug 12).
      if (run?.status === 'running' && run.steps.plan?.status !== 'done')
        return { outcome: 'resumed', run };
      return { outcome: 'duplicate', runId, claimant: latest.claimant };
    }
    if (await isStale(deps, input.incident, latest, run)) {
      return { outcome: 'duplicate', runId, claimant: latest.claimant };
    }
    primary = servingRegion(instance, latest.payload.kind, run);
  }
  if (primary !== failedRegion) return { outcome: 'not-primary', primary };

  const next = generation + 1;
  const runId = `${instance.id}-g${next}`;
  const now = deps.clock.now().toISOString();
  const set = claimSet(regions, [failedRegion]);
  const result = await claim(
    {
      key: generationKey(instance.id, next),
      claimant: input.claimant,
      claimSet: set,
      claimedAt: now,
      payload: { runId, kind: 'recovery', from: failedRegion, instanceId: instance.id },
    },
    (r) => deps.documents(r),
    deps.sleep,
  );
  if (result.outcome === 'undecided') return { outcome: 'undecided', holders: result.holders };
  if (result.outcome === 'lost') {
    return {
      outcome: 'duplicate',
      runId: String(result.winner.payload.runId),
      claimant: result.winner.claimant,
    };
  }
  const existing = await loadRun(deps, runId, set);
  if (existing) return { outcome: 'resumed', run: existing };
  return { outcome: 'started', run: await recordNewRun(deps, input, set, next, runId) };
}

/** Where the instance serves after its latest run: what a new outage must be compared with. */
function servingRegion(
  instance: InstanceConfig,
  kind: unknown,
  run: RecoveryRun | undefined,
): string {
  if (!run) return instance.homeRegion;
  if (kind === 'failback') {
    // A failback that did not complete (rolled back, or stopped) leaves the instance where
    // the recovery put it.
    return run.status === 'completed' ? (run.target ?? instance.homeRegion) : run.from;
  }
  return run.status === 'completed' && run.target ? run.target : run.from;
}

/**
 * An outage confirmation older than the latest generation, or for the incident an earlier
 * recovery already handled, is a late delivery: it must not start a recovery after failback.
 */
async function isStale(
  deps: RecoveryDeps,
  incident: RecoveryRun['incident'],
  latest: { claimedAt: string; payload: Record<string, unknown> },
  run: RecoveryRun | undefined,
): Promise<boolean> {
  if (incident.confirmedAt && Date.parse(incident.confirmedAt) < Date.parse(latest.claimedAt))
    return true;
  if (!incident.incidentId) return false;
  if (run?.incident.incidentId === incident.incidentId) return true;
  if (run?.recoveryRunId) {
    const undone = await loadRun(deps, run.recoveryRunId, run.claimSet);
    if (undone?.incident.incidentId === incident.incidentId) return true;
  }
  return false;
}

async function recordNewRun(
  deps: RecoveryDeps,
  input: RecoveryRequest,
  set: string[],
  generation: number,
  runId: string,
): Promise<RecoveryRun> {
  const now = deps.clock.now().toISOString();
  const steps = Object.fromEntries(
    RECOVERY_STEPS.map((s) => [s, { status: 'pending', attempts: 0 }]),
  ) as Record<string, StepRecord>;
  return saveRun(deps, {
    runId,
    kind: 'recovery',
    instanceId: input.instance.id,
    generation,
    from: input.failedRegion,
    claimant: input.claimant,
    claimSet: set,
    status: 'running',
    incident: input.incident,
    steps,
    seq: 0,
    startedAt: now,
    updatedAt: now,
  });
}
/** The recovery run's steps, for the engine. */
export const RECOVERY_TABLE: StepTable = {
  steps: RECOVERY_STEPS,
  work: { plan, restore, verify, shift },
  events: {
    plan: RecoveryEvent.plan,
    restore: RecoveryEvent.restore,
    verify: RecoveryEvent.verify,
    shift: RecoveryEvent.shift,
  },
  failedEvent: RecoveryEvent.failed,
  eventFor: (step, run) => (step === 'plan' ? planEventFor(run) : undefined),
  gate: approvalGate,
};

/** Runs one recovery step (the chain's handlers). */
export const runRecoveryStep = (
  deps: RecoveryDeps,
  runId: string,
  step: string,
  regions: readonly string[],
) => runStep(deps, runId, step, regions, RECOVERY_TABLE);

/** Runs a recovery's remaining steps in this process. */
export const driveRecovery = (deps: RecoveryDeps, run: RecoveryRun) =>
  driveRun(deps, run, RECOVERY_TABLE);
