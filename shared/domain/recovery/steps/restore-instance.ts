import { RunStepError } from '../../../errors.ts';
import { restoreSnapshot } from '../../snapshot/restore.ts';
import type { RecoveryDeps } from '../ports.ts';
import type { RecoveryRun } from '../run.ts';

/** Time a restore leaves itself to record its progress before the invocation ends. */
export const RESTORE_RESERVE_MS = 60_000;

/** restore: the planned snapshot into the target region's store, fenced, then activated. */
export async function restore(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RunStepError('restore', 'run has no plan');
  const budget = deps.workBudgetMs;
  await restoreSnapshot({
    vault: deps.vault(snapshot.region),
    target: deps.instanceStore(target),
    instanceId: run.instanceId,
    snapshotId: snapshot.snapshotId,
    // Stop with time to record the progress; the next invocation skips what is in place.
    ...(budget ? { shouldYield: () => budget() < RESTORE_RESERVE_MS } : {}),
  });
  // The restored copy serves reads at once (and takes Route 53's data-plane traffic as soon as
  // it is ready) but refuses config writes until the shift has moved the weights: otherwise a
  // retried restore would overwrite writes it took, and a shift that never succeeds (Route 53's
  // control plane down) would strand them when home returns with its old weight.
  await deps.instances.fence(run.instanceId, target);
  await deps.instances.activate(run.instanceId, target);
  return {};
}
