import type { BlobStore } from '../ports.ts';
import { snapshotTime } from './format.ts';
import { newestCommittedId } from './newest.ts';

/**
 * How old each instance's newest committed snapshot is: what the RPO alarm watches. Measured
 * from the backup buckets themselves (their commit markers), not from the snapshot function's
 * own report, so the measure keeps coming when snapshots stop.
 */

/** One instance to measure: where its snapshots are, and how often they should come. */
export interface FreshnessTarget {
  instanceId: string;
  replicaRegions: readonly string[];
  scheduleSeconds: number;
}

/** The measure of one instance. */
export interface SnapshotAge {
  instanceId: string;
  /** The newest committed snapshot any reachable replica holds; absent when none does. */
  snapshotId?: string;
  ageSeconds?: number;
  /** Two schedules: older than this, the RPO is breached. */
  limitSeconds: number;
  /** True when the snapshot is older than the limit, or there is none. */
  breached: boolean;
}

/** The age of the newest committed snapshot of each target at `now`. */
export async function snapshotAges(
  targets: readonly FreshnessTarget[],
  vault: (region: string) => Pick<BlobStore, 'list'>,
  now: Date,
): Promise<SnapshotAge[]> {
  return Promise.all(
    targets.map(async (t) => {
      const limitSeconds = 2 * t.scheduleSeconds;
      const newest = await newestCommittedId(
        vault as (region: string) => BlobStore,
        t.instanceId,
        t.replicaRegions,
      );
      if (!newest) return { instanceId: t.instanceId, limitSeconds, breached: true };
      const ageSeconds = (now.getTime() - snapshotTime(newest.snapshotId).getTime()) / 1000;
      return {
        instanceId: t.instanceId,
        snapshotId: newest.snapshotId,
        ageSeconds,
        limitSeconds,
        breached: ageSeconds > limitSeconds,
      };
    }),
  );
}
