import { findInstance } from '../../shared/config/load.ts';
import { snapshotPoints } from '../../shared/domain/metrics.ts';
import { runSnapshots } from '../../shared/domain/snapshot/run.ts';
import { defaultSnapshotDeps, type SnapshotDeps } from '../../shared/runtime/function-deps.ts';
import { depsHandler } from '../../shared/runtime/handler.ts';
import {
  logSnapshotOutcome,
  type SnapshotSummaryLine,
} from '../../shared/runtime/snapshot-summary.ts';
import { failOnUnpublished } from '../../shared/runtime/unpublished.ts';
import {
  parseSnapshotTrigger,
  type SnapshotTrigger,
} from '../../shared/schemas/snapshot-trigger.ts';

// Tests and the local world build the function from these, as they did when they lived here.
export { defaultSnapshotDeps, snapshotDepsFor } from '../../shared/runtime/function-deps.ts';
export type { SnapshotDeps };

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
  const instances = summary.outcomes.map(logSnapshotOutcome);
  deps.metrics?.record(instances.flatMap((line) => snapshotPoints(line, deps.region)));
  // Fail the invocation so Lambda retries it: the retry maps to the same snapshot id, finds
  // the snapshots already committed, and publishes their events again.
  failOnUnpublished(summary.unpublished, (u) => u.instanceId);
  return { snapshotId: summary.snapshotId, instances };
}

/** The middy-wrapped function, with its dependencies supplied per invocation. */
export function buildSnapshotHandler(getDeps: () => SnapshotDeps) {
  return depsHandler(
    getDeps,
    (event, deps) => parseSnapshotTrigger(event, deps.config, deps.clock.now()),
    snapshot,
  );
}

/** Lambda entry point: schedule ticks and snapshot requests. */
export const handler = buildSnapshotHandler(() => defaultSnapshotDeps());
