import type { InstanceConfig } from '../../config/schema.ts';
import { RunStepError } from '../../errors.ts';
import { snapshotIdFor, snapshotTime } from '../snapshot/format.ts';
import { restoreSnapshot } from '../snapshot/restore.ts';
import { takeSnapshot } from '../snapshot/take-snapshot.ts';
import { releaseSlots } from './capacity.ts';
import { claim, claimSet } from './claims.ts';
import type { Weights } from './ports.ts';
import {
  awaitServing,
  dnsSpecFor,
  driveRun,
  generationKey,
  instanceOf,
  latestGeneration,
  loadRun,
  type RecoveryDeps,
  type RecoveryRun,
  type StepContext,
  type StepRecord,
  type StepTable,
  saveRun,
} from './run-store.ts';
import { canarySteps, describeWeights, failoverWeights } from './weights.ts';

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

/** Detail types of failback events. */
export const FailbackEvent = {
  completed: 'Failback Completed',
  failed: 'Failback Failed',
} as const;

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

async function fence(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  await deps.instances.fence(run.instanceId, run.from);
  const health = await deps.instances.health(run.instanceId, run.from);
  if (health.fenced !== true)
    throw new RunStepError('fence', `instance in ${run.from} does not report itself fenced`);
  return {};
}

/** The steps whose work is only valid while the recovered instance stays fenced. */
const FENCED_STEPS = ['fence', 'snapshot', 'restore', 'verify'] as const;

/**
 * Fails the step unless the recovered instance reports itself fenced. The run record can say
 * "fenced" when the instance is not: the clean-up of a failure unfenced it and the process died
 * before recording that. Carrying on would restore and shift to a snapshot that misses writes.
 */
async function requireFenced(deps: RecoveryDeps, run: RecoveryRun, step: string): Promise<void> {
  const health = await deps.instances.health(run.instanceId, run.from);
  if (health.fenced === true) return;
  if (health.fenced === false) {
    throw new RunStepError(
      step,
      `the instance in ${run.from} is no longer fenced, so the final snapshot may miss writes it took: resume to fence it again and take a new final snapshot`,
      { final: true },
    );
  }
  throw new RunStepError(
    step,
    `cannot confirm that the instance in ${run.from} is still fenced: ${health.error ?? 'it does not say'}`,
  );
}

async function finalSnapshot(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  await requireFenced(deps, run, 'snapshot');
  const instance = instanceOf(deps, run);
  const snapshotId = snapshotIdFor(deps.clock.now());
  const result = await takeSnapshot({
    instanceId: instance.id,
    sourceRegion: run.from,
    source: deps.instanceStore(run.from),
    replicas: instance.replicaRegions.map((region) => ({ region, vault: deps.vault(region) })),
    quorum: Math.min(
      instance.snapshot.quorum ?? Math.floor(instance.replicaRegions.length / 2) + 1,
      instance.replicaRegions.length,
    ),
    snapshotId,
    clock: deps.clock,
  });
  if (!result.committed) {
    throw new RunStepError(
      'snapshot',
      `final snapshot reached ${result.regionsCommitted.length} of ${result.quorum} regions: ${result.regionsFailed.map((f) => `${f.region} (${f.reason})`).join('; ')}`,
    );
  }
  // Restore from home's own bucket when it holds the snapshot: no cross-region read.
  const region = result.regionsCommitted.includes(run.target ?? '')
    ? (run.target as string)
    : (result.regionsCommitted[0] as string);
  return {
    snapshot: {
      snapshotId: result.snapshotId,
      region,
      configDigest: result.configDigest,
      takenAt: snapshotTime(result.snapshotId).toISOString(),
    },
  };
}

async function restoreHome(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RunStepError('restore', 'run has no final snapshot');
  await requireFenced(deps, run, 'restore');
  await restoreSnapshot({
    vault: deps.vault(snapshot.region),
    target: deps.instanceStore(target),
    instanceId: run.instanceId,
    snapshotId: snapshot.snapshotId,
  });
  // Home may have been fenced when it came back before the recovery's shift (recovery-run.ts):
  // it now holds every write, so it must take writes again.
  await deps.instances.unfence(run.instanceId, target);
  await deps.instances.activate(run.instanceId, target);
  return {};
}

async function verifyHome(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RunStepError('verify', 'run has no final snapshot');
  await requireFenced(deps, run, 'verify');
  await awaitServing(deps, run.instanceId, target, snapshot.configDigest, 'verify');
  return {};
}

/**
 * Thrown by a canary that another invocation took over (a retry or duplicate of the same
 * delivery, an operator's resume): it stops without touching traffic or the fence again. The
 * engine sees the run moved on and leaves it to the other invocation.
 */
const takenOver = (run: RecoveryRun) =>
  new RunStepError('shift', `another invocation took over the canary of ${run.runId}`);

async function canaryShift(
  deps: RecoveryDeps,
  run: RecoveryRun,
  context: StepContext,
): Promise<Partial<RecoveryRun>> {
  const instance = instanceOf(deps, run);
  const home = run.target as string;
  const spec = dnsSpecFor(instance);
  const regions = Object.keys(spec.targets);
  const policy = deps.config.failback;
  await requireFenced(deps, run, 'shift');
  // The canary is the one step that must never run twice at once: a second canary working from
  // an older view would move traffic back, or roll back and unfence, after this one is done.
  if (!(await context.take({ canary: [] }))) throw takenOver(run);
  const before = await deps.dns.readWeights(spec);
  const history: Weights[] = [];
  for (const weights of canarySteps(run.from, home, regions, policy.canaryPercents)) {
    if (!(await context.holds())) throw takenOver(run);
    await deps.dns.applyWeights(spec, weights);
    history.push(weights);
    for (let check = 0; check < policy.healthChecksPerStep; check += 1) {
      await deps.sleep((policy.stepSeconds * 1000) / policy.healthChecksPerStep);
      const health = await deps.instances.health(run.instanceId, home);
      if (!health.ok) {
        if (!(await context.holds())) throw takenOver(run);
        // Roll back: all traffic to the instance that was serving, which may take writes again.
        const rollback = failoverWeights(regions, run.from);
        await deps.dns.applyWeights(spec, rollback);
        await deps.instances.unfence(run.instanceId, run.from);
        throw new RunStepError(
          'shift',
          `home health regressed at ${describeWeights(weights)} (${health.error ?? 'unhealthy'}): rolled back to ${run.from}`,
          { final: true, changes: { weights: { before, after: rollback }, rolledBack: true } },
        );
      }
    }
  }
  const after = await deps.dns.readWeights(spec);
  return { weights: { before, after }, canary: history };
}

async function release(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  if (run.reservation) {
    const { region, slots } = run.reservation;
    await releaseSlots({ region, slots, release: (key) => deps.deleteControlKey(region, key) });
  }
  return {};
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
  // A failback that stops after fencing and before the shift must not leave the only serving
  // instance refusing writes. (The shift's own rollback unfences too.) Once it takes writes
  // again, its final snapshot and what was restored from it are stale: a resume must fence
  // again and take a new one, so those steps go back to pending.
  onFailure: async (deps, run, step) => {
    if ((FENCED_STEPS as readonly string[]).includes(step)) {
      await deps.instances.unfence(run.instanceId, run.from);
      return reopenFencedSteps(deps, run, step);
    }
    if (step === 'shift') {
      // A shift that failed without a rollback leaves the instance fenced, and the resume goes on
      // with the canary. Unfenced (a rollback, or a clean-up whose record was lost), it cannot.
      const health = await deps.instances.health(run.instanceId, run.from);
      if (health.fenced === false) return reopenFencedSteps(deps, run, step);
    }
    return undefined;
  },
};

/** Sends fence, snapshot, restore and verify back to pending, with the final snapshot dropped. */
function reopenFencedSteps(
  deps: RecoveryDeps,
  run: RecoveryRun,
  failedStep: string,
): Partial<RecoveryRun> {
  const detail = `undone: the instance in ${run.from} was unfenced after ${failedStep} failed`;
  const at = deps.clock.now().toISOString();
  const steps: Record<string, StepRecord> = {};
  for (const step of FENCED_STEPS) {
    if (step === failedStep) continue;
    steps[step] = { status: 'pending', attempts: run.steps[step]?.attempts ?? 0, at, detail };
  }
  return { steps, snapshot: undefined };
}

/** Runs a failback's remaining steps in this process. */
export const driveFailback = (deps: RecoveryDeps, run: RecoveryRun) =>
  driveRun(deps, run, FAILBACK_TABLE);
