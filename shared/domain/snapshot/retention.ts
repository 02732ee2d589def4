import type { RetentionPolicy } from '../../config/schema.ts';
import type { BlobStore, Clock, StoredBlob } from '../ports.ts';
import { listCommittedSnapshotIds, packsOf, readRoot } from './catalog.ts';
import { idFromKey, keys, snapshotTime } from './format.ts';

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

/** An object GC left in place because Object Lock still protects it. */
export interface LockedKeep {
  key: string;
  reason: string;
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
  /** Objects GC would have deleted but kept, because their Object Lock retention has not ended. */
  locked: LockedKeep[];
}

/** What the snapshot run that precedes GC already knows, so GC does not read it again. */
export interface GcKnown {
  /** The commit markers of the bucket, as listed by the run (plus the one it wrote). */
  committedIds?: readonly string[];
  /** Packs each snapshot needs, from the roots the run read or wrote. */
  packs?: ReadonlyMap<string, readonly string[]>;
}

/**
 * Applies the retention policy to one instance in one backup bucket. Deletes commit markers
 * before manifests and manifests before packs, so a crash midway never leaves a visible
 * snapshot that points at a deleted pack. Which packs are referenced comes from the roots
 * alone (their `packs` list), never from the layers; roots the snapshot run just read or wrote
 * are not read again. With Object Lock, nothing whose retention has not ended is deleted: a
 * snapshot whose marker is locked stays kept, with its packs, and the report says why.
 */
export async function collectGarbage(input: {
  vault: BlobStore;
  instanceId: string;
  policy: RetentionPolicy;
  clock: Clock;
  dryRun?: boolean;
  /** Set when the instance's snapshots are written with Object Lock. */
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number };
  known?: GcKnown;
}): Promise<GcReport> {
  const { vault, instanceId, policy } = input;
  const [committedIds, manifests, packs] = await Promise.all([
    input.known?.committedIds
      ? Promise.resolve([...input.known.committedIds])
      : listCommittedSnapshotIds(vault, instanceId),
    vault.list(keys.manifestsPrefix(instanceId)),
    vault.list(keys.packsPrefix(instanceId)),
  ]);
  const now = input.clock.now();
  const locked: LockedKeep[] = [];
  const lockOf = lockChecker(vault, input.objectLock, now, locked);

  const keep = snapshotsToKeep(committedIds, policy);
  // A snapshot whose marker is still locked cannot be expired: it stays visible, so it stays kept.
  for (const id of committedIds) {
    if (!keep.has(id) && (await lockOf(keys.commit(instanceId, id)))) keep.add(id);
  }
  const cutoff = now.getTime() - policy.gcGraceSeconds * 1000;
  // Nor is a snapshot younger than the grace period, whatever the policy says: another
  // invocation may still be writing it (a retried failback's final snapshot checks the roots,
  // then writes the markers) or restoring it. Two snapshots a second apart on one day, with
  // `last: 1`, had the older one's roots deleted under its own retry, which then marked it
  // committed with no root (docs/simulation.md, bug 16, seed 2098929).
  for (const id of committedIds) if (snapshotTime(id).getTime() >= cutoff) keep.add(id);
  const committed = new Set(committedIds);
  // In-progress snapshots: manifests without a marker that are still young.
  const young = manifests
    .filter((m) => !committed.has(idFromKey(m.key)) && m.lastModified.getTime() >= cutoff)
    .map((m) => idFromKey(m.key));
  const referencedPacks = new Set<string>();
  for (const id of [...keep, ...young]) {
    const known = input.known?.packs?.get(id);
    const needed = known ?? packsOf(await readRoot(vault, instanceId, id));
    for (const pack of needed) referencedPacks.add(pack);
  }
  const plan = planGarbageCollection(
    { committedIds, manifests, packs, referencedPacks, keep },
    now,
    policy.gcGraceSeconds,
  );
  const unlocked = async (candidates: string[]) => {
    const out: string[] = [];
    for (const key of candidates) if (!(await lockOf(key))) out.push(key);
    return out;
  };
  const markerKeys = plan.expiredSnapshots.map((id) => keys.commit(instanceId, id));
  const rootKeys = await unlocked(
    [...plan.expiredSnapshots, ...plan.abandonedManifests].map((id) =>
      keys.manifest(instanceId, id),
    ),
  );
  const packKeys = await unlocked(plan.packs);
  if (!input.dryRun) {
    await vault.delete(markerKeys);
    await vault.delete(rootKeys);
    await vault.delete(packKeys);
  }
  const lockedKeys = new Set(locked.map((l) => l.key));
  return {
    ...plan,
    abandonedManifests: plan.abandonedManifests.filter(
      (id) => !lockedKeys.has(keys.manifest(instanceId, id)),
    ),
    packs: packKeys,
    dryRun: input.dryRun ?? false,
    locked,
  };
}

/**
 * With Object Lock, asks the bucket for an object's retention before GC deletes it. On a
 * versioned bucket S3 would accept the delete (it only adds a delete marker), and the snapshot
 * would vanish from listings while its data stayed locked: so GC checks first, and keeps.
 */
function lockChecker(
  vault: BlobStore,
  objectLock: { mode: string } | undefined,
  now: Date,
  locked: LockedKeep[],
): (key: string) => Promise<boolean> {
  return async (key) => {
    if (!objectLock || !vault.retention) return false;
    const retention = await vault.retention(key);
    if (!retention || retention.until.getTime() <= now.getTime()) return false;
    locked.push({
      key,
      reason: `Object Lock (${retention.mode}) retains it until ${retention.until.toISOString()}`,
    });
    return true;
  };
}
