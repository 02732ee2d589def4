import type { RetentionPolicy } from '../../config/schema.ts';
import { QuorumNotReachedError } from '../../errors.ts';
import { DetailType, type SnapshotEventDetail } from '../events.ts';
import type { Clock, EventBus, InstanceStore, MetadataCache } from '../ports.ts';
import { listCommittedSnapshotIds } from './catalog.ts';
import { snapshotIdFor, snapshotTime } from './format.ts';
import { restoreSnapshot } from './restore.ts';
import { collectGarbage, type GcReport } from './retention.ts';
import { type ReplicaTarget, type SnapshotResult, takeSnapshot } from './take-snapshot.ts';

/** One instance to snapshot, with its ports already built. */
export interface SnapshotJob {
  instanceId: string;
  intervalSeconds: number;
  quorum: number;
  retention: RetentionPolicy;
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number };
  sourceRegion: string;
  source: InstanceStore;
  replicas: ReplicaTarget[];
  /** Local cache of metadata layers; optional, every hit is re-hashed. */
  cache?: MetadataCache;
  /**
   * Active-active only: the other regions the instance runs in. Each committed snapshot is
   * restored into them, so config changes made at home reach every active region.
   */
  mirrors?: { region: string; store: InstanceStore; activate(): Promise<void> }[];
  /** Waits between tries of a failing source read (see TakeSnapshotInput.sleep). */
  sleep?: (ms: number) => Promise<void>;
}

/** How one active-active region was brought in step with a new snapshot. */
export type MirrorOutcome =
  | { region: string; objectsWritten: number }
  | { region: string; error: string };

/** What happened to one instance in a run. */
export type SnapshotOutcome =
  | { instanceId: string; status: 'skipped'; reason: string; lastSnapshotId?: string }
  | {
      instanceId: string;
      status: 'committed';
      result: SnapshotResult;
      gc: RegionGc[];
      mirrored: MirrorOutcome[];
    }
  | { instanceId: string; status: 'failed'; reason: string; result?: SnapshotResult };

/** Retention in one region after a commit: what it removed, or why it could not run. */
export type RegionGc = { region: string; report: GcReport } | { region: string; error: string };

/** The return value of one scheduled (or forced) run. */
export interface SnapshotRunSummary {
  snapshotId: string;
  outcomes: SnapshotOutcome[];
  /** Outcomes whose event could not be published; the snapshots themselves stand. */
  unpublished: { instanceId: string; reason: string }[];
}

/**
 * When a schedule ticks a little early, an instance must still count as due; otherwise a daily
 * snapshot drifts by a whole tick every day. The slack is 10% of the interval, at most a minute.
 */
export function isDue(
  lastSnapshotId: string | undefined,
  intervalSeconds: number,
  now: Date,
): boolean {
  if (!lastSnapshotId) return true;
  const slack = Math.min(60, intervalSeconds * 0.1);
  const elapsed = (now.getTime() - snapshotTime(lastSnapshotId).getTime()) / 1000;
  return elapsed >= intervalSeconds - slack;
}

/**
 * The commit markers of every reachable replica, listed once: the due check, the snapshot and
 * retention all use this one listing.
 */
async function committedPerRegion(job: SnapshotJob): Promise<Map<string, string[]>> {
  const listed = await Promise.all(
    job.replicas.map((r) =>
      listCommittedSnapshotIds(r.vault, job.instanceId).then(
        (ids) => [r.region, ids] as const,
        () => undefined,
      ),
    ),
  );
  return new Map(listed.filter((entry) => entry !== undefined));
}

/**
 * The newest snapshot whose commit marker a quorum of the listed regions holds. One marked in
 * fewer (a crash or a failing bucket between the marker PUTs) is not done: counting it would
 * let every later tick, and the Lambda retry of the crashed run, skip the instance while the
 * only copy sits in one region, the one whose outage it is meant for (docs/simulation.md, bug
 * 10b).
 */
function newestOf(
  committed: ReadonlyMap<string, readonly string[]>,
  quorum: number,
): string | undefined {
  const holders = new Map<string, number>();
  for (const ids of committed.values())
    for (const id of ids) holders.set(id, (holders.get(id) ?? 0) + 1);
  return [...holders]
    .filter(([, count]) => count >= quorum)
    .map(([id]) => id)
    .sort()
    .at(-1);
}

function eventDetail(result: SnapshotResult, reason?: string): SnapshotEventDetail {
  return {
    instanceId: result.instanceId,
    snapshotId: result.snapshotId,
    configDigest: result.configDigest,
    regionsCommitted: result.regionsCommitted,
    regionsFailed: result.regionsFailed,
    quorum: result.quorum,
    bytesTotal: result.bytesTotal,
    bytesUploaded: result.bytesUploaded,
    objectCount: result.objectCount,
    durationMs: result.durationMs,
    ...(reason ? { reason } : {}),
  };
}

/**
 * Snapshots every due instance (all of them when `force`), applies retention in the regions
 * that committed, and reports each outcome on the bus. One instance failing never stops the
 * others.
 */
export async function runSnapshots(input: {
  jobs: readonly SnapshotJob[];
  triggerTime: Date;
  force: boolean;
  bus: EventBus;
  clock: Clock;
}): Promise<SnapshotRunSummary> {
  const snapshotId = snapshotIdFor(input.triggerTime);
  const outcomes: SnapshotOutcome[] = [];
  const unpublished: SnapshotRunSummary['unpublished'] = [];
  // A bus failure must not stop the remaining instances from being snapshotted.
  const bus: EventBus = {
    publish: async (events) => {
      try {
        await input.bus.publish(events);
      } catch (error) {
        const instanceId = String(
          (events[0]?.detail as { instanceId?: string } | undefined)?.instanceId,
        );
        unpublished.push({ instanceId, reason: (error as Error).message });
      }
    },
  };
  for (const job of input.jobs) {
    const committed = await committedPerRegion(job);
    const last = newestOf(committed, job.quorum);
    if (!input.force && !isDue(last, job.intervalSeconds, input.triggerTime)) {
      outcomes.push({
        instanceId: job.instanceId,
        status: 'skipped',
        reason: 'not due yet',
        lastSnapshotId: last,
      });
      continue;
    }
    outcomes.push(await snapshotOne(job, snapshotId, { bus, clock: input.clock, committed }));
  }
  return { snapshotId, outcomes, unpublished };
}

async function snapshotOne(
  job: SnapshotJob,
  snapshotId: string,
  input: { bus: EventBus; clock: Clock; committed?: ReadonlyMap<string, readonly string[]> },
): Promise<SnapshotOutcome> {
  let result: SnapshotResult;
  try {
    result = await takeSnapshot({
      instanceId: job.instanceId,
      sourceRegion: job.sourceRegion,
      source: job.source,
      replicas: job.replicas,
      quorum: job.quorum,
      snapshotId,
      clock: input.clock,
      objectLock: job.objectLock,
      ...(job.cache ? { cache: job.cache } : {}),
      ...(job.sleep ? { sleep: job.sleep } : {}),
      ...(input.committed ? { committedIds: input.committed } : {}),
    });
  } catch (error) {
    const reason = `cannot read instance ${job.instanceId} in ${job.sourceRegion}: ${(error as Error).message}`;
    const detail: SnapshotEventDetail = {
      instanceId: job.instanceId,
      snapshotId,
      regionsCommitted: [],
      regionsFailed: [],
      quorum: job.quorum,
      bytesTotal: 0,
      bytesUploaded: 0,
      objectCount: 0,
      durationMs: 0,
      reason,
    };
    await input.bus.publish([{ detailType: DetailType.SnapshotFailed, detail }]);
    return { instanceId: job.instanceId, status: 'failed', reason };
  }
  if (!result.committed) {
    const reason = new QuorumNotReachedError(
      job.instanceId,
      snapshotId,
      result.regionsCommitted,
      job.quorum,
    ).message;
    await input.bus.publish([
      { detailType: DetailType.SnapshotFailed, detail: eventDetail(result, reason) },
    ]);
    return { instanceId: job.instanceId, status: 'failed', reason, result };
  }
  const gc: RegionGc[] = [];
  for (const replica of job.replicas.filter((r) => result.regionsCommitted.includes(r.region))) {
    try {
      const written = result.written.find((w) => w.region === replica.region);
      const packs = new Map<string, readonly string[]>();
      if (written) {
        packs.set(written.root.snapshotId, written.root.packs);
        if (written.previous) packs.set(written.previous.snapshotId, written.previous.packs);
      }
      const report = await collectGarbage({
        vault: replica.vault,
        instanceId: job.instanceId,
        policy: job.retention,
        clock: input.clock,
        ...(job.objectLock ? { objectLock: job.objectLock } : {}),
        known: written ? { committedIds: written.committedIds, packs } : {},
      });
      gc.push({ region: replica.region, report });
    } catch (error) {
      // Retention is housekeeping: a failure here must not turn a committed snapshot into a
      // failed one. It is reported, and the next run collects what this one could not.
      gc.push({ region: replica.region, error: (error as Error).message });
    }
  }
  await input.bus.publish([
    { detailType: DetailType.SnapshotCompleted, detail: eventDetail(result) },
  ]);
  const mirrored: MirrorOutcome[] = [];
  for (const mirror of job.mirrors ?? []) {
    // Restore from the mirror's own backup bucket when it holds the snapshot.
    const from =
      job.replicas.find(
        (r) => r.region === mirror.region && result.regionsCommitted.includes(r.region),
      ) ?? job.replicas.find((r) => result.regionsCommitted.includes(r.region));
    if (!from) continue;
    try {
      const restored = await restoreSnapshot({
        vault: from.vault,
        target: mirror.store,
        instanceId: job.instanceId,
        snapshotId: result.snapshotId,
      });
      await mirror.activate();
      mirrored.push({ region: mirror.region, objectsWritten: restored.objectsWritten });
    } catch (error) {
      // A mirror that lags is reported and caught up by the next snapshot; the snapshot stands.
      mirrored.push({ region: mirror.region, error: (error as Error).message });
    }
  }
  return { instanceId: job.instanceId, status: 'committed', result, gc, mirrored };
}
