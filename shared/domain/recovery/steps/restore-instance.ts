import { RunStepError } from '../../../errors.ts';
import type { InstanceStore } from '../../ports.ts';
import { restoreSnapshot } from '../../snapshot/restore.ts';
import type { RecoveryDeps } from '../ports.ts';
import type { RecoveryRun } from '../run.ts';
import { type StepContext, takenOverError } from '../step-engine.ts';

/** Time a restore leaves itself to record its progress before the invocation ends. */
export const RESTORE_RESERVE_MS = 60_000;

const takenOver = (run: RecoveryRun) => takenOverError('restore', 'restore', run);

/** restore: the planned snapshot into the target region's store, fenced, then activated. */
export async function restore(
  deps: RecoveryDeps,
  run: RecoveryRun,
  context: StepContext,
): Promise<Partial<RecoveryRun>> {
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RunStepError('restore', 'run has no plan');
  // A duplicate delivery of "Recovery Planned" can run this step while, or after, another
  // invocation restores, verifies and shifts: restoring then would write the snapshot over a
  // copy that serves and takes writes, and fence it for good (sim seed 1410, bug 18). So the
  // restore takes the run first, as the shift does, and stops once another invocation has
  // taken it since; an invocation that read the run before the others moved it never acts.
  if (!(await context.take())) throw takenOver(run);
  const budget = deps.workBudgetMs;
  const store = deps.instanceStore(target);
  const callsBefore = store.pacedCalls?.(run.instanceId);
  const startedAt = deps.clock.now().getTime();
  await restoreSnapshot({
    vault: deps.vault(snapshot.region),
    target: store,
    instanceId: run.instanceId,
    snapshotId: snapshot.snapshotId,
    // Stop with time to record the progress; the next invocation skips what is in place.
    ...(budget ? { shouldYield: () => budget() < RESTORE_RESERVE_MS } : {}),
  });
  // The restored copy serves reads at once (and takes Route 53's data-plane traffic as soon as
  // it is ready) but refuses config writes until the shift has moved the weights: otherwise a
  // retried restore would overwrite writes it took, and a shift that never succeeds (Route 53's
  // control plane down) would strand them when home returns with its old weight.
  if (!(await context.holds())) throw takenOver(run);
  await deps.instances.fence(run.instanceId, target);
  await deps.instances.activate(run.instanceId, target);
  const measuredSeconds = (deps.clock.now().getTime() - startedAt) / 1000;
  return restoreAtProviderLimits(store, run, callsBefore, measuredSeconds);
}

/**
 * What this invocation's restore would take at the provider's limits (API Gateway's control
 * plane on AWS). Against an emulator the restore runs unpaced, in one invocation, and reports
 * project the RTO on AWS from this. (On AWS a restore is paced for real, and one continued over
 * several invocations counts only its last here: its measured time is the true one anyway.)
 */
function restoreAtProviderLimits(
  store: InstanceStore,
  run: RecoveryRun,
  before: ReadonlyMap<string, number> | undefined,
  measuredSeconds: number,
): Partial<RecoveryRun> {
  if (!before || !store.secondsAtProviderLimits || !store.pacedCalls) return {};
  const after = store.pacedCalls(run.instanceId);
  const made = new Map([...after].map(([op, n]) => [op, n - (before.get(op) ?? 0)] as const));
  const seconds = store.secondsAtProviderLimits(run.instanceId, made);
  if (seconds <= 0) return {};
  const tenths = (x: number) => Math.round(x * 10) / 10;
  return {
    restoreOnAws: { measuredSeconds: tenths(measuredSeconds), projectedSeconds: tenths(seconds) },
  };
}
