import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { eventBus, snapshotJob } from '../../shared/composition.ts';
import { DEFAULT_CONFIG_PATH, findInstance, loadConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { type Clock, type EventBus, systemClock } from '../../shared/domain/ports.ts';
import {
  runSnapshots,
  type SnapshotJob,
  type SnapshotOutcome,
} from '../../shared/domain/snapshot/run.ts';
import { EventPublishError } from '../../shared/errors.ts';
import { validateEvent } from '../../shared/middleware/validate-event.ts';
import { logger } from '../../shared/observability.ts';
import {
  parseSnapshotTrigger,
  type SnapshotTrigger,
} from '../../shared/schemas/snapshot-trigger.ts';

/** What the snapshot function needs from outside; tests pass their own. */
export interface SnapshotDeps {
  config: LifeboatConfig;
  /** The region this copy of the function runs in. */
  region: string;
  clock: Clock;
  bus: EventBus;
  jobFor(instanceId: string): SnapshotJob;
}

/** Real adapters for a config, publishing on the bus of the region the function runs in. */
export function snapshotDepsFor(
  config: LifeboatConfig,
  env: NodeJS.ProcessEnv = process.env,
): SnapshotDeps {
  const here = env.LIFEBOAT_REGION ?? env.AWS_REGION ?? config.regions[0]?.name ?? 'us-east-1';
  return {
    config,
    region: here,
    clock: systemClock,
    bus: eventBus(config, here),
    jobFor: (id) => snapshotJob(config, findInstance(config, id)),
  };
}

const cache = new Map<string, SnapshotDeps>();

/**
 * Built on first use, not at import: a broken config then fails the invocation with a clear
 * ConfigError in the logs instead of an opaque init crash. Cached per config path for warm starts.
 */
export function defaultSnapshotDeps(env: NodeJS.ProcessEnv = process.env): SnapshotDeps {
  const path = env.LIFEBOAT_CONFIG ?? DEFAULT_CONFIG_PATH;
  let deps = cache.get(path);
  if (!deps) {
    deps = snapshotDepsFor(loadConfig(path), env);
    cache.set(path, deps);
  }
  return deps;
}

/** One line per instance: what a person reading `invoke local` output wants to see. */
export interface SnapshotSummaryLine {
  instanceId: string;
  status: SnapshotOutcome['status'];
  snapshotId?: string;
  reason?: string;
  regionsCommitted?: string[];
  regionsFailed?: { region: string; reason: string }[];
  objectCount?: number;
  bytesTotal?: number;
  bytesUploaded?: number;
  durationMs?: number;
}

/** Snapshots the due (or requested) instances. */
export async function snapshot(
  trigger: SnapshotTrigger,
  deps: SnapshotDeps = defaultSnapshotDeps(),
): Promise<{ snapshotId: string; instances: SnapshotSummaryLine[] }> {
  // Every region runs this function on the same schedule; each snapshots the instances homed
  // in it, so an instance is snapshotted once per tick, not once per region. An explicit
  // request names its instances and is honoured wherever it lands.
  const ids =
    trigger.kind === 'schedule'
      ? trigger.instanceIds.filter((id) => findInstance(deps.config, id).homeRegion === deps.region)
      : trigger.instanceIds;
  const summary = await runSnapshots({
    jobs: ids.map((id) => deps.jobFor(id)),
    triggerTime: trigger.time,
    force: trigger.force,
    bus: deps.bus,
    clock: deps.clock,
  });
  const instances = summary.outcomes.map((outcome): SnapshotSummaryLine => {
    const result = outcome.status === 'skipped' ? undefined : outcome.result;
    const line: SnapshotSummaryLine = {
      instanceId: outcome.instanceId,
      status: outcome.status,
      snapshotId: result?.snapshotId,
      reason: outcome.status === 'committed' ? undefined : outcome.reason,
      regionsCommitted: result?.regionsCommitted,
      regionsFailed: result?.regionsFailed,
      objectCount: result?.objectCount,
      bytesTotal: result?.bytesTotal,
      bytesUploaded: result?.bytesUploaded,
      durationMs: result?.durationMs,
    };
    if (outcome.status === 'failed') logger.error('snapshot failed', { ...line });
    else logger.info(`snapshot ${outcome.status}`, { ...line });
    if (outcome.status === 'committed') {
      for (const region of outcome.gc) {
        if ('error' in region)
          logger.warn('retention could not run', { instanceId: line.instanceId, ...region });
      }
    }
    return line;
  });
  if (summary.unpublished.length > 0) {
    // Fail the invocation so Lambda retries it: the retry maps to the same snapshot id, finds
    // the snapshots already committed, and publishes their events again.
    throw new EventPublishError(
      summary.unpublished.length,
      summary.unpublished.map((u) => `${u.instanceId}: ${u.reason}`).join('; '),
    );
  }
  return { snapshotId: summary.snapshotId, instances };
}

/** The middy-wrapped function, with its dependencies supplied per invocation. */
export function buildSnapshotHandler(getDeps: () => SnapshotDeps) {
  return middy()
    .use(injectLambdaContext(logger))
    .use(
      validateEvent((event) =>
        parseSnapshotTrigger(event, getDeps().config, getDeps().clock.now()),
      ),
    )
    .handler((event) => snapshot(event as SnapshotTrigger, getDeps()));
}

/** Lambda entry point: schedule ticks and snapshot requests. */
export const handler = buildSnapshotHandler(() => defaultSnapshotDeps());
