import { runStalledPoints, snapshotAgePoints } from '../../shared/domain/metrics.ts';
import { type SweepReport, sweepRuns } from '../../shared/domain/recovery/steps/reconcile.ts';
import { type SnapshotAge, snapshotAges } from '../../shared/domain/snapshot/freshness.ts';
import { EventPublishError } from '../../shared/errors.ts';
import { logger } from '../../shared/observability.ts';
import {
  defaultReconcileDeps,
  type ReconcileFunctionDeps,
} from '../../shared/runtime/function-deps.ts';
import { eventHandler } from '../../shared/runtime/handler.ts';
import { parseEvent } from '../../shared/schemas/parse.ts';
import { ScheduledEventSchema } from '../../shared/schemas/snapshot-trigger.ts';

export { defaultReconcileDeps, reconcileDepsFor } from '../../shared/runtime/function-deps.ts';

/** A schedule tick, reduced to the one field the sweep uses. */
export interface ReconcileTick {
  time: Date;
}

/** Validates the schedule tick exactly as the snapshot function does. */
export function parseReconcileTick(event: unknown): ReconcileTick {
  return { time: new Date(parseEvent(ScheduledEventSchema, event, 'schedule').time) };
}

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
  tick: ReconcileTick,
  deps: ReconcileFunctionDeps,
): Promise<ReconcileReport> {
  // The tick's own time, not the clock: a late invocation still decides for its window.
  const report = await sweepRuns(deps, tick.time);
  const ages = deps.freshness
    ? await snapshotAges(deps.freshness.targets, deps.freshness.vault, tick.time)
    : [];
  deps.metrics?.record([
    ...report.verdicts.flatMap((v) =>
      v.action === 'report' ? runStalledPoints(stalledRunOf(v.event.detail), deps.here) : [],
    ),
    ...snapshotAgePoints(ages, deps.here),
  ]);
  for (const age of ages.filter((a) => a.breached)) logger.error('RPO breached', { ...age });
  for (const { region, reason } of report.unreachable)
    logger.warn('control bucket unreachable', { region, reason });
  for (const verdict of report.verdicts) {
    if (verdict.action === 'nudge')
      logger.warn('stalled run nudged', { ...verdict, event: verdict.event.detailType });
    else if (verdict.action === 'report')
      logger.error('stalled run reported', { ...verdict, event: verdict.event.detailType });
  }
  logger.info('runs swept', {
    runs: report.runs,
    nudged: report.verdicts.filter((v) => v.action === 'nudge').length,
    reported: report.verdicts.filter((v) => v.action === 'report').length,
  });
  if (report.unpublished.length > 0) {
    // Failing the invocation makes the lost nudge or alert visible (Errors metric); the next
    // window's region tries again.
    throw new EventPublishError(
      report.unpublished.length,
      report.unpublished.map((u) => `${u.runId}: ${u.reason}`).join('; '),
    );
  }
  return { ...report, snapshotAges: ages };
}

/** The instance and kind a stalled report is about (its event carries the run's fields). */
function stalledRunOf(event: unknown): { instanceId: string; kind: string } {
  const detail = (typeof event === 'object' && event !== null ? event : {}) as Record<
    string,
    unknown
  >;
  return {
    instanceId: typeof detail.instanceId === 'string' ? detail.instanceId : 'unknown',
    kind: typeof detail.kind === 'string' ? detail.kind : 'unknown',
  };
}

/** The middy-wrapped function, with its dependencies supplied per invocation. */
export function buildReconcileHandler(getDeps: () => ReconcileFunctionDeps) {
  return eventHandler(parseReconcileTick, (tick) => reconcile(tick, getDeps()));
}

/** Lambda entry point: schedule ticks. */
export const handler = buildReconcileHandler(() => defaultReconcileDeps());
