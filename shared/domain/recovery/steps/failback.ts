import { RunStepError } from '../../../errors.ts';
import { snapshotIdFor, snapshotTime } from '../../snapshot/format.ts';
import { restoreSnapshot } from '../../snapshot/restore.ts';
import { takeSnapshot } from '../../snapshot/take-snapshot.ts';
import { releaseSlots } from '../capacity.ts';
import { dnsSpecFor } from '../dns-spec.ts';
import { awaitFenceSettled, fenceIsAdvisory } from '../fence-settle.ts';
import type { RecoveryDeps, Weights } from '../ports.ts';
import { instanceOf, type RecoveryRun, type StepRecord } from '../run.ts';
import { type StepContext, takenOverError } from '../step-engine.ts';
import { canarySteps, describeWeights, failoverWeights } from '../weights.ts';
import { awaitServing } from './verify-instance.ts';

/** The failback's steps: fence, final snapshot, restore home, verify, canary shift, release. */

export async function fence(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  await deps.instances.fence(run.instanceId, run.from);
  const health = await deps.instances.health(run.instanceId, run.from);
  if (health.fenced !== true)
    throw new RunStepError('fence', `instance in ${run.from} does not report itself fenced`);
  return {};
}

/** The steps whose work is only valid while the recovered instance stays fenced. */
export const FENCED_STEPS = ['fence', 'snapshot', 'restore', 'verify'] as const;

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

export async function finalSnapshot(
  deps: RecoveryDeps,
  run: RecoveryRun,
): Promise<Partial<RecoveryRun>> {
  await requireFenced(deps, run, 'snapshot');
  const instance = instanceOf(deps, run);
  // A deploy that began before the fence may still land: the final snapshot waits it out.
  await awaitFenceSettled(instance, run.steps.fence?.at, deps.clock, deps.sleep);
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
    // The final snapshot is a snapshot like any other: locked when the instance's are.
    ...(instance.snapshot.objectLock ? { objectLock: instance.snapshot.objectLock } : {}),
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

export async function restoreHome(
  deps: RecoveryDeps,
  run: RecoveryRun,
): Promise<Partial<RecoveryRun>> {
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RunStepError('restore', 'run has no final snapshot');
  await requireFenced(deps, run, 'restore');
  await restoreSnapshot({
    vault: deps.vault(snapshot.region),
    target: deps.instanceStore(target),
    instanceId: run.instanceId,
    snapshotId: snapshot.snapshotId,
  });
  // Home stays fenced until the canary has moved all traffic to it (canaryShift): a canary can
  // roll back, and a write home took by then would exist nowhere else. Fenced before it is
  // activated, so it never takes a write from the data plane's failover either.
  await deps.instances.fence(run.instanceId, target);
  await deps.instances.activate(run.instanceId, target);
  return {};
}

export async function verifyHome(
  deps: RecoveryDeps,
  run: RecoveryRun,
): Promise<Partial<RecoveryRun>> {
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RunStepError('verify', 'run has no final snapshot');
  await requireFenced(deps, run, 'verify');
  const home = await awaitServing(deps, run.instanceId, target, snapshot.configDigest, 'verify');
  // restoreHome fenced it; a home taking writes now could lose them to a rollback.
  if (home.fenced === false)
    throw new RunStepError('verify', `home (${target}) is not fenced before the canary`);
  return catchUp(deps, run, target, snapshot);
}

/** Rounds of catching up with writes after the fence before the failback gives up. */
const CATCH_UP_ROUNDS = 3;

/**
 * Some kinds cannot refuse writes while fenced (API Gateway takes them from the owners'
 * pipelines, not through lifeboat), so a write may land on the recovered copy after its final
 * snapshot. Before any traffic moves home, the recovered copy's digest must still be the final
 * snapshot's; while it is not, take the final snapshot again and restore that home. For a kind
 * whose fence holds, the first comparison is equal and nothing more happens.
 */
async function catchUp(
  deps: RecoveryDeps,
  run: RecoveryRun,
  home: string,
  snapshot: NonNullable<RecoveryRun['snapshot']>,
): Promise<Partial<RecoveryRun>> {
  let current = snapshot;
  const advisory = fenceIsAdvisory(instanceOf(deps, run));
  for (let round = 0; round <= CATCH_UP_ROUNDS; round++) {
    const recovered = await deps.instances.health(run.instanceId, run.from);
    // A fence that holds took no write, whatever the copy answers now; an advisory one may have.
    if (typeof recovered.configDigest !== 'string' && advisory) {
      throw new RunStepError(
        'verify',
        `cannot read the digest of the instance in ${run.from} to see whether it took writes after its fence: ${recovered.error ?? 'it does not say'}`,
      );
    }
    if (
      typeof recovered.configDigest !== 'string' ||
      recovered.configDigest === current.configDigest
    ) {
      return current === snapshot ? {} : { snapshot: current };
    }
    if (round === CATCH_UP_ROUNDS) break;
    // Snapshot ids are UTC seconds: a catch-up in the same second would reuse the last id.
    if (snapshotIdFor(deps.clock.now()) <= current.snapshotId) await deps.sleep(1000);
    const taken = (await finalSnapshot(deps, run)).snapshot;
    if (!taken) break;
    await restoreSnapshot({
      vault: deps.vault(taken.region),
      target: deps.instanceStore(home),
      instanceId: run.instanceId,
      snapshotId: taken.snapshotId,
    });
    await deps.instances.activate(run.instanceId, home);
    await awaitServing(deps, run.instanceId, home, taken.configDigest, 'verify');
    current = taken;
  }
  throw new RunStepError(
    'verify',
    `the instance in ${run.from} kept taking writes after it was fenced (${CATCH_UP_ROUNDS} catch-up snapshots): stop the writers, then resume`,
    { changes: { snapshot: current } },
  );
}

/**
 * Thrown by a canary that another invocation took over (a retry or duplicate of the same
 * delivery, an operator's resume): it stops without touching traffic or the fence again. The
 * engine sees the run moved on and leaves it to the other invocation.
 */
const takenOver = (run: RecoveryRun) => takenOverError('shift', 'canary', run);

export async function canaryShift(
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
  const plan = canarySteps(run.from, home, regions, policy.canaryPercents);
  const final = plan[plan.length - 1] as Weights;
  // Home is unfenced only as the canary's very last act. Unfenced with the final weights, it
  // finished a canary whose record was lost (a crash, a lost answer): running the canary again
  // could roll back after home took writes, so it is done.
  if (
    sameWeights(before, final) &&
    (await deps.instances.health(run.instanceId, home)).fenced === false
  ) {
    return { weights: { before, after: before }, canary: [] };
  }
  // Rule: home takes no config write until the canary is over (docs/recovery.md, "Failback").
  // verify saw it fenced; fencing again is idempotent and covers a restarted runtime.
  await deps.instances.fence(run.instanceId, home);
  // Home was fenced by the restore step: a writer that has not seen that yet must not find it
  // taking traffic (and so writes) that a rollback would strand.
  await awaitFenceSettled(instance, run.steps.restore?.at, deps.clock, deps.sleep);
  const history: Weights[] = [];
  // When each step took effect, so the report shows every canary step on its time axis.
  const times: string[] = [];
  for (const weights of plan) {
    if (!(await context.holds())) throw takenOver(run);
    await deps.dns.applyWeights(spec, weights);
    history.push(weights);
    times.push(deps.clock.now().toISOString());
    for (let check = 0; check < policy.healthChecksPerStep; check += 1) {
      await deps.sleep((policy.stepSeconds * 1000) / policy.healthChecksPerStep);
      const health = await deps.instances.health(run.instanceId, home);
      if (!health.ok) {
        if (!(await context.holds())) throw takenOver(run);
        await rollBack(
          deps,
          run,
          spec,
          `home health regressed at ${describeWeights(weights)} (${health.error ?? 'unhealthy'}): rolled back to ${run.from}`,
          { before, history, times },
        );
      }
    }
  }
  const after = await deps.dns.readWeights(spec);
  if (!(await context.holds())) throw takenOver(run);
  if (fenceIsAdvisory(instance) && (await tookWritesSinceSnapshot(deps, run))) {
    await rollBack(
      deps,
      run,
      spec,
      `the instance in ${run.from} took writes after its final snapshot, during the canary: rolled back to ${run.from}; resume to take a new final snapshot`,
      { before, history, times },
    );
  }
  // All traffic is home and the recovered copy stays fenced: home is the one primary now.
  await deps.instances.unfence(run.instanceId, home);
  return { weights: { before, after }, canary: history, canaryAt: times };
}

/**
 * The last guard of a kind whose fence writers may ignore: before home becomes the one primary,
 * the recovered copy must still hold exactly the final snapshot. If a write landed there after
 * catch-up's last look, unfencing home would leave that write behind on a copy nothing serves;
 * the canary rolls back instead, and a resume takes a new final snapshot (undoFailedStep
 * reopens the fenced steps).
 */
async function tookWritesSinceSnapshot(deps: RecoveryDeps, run: RecoveryRun): Promise<boolean> {
  const recovered = await deps.instances.health(run.instanceId, run.from);
  // Unreachable, it takes no write either; what it took before catch-up's look is home already.
  if (typeof recovered.configDigest !== 'string') return false;
  return recovered.configDigest !== run.snapshot?.configDigest;
}

/**
 * Ends the canary: all traffic back to the instance that was serving, which takes writes again.
 * Home was fenced through the canary, so it holds no write the recovered copy lacks.
 */
async function rollBack(
  deps: RecoveryDeps,
  run: RecoveryRun,
  spec: ReturnType<typeof dnsSpecFor>,
  reason: string,
  canary: { before: Weights; history: Weights[]; times: string[] },
): Promise<never> {
  const rollback = failoverWeights(Object.keys(spec.targets), run.from);
  await deps.dns.applyWeights(spec, rollback);
  await deps.instances.unfence(run.instanceId, run.from);
  throw new RunStepError('shift', reason, {
    final: true,
    changes: {
      weights: { before: canary.before, after: rollback },
      rolledBack: true,
      canary: canary.history,
      canaryAt: canary.times,
    },
  });
}

const sameWeights = (a: Weights, b: Weights) =>
  Object.keys({ ...a, ...b }).every((region) => (a[region] ?? 0) === (b[region] ?? 0));

export async function release(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  if (run.reservation) {
    const { region, slots } = run.reservation;
    await releaseSlots({ region, slots, release: (key) => deps.deleteControlKey(region, key) });
  }
  return {};
}

/**
 * A failback that stops after fencing and before the shift must not leave the only serving
 * instance refusing writes. (The shift's own rollback unfences too.) Once it takes writes
 * again, its final snapshot and what was restored from it are stale: a resume must fence
 * again and take a new one, so those steps go back to pending.
 */
export async function undoFailedStep(
  deps: RecoveryDeps,
  run: RecoveryRun,
  step: string,
): Promise<Partial<RecoveryRun> | undefined> {
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
}

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
