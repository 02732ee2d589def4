import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { controlDocuments, eventBus } from '../../shared/composition.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import {
  type ReconcileDeps,
  type SweepReport,
  sweepRuns,
} from '../../shared/domain/recovery/reconcile.ts';
import { EventPublishError } from '../../shared/errors.ts';
import { validateEvent } from '../../shared/middleware/validate-event.ts';
import { logger } from '../../shared/observability.ts';
import { parseEvent } from '../../shared/schemas/parse.ts';
import { ScheduledEventSchema } from '../../shared/schemas/snapshot-trigger.ts';

/** A schedule tick, reduced to the one field the sweep uses. */
export interface ReconcileTick {
  time: Date;
}

/** Validates the schedule tick exactly as the snapshot function does. */
export function parseReconcileTick(event: unknown): ReconcileTick {
  return { time: new Date(parseEvent(ScheduledEventSchema, event, 'schedule').time) };
}

/** Real adapters for a config: every region's control bucket, and this region's bus. */
export function reconcileDepsFor(
  config: LifeboatConfig,
  env: NodeJS.ProcessEnv = process.env,
): ReconcileDeps {
  const here = env.LIFEBOAT_REGION ?? env.AWS_REGION ?? config.regions[0]?.name ?? 'us-east-1';
  return {
    regions: config.regions.map((r) => r.name),
    here,
    documents: (region) => controlDocuments(config, region),
    bus: eventBus(config, here),
  };
}

const cache = new Map<string, ReconcileDeps>();

/** Built on first use (a broken config fails the invocation, not the init), cached per path. */
export function defaultReconcileDeps(env: NodeJS.ProcessEnv = process.env): ReconcileDeps {
  const path = env.LIFEBOAT_CONFIG ?? DEFAULT_CONFIG_PATH;
  let deps = cache.get(path);
  if (!deps) {
    deps = reconcileDepsFor(loadConfig(path), env);
    cache.set(path, deps);
  }
  return deps;
}

/** Sweeps the recorded runs: nudges stalled ones, reports those nudging did not move. */
export async function reconcile(tick: ReconcileTick, deps: ReconcileDeps): Promise<SweepReport> {
  // The tick's own time, not the clock: a late invocation still decides for its window.
  const report = await sweepRuns(deps, tick.time);
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
  return report;
}

/** The middy-wrapped function, with its dependencies supplied per invocation. */
export function buildReconcileHandler(getDeps: () => ReconcileDeps) {
  return middy()
    .use(injectLambdaContext(logger))
    .use(validateEvent(parseReconcileTick))
    .handler((event) => reconcile(event as ReconcileTick, getDeps()));
}

/** Lambda entry point: schedule ticks. */
export const handler = buildReconcileHandler(() => defaultReconcileDeps());
