import type { InstanceConfig } from '../../config/schema.ts';
import { FailbackEvent } from '../events.ts';
import { claim, claimSet } from './claims.ts';
import type { RecoveryDeps } from './ports.ts';
import { generationKey, type RecoveryRun, type StepRecord } from './run.ts';
import { latestGeneration, loadRun, saveRun } from './run-store.ts';
import { driveRun, type StepTable } from './step-engine.ts';
import {
  canaryShift,
  fence,
  finalSnapshot,
  release,
  restoreHome,
  undoFailedStep,
  verifyHome,
} from './steps/failback.ts';

/**
 * Failback: bring an instance home once its home region has recovered, without losing a
 * write the recovered instance accepted meanwhile.
 *
 *   fence     the recovered instance stops taking config writes
 *   snapshot  a final snapshot of it, committed by quorum (it holds every accepted write)
 *   restore   that snapshot into the home region's store, every hash checked; activate
 *   verify    home serves exactly the final snapshot's config
 *   shift     weights move home in canary steps; health is watched at every step and any
 *             regression rolls back to the recovered region (and unfences it)
 *   release   the recovery's capacity slots are given back
 *
 * snapshot, restore, verify and shift are only sound while the recovered instance stays fenced:
 * once it takes writes again, the final snapshot misses them. So each of them checks the fence
 * first, and a failure that unfences sends fence, snapshot, restore and verify back to pending.
 */

/** The steps of a failback run, in order. */
export const FAILBACK_STEPS = [
  'fence',
  'snapshot',
  'restore',
  'verify',
  'shift',
  'release',
] as const;

/** How a failback request ended. */
export type FailbackStart =
  | { outcome: 'started' | 'resumed'; run: RecoveryRun }
  | { outcome: 'duplicate'; runId: string }
  | { outcome: 'nothing-to-do'; reason: string }
  | { outcome: 'undecided'; holders: Record<string, string> };

/**
 * Claims the next generation of an instance for a failback to `home`, when its latest run is a
 * completed recovery out of `home`. Exactly one claimant wins, as for recoveries.
 */
export async function startFailback(
  deps: RecoveryDeps,
  input: { instance: InstanceConfig; home: string; claimant: string; retryRolledBack?: boolean },
): Promise<FailbackStart> {
  const { instance, home } = input;
  const { generation, claim: latest } = await latestGeneration(deps, instance.id);
  if (!latest)
    return { outcome: 'nothing-to-do', reason: `${instance.id} has never been recovered` };
  const latestRun = await loadRun(deps, String(latest.payload.runId), latest.claimSet);
  // What to undo: the recovery itself, or a failback that rolled back to the recovered region.
  let undo: {
    from: string;
    recoveryRunId: string;
    reservation?: RecoveryRun['reservation'];
    incident: RecoveryRun['incident'];
  };
  if (latest.payload.kind === 'failback') {
    // The same delivery again (a retry) gets its own run back, even a failed one: a failed run
    // does not move by itself, so a rolled-back failback is not run a second time.
    if (latest.claimant === input.claimant && latestRun)
      return { outcome: 'resumed', run: latestRun };
    if (latestRun?.status === 'completed')
      return { outcome: 'nothing-to-do', reason: `${instance.id} is already home` };
    // After a rollback only an operator tries again (`lifeboat failback --approve`): another
    // detector's "Region Recovered" arriving a moment later must not start a second canary
    // into the same regression.
    if (!(latestRun?.status === 'failed' && latestRun.rolledBack && input.retryRolledBack)) {
      return { outcome: 'duplicate', runId: String(latest.payload.runId) };
    }
    // A rolled-back failback left the instance serving where it was; the operator tries again.
    undo = {
      from: latestRun.from,
      recoveryRunId: latestRun.recoveryRunId ?? latestRun.runId,
      ...(latestRun.reservation ? { reservation: latestRun.reservation } : {}),
      incident: latestRun.incident,
    };
  } else {
    if (latest.payload.from !== home || latestRun?.status !== 'completed' || !latestRun.target) {
      return {
        outcome: 'nothing-to-do',
        reason: `${instance.id}'s latest run (${latest.payload.runId}) is not a completed recovery out of ${home}`,
      };
    }
    undo = {
      from: latestRun.target,
      recoveryRunId: latestRun.runId,
      ...(latestRun.reservation ? { reservation: latestRun.reservation } : {}),
      incident: latestRun.incident,
    };
  }
  const next = generation + 1;
  const runId = `${instance.id}-g${next}`;
  const now = deps.clock.now().toISOString();
  const set = claimSet(
    deps.config.regions.map((r) => r.name),
    [],
  );
  const result = await claim(
    {
      key: generationKey(instance.id, next),
      claimant: input.claimant,
      claimSet: set,
      claimedAt: now,
      payload: {
        runId,
        kind: 'failback',
        from: latestRun.target,
        to: home,
        instanceId: instance.id,
      },
    },
    (r) => deps.documents(r),
    deps.sleep,
  );
  if (result.outcome === 'undecided') return { outcome: 'undecided', holders: result.holders };
  if (result.outcome === 'lost')
    return { outcome: 'duplicate', runId: String(result.winner.payload.runId) };
  const existing = await loadRun(deps, runId, set);
  if (existing) return { outcome: 'resumed', run: existing };
  const steps: Record<string, StepRecord> = Object.fromEntries(
    FAILBACK_STEPS.map((s) => [s, { status: 'pending', attempts: 0 }]),
  );
  const run = await saveRun(deps, {
    runId,
    kind: 'failback',
    instanceId: instance.id,
    generation: next,
    from: undo.from,
    target: home,
    claimant: input.claimant,
    claimSet: set,
    status: 'running',
    incident: undo.incident,
    recoveryRunId: undo.recoveryRunId,
    ...(undo.reservation ? { reservation: undo.reservation } : {}),
    steps,
    seq: 0,
    startedAt: now,
    updatedAt: now,
  });
  return { outcome: 'started', run };
}

/** The failback run's steps, for the engine. */
export const FAILBACK_TABLE: StepTable = {
  steps: FAILBACK_STEPS,
  work: {
    fence,
    snapshot: finalSnapshot,
    restore: restoreHome,
    verify: verifyHome,
    shift: canaryShift,
    release,
  },
  events: { release: FailbackEvent.completed },
  failedEvent: FailbackEvent.failed,
  onFailure: undoFailedStep,
};

/** Runs a failback's remaining steps in this process. */
export const driveFailback = (deps: RecoveryDeps, run: RecoveryRun) =>
  driveRun(deps, run, FAILBACK_TABLE);
