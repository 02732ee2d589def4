import { reportedStallPoints, snapshotAgePoints } from '../../shared/domain/metrics.ts';
import { type SweepReport, sweepRuns } from '../../shared/domain/recovery/steps/reconcile.ts';
import { type SnapshotAge, snapshotAges } from '../../shared/domain/snapshot/freshness.ts';
import {
  defaultReconcileDeps,
  type ReconcileFunctionDeps,
} from '../../shared/runtime/function-deps.ts';
import { depsHandler } from '../../shared/runtime/handler.ts';
import { logSweep } from '../../shared/runtime/sweep-summary.ts';
import { failOnUnpublished } from '../../shared/runtime/unpublished.ts';
import { parseScheduleTick, type ScheduleTick } from '../../shared/schemas/schedule-tick.ts';

export { defaultReconcileDeps, reconcileDepsFor } from '../../shared/runtime/function-deps.ts';

/** What one tick did: the sweep, and the snapshot ages it measured. */
export interface ReconcileReport extends SweepReport {
  snapshotAges: SnapshotAge[];
}

/**
 * Sweeps the recorded runs: nudges stalled ones, reports those nudging did not move. Then
 * measures each instance's newest committed snapshot, so the RPO alarm has a datapoint every
 * tick even when snapshots stop.
 */
export async function reconcile(
  tick: ScheduleTick,
  deps: ReconcileFunctionDeps,
): Promise<ReconcileReport> {
  // The tick's own time, not the clock: a late invocation still decides for its window.
  const report = await sweepRuns(deps, tick.time);
  const ages = deps.freshness
    ? await snapshotAges(deps.freshness.targets, deps.freshness.vault, tick.time)
    : [];
  deps.metrics?.record([
    ...reportedStallPoints(report.verdicts, deps.here),
    ...snapshotAgePoints(ages, deps.here),
  ]);
  logSweep(report, ages);
  // A lost nudge or alert fails the invocation (Errors metric); the next window's region tries again.
  failOnUnpublished(report.unpublished, (u) => u.runId);
  return { ...report, snapshotAges: ages };
}

/** The middy-wrapped function, with its dependencies supplied per invocation. */
export function buildReconcileHandler(getDeps: () => ReconcileFunctionDeps) {
  return depsHandler(getDeps, parseScheduleTick, reconcile);
}

/** Lambda entry point: schedule ticks. */
export const handler = buildReconcileHandler(() => defaultReconcileDeps());
