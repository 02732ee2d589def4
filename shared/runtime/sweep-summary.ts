import type { SweepReport } from '../domain/recovery/steps/reconcile.ts';
import type { SnapshotAge } from '../domain/snapshot/freshness.ts';
import { logger } from '../observability.ts';

/**
 * What one reconcile tick found, in the logs: breached RPOs and reported runs as errors (people
 * act on those), unreachable buckets and nudged runs as warnings, and one line of totals.
 */
export function logSweep(report: SweepReport, ages: readonly SnapshotAge[]): void {
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
}
