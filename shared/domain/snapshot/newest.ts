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

/** What asking several backup buckets for their newest committed snapshot found. */
export interface CommittedLookup {
  /** The newest committed id found, and the first region asked that holds it. */
  best: { snapshotId: string; region: string } | undefined;
  /**
   * Buckets that did not answer their listing (unreachable, or an S3 error), with the reason.
   * Their answer is unknown, which is not the same as "none": a retry may find a copy there.
   */
  unanswered: { region: string; reason: string }[];
}

/**
 * The newest committed snapshot id among `regions`' buckets, asked in order; on a tie the
 * earlier region wins. A bucket that fails its listing is named in `unanswered` rather than
 * failing the search, so callers can tell "no bucket holds one" from "some did not say".
 */
export async function lookupCommitted(
  vault: (region: string) => BlobStore,
  instanceId: string,
  regions: readonly string[],
): Promise<CommittedLookup> {
  let best: CommittedLookup['best'];
  const unanswered: CommittedLookup['unanswered'] = [];
  for (const region of regions) {
    try {
      const [newest] = await listCommittedSnapshotIds(vault(region), instanceId);
      if (newest && (!best || newest > best.snapshotId)) best = { snapshotId: newest, region };
    } catch (error) {
      unanswered.push({ region, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { best, unanswered };
}

/**
 * The newest committed snapshot id among `regions`' buckets (see lookupCommitted); an
 * unreachable bucket offers no copy rather than failing the search.
 */
export async function newestCommittedId(
  vault: (region: string) => BlobStore,
  instanceId: string,
  regions: readonly string[],
): Promise<{ snapshotId: string; region: string } | undefined> {
  return (await lookupCommitted(vault, instanceId, regions)).best;
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
