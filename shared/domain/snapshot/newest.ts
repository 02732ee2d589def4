import type { BlobStore } from '../ports.ts';
import { listCommittedSnapshotIds, readManifest } from './catalog.ts';
import { snapshotTime } from './format.ts';

/** The newest committed snapshot found among several backup buckets, with what a restore needs. */
export interface NewestSnapshot {
  snapshotId: string;
  region: string;
  configDigest: string;
  takenAt: string;
}

/**
 * Replica regions in the order a restore into `target` asks them: the target's own bucket
 * first (a restore from it crosses no region), then the others in config order; `excluded`
 * (the failed region) is left out.
 */
export function replicaOrder(
  replicas: readonly string[],
  target?: string,
  excluded?: string,
): string[] {
  const others = replicas.filter((r) => r !== excluded);
  return target && others.includes(target)
    ? [target, ...others.filter((r) => r !== target)]
    : others;
}

/**
 * The newest committed snapshot id among `regions`' buckets, asked in order; on a tie the
 * earlier region wins. An unreachable bucket offers no copy rather than failing the search.
 */
export async function newestCommittedId(
  vault: (region: string) => BlobStore,
  instanceId: string,
  regions: readonly string[],
): Promise<{ snapshotId: string; region: string } | undefined> {
  let best: { snapshotId: string; region: string } | undefined;
  for (const region of regions) {
    try {
      const [newest] = await listCommittedSnapshotIds(vault(region), instanceId);
      if (newest && (!best || newest > best.snapshotId)) best = { snapshotId: newest, region };
    } catch {
      // A replica in a failed region (or any unreachable one) simply does not offer a copy.
    }
  }
  return best;
}

/**
 * What a restore of one committed snapshot needs to know: its time and its manifest's config
 * digest. A manifest that cannot be read throws (SnapshotNotFoundError, SnapshotIntegrityError),
 * since a restore of that snapshot would fail the same way.
 */
export async function describeSnapshot(
  vault: (region: string) => BlobStore,
  instanceId: string,
  found: { snapshotId: string; region: string },
): Promise<NewestSnapshot> {
  const manifest = await readManifest(vault(found.region), instanceId, found.snapshotId);
  return {
    snapshotId: found.snapshotId,
    region: found.region,
    configDigest: manifest.configDigest,
    takenAt: snapshotTime(found.snapshotId).toISOString(),
  };
}

/** `newestCommittedId`, described: undefined when no bucket holds one (see describeSnapshot). */
export async function newestSnapshot(
  vault: (region: string) => BlobStore,
  instanceId: string,
  regions: readonly string[],
): Promise<NewestSnapshot | undefined> {
  const best = await newestCommittedId(vault, instanceId, regions);
  return best ? describeSnapshot(vault, instanceId, best) : undefined;
}
