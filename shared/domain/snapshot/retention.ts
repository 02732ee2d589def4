import type { RetentionPolicy } from '../../config/schema.ts';
import type { BlobStore, Clock, StoredBlob } from '../ports.ts';
import { readManifest } from './catalog.ts';
import { idFromKey, isSnapshotId, keys, snapshotTime } from './format.ts';

/** ISO-8601 week label (e.g. 2026-W48): weeks start on Monday, as most operators expect. */
function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/**
 * Which committed snapshots a policy keeps: the `last` newest, plus the newest snapshot of each
 * of the `daily` most recent days that have one, plus the same for `weekly` ISO weeks.
 */
export function snapshotsToKeep(
  committedIds: readonly string[],
  policy: Pick<RetentionPolicy, 'last' | 'daily' | 'weekly'>,
): Set<string> {
  const newestFirst = [...committedIds].sort().reverse();
  const keep = new Set(newestFirst.slice(0, policy.last));
  const keepNewestPerBucket = (bucketOf: (id: string) => string, count: number) => {
    const seen = new Set<string>();
    for (const id of newestFirst) {
      if (seen.size >= count) break;
      const bucket = bucketOf(id);
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      keep.add(id);
    }
  };
  keepNewestPerBucket((id) => id.slice(0, 8), policy.daily);
  keepNewestPerBucket((id) => isoWeek(snapshotTime(id)), policy.weekly);
  return keep;
}

/** What garbage collection would delete, and why the rest stays. */
export interface GcPlan {
  /** Committed snapshots the policy drops: marker first, then manifest. */
  expiredSnapshots: string[];
  /** Manifests that never got a commit marker and are older than the grace period. */
  abandonedManifests: string[];
  /** Pack keys no kept or in-progress snapshot references, older than the grace period. */
  packs: string[];
  keptSnapshots: string[];
}

/** Inputs of a GC decision, all read beforehand so the decision itself is pure. */
export interface GcInventory {
  committedIds: string[];
  manifests: StoredBlob[];
  packs: StoredBlob[];
  /** Packs referenced by each manifest that must stay (kept or in-progress). */
  referencedPacks: Set<string>;
  keep: Set<string>;
}

/** Decides what to delete. A pack younger than the grace period is never deleted. */
export function planGarbageCollection(
  inventory: GcInventory,
  now: Date,
  graceSeconds: number,
): GcPlan {
  const cutoff = now.getTime() - graceSeconds * 1000;
  const committed = new Set(inventory.committedIds);
  return {
    expiredSnapshots: inventory.committedIds.filter((id) => !inventory.keep.has(id)),
    abandonedManifests: inventory.manifests
      .filter((m) => !committed.has(idFromKey(m.key)) && m.lastModified.getTime() < cutoff)
      .map((m) => idFromKey(m.key)),
    packs: inventory.packs
      .filter(
        (p) =>
          !inventory.referencedPacks.has(idFromKey(p.key)) && p.lastModified.getTime() < cutoff,
      )
      .map((p) => p.key),
    keptSnapshots: [...inventory.keep].filter((id) => committed.has(id)).sort(),
  };
}

/** Result of one GC run in one bucket. */
export interface GcReport extends GcPlan {
  dryRun: boolean;
}

/**
 * Applies the retention policy to one instance in one backup bucket. Deletes commit markers
 * before manifests and manifests before packs, so a crash midway never leaves a visible
 * snapshot that points at a deleted pack.
 */
export async function collectGarbage(input: {
  vault: BlobStore;
  instanceId: string;
  policy: RetentionPolicy;
  clock: Clock;
  dryRun?: boolean;
}): Promise<GcReport> {
  const { vault, instanceId, policy } = input;
  const [markers, manifests, packs] = await Promise.all([
    vault.list(keys.commitsPrefix(instanceId)),
    vault.list(keys.manifestsPrefix(instanceId)),
    vault.list(keys.packsPrefix(instanceId)),
  ]);
  const committedIds = markers.map((m) => idFromKey(m.key)).filter(isSnapshotId);
  const keep = snapshotsToKeep(committedIds, policy);
  const now = input.clock.now();
  const cutoff = now.getTime() - policy.gcGraceSeconds * 1000;
  const committed = new Set(committedIds);
  // In-progress snapshots: manifests without a marker that are still young.
  const young = manifests
    .filter((m) => !committed.has(idFromKey(m.key)) && m.lastModified.getTime() >= cutoff)
    .map((m) => idFromKey(m.key));
  const referencedPacks = new Set<string>();
  for (const id of [...keep, ...young]) {
    const manifest = await readManifest(vault, instanceId, id);
    for (const location of Object.values(manifest.chunks)) referencedPacks.add(location.pack);
  }
  const plan = planGarbageCollection(
    { committedIds, manifests, packs, referencedPacks, keep },
    now,
    policy.gcGraceSeconds,
  );
  if (!input.dryRun) {
    await vault.delete(plan.expiredSnapshots.map((id) => keys.commit(instanceId, id)));
    await vault.delete(
      [...plan.expiredSnapshots, ...plan.abandonedManifests].map((id) =>
        keys.manifest(instanceId, id),
      ),
    );
    await vault.delete(plan.packs);
  }
  return { ...plan, dryRun: input.dryRun ?? false };
}
