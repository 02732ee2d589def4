import { ApiGatewayInstanceStore } from '../../shared/adapters/apigateway/instance-store.ts';
import { backupVault, secretsKeyring, snapshotJob } from '../../shared/composition.ts';
import { findInstance } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { readManifest } from '../../shared/domain/snapshot/catalog.ts';
import { restoreSnapshot } from '../../shared/domain/snapshot/restore.ts';
import { takeSnapshot } from '../../shared/domain/snapshot/take-snapshot.ts';
import { instanceDigest } from '../../shared/domain/store-contents.ts';
import { type BenchWorld, SOURCE, TARGET, virtualPlane } from './world.ts';

/*
 * lifeboat's side: the snapshot path a scheduled snapshot takes (canonical read of the home
 * region, chunks and packs to three backup buckets, quorum commit) and the restore a recovery
 * runs (every hash verified, documents written by rank through the paced control plane), each
 * with a fresh control plane as a new Lambda invocation would have.
 */

/** What one phase did. */
export interface PhaseMeasure {
  wallMs: number;
  /** Control-plane calls by operation (`plane.calls`). */
  calls: Record<string, number>;
  callsTotal: number;
  /** Of those, writes (the instance store's own count; 0 for a snapshot). */
  writes: number;
  /** HTTP requests of each client during the phase (API Gateway, S3, KMS). */
  requests: Record<string, Record<string, number>>;
  /** The AWS pacer's waits on the virtual clock: what AWS's limits add to this sequence. */
  pacerWaitMs: number;
  detail: Record<string, unknown>;
}

function sortedCalls(calls: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...calls].sort(([a], [b]) => a.localeCompare(b)));
}

function store(config: LifeboatConfig, region: string) {
  const plane = virtualPlane(config, region);
  const instanceStore = new ApiGatewayInstanceStore(
    plane,
    (instanceId) => findInstance(config, instanceId).apigateway?.references ?? {},
    secretsKeyring(config, region),
  );
  return { plane, store: instanceStore };
}

async function measure(
  world: BenchWorld,
  region: string,
  run: (s: ApiGatewayInstanceStore) => Promise<Record<string, unknown>>,
): Promise<PhaseMeasure> {
  const { plane, store: s } = store(world.config, region);
  world.meter.start();
  const t0 = performance.now();
  const detail = await run(s);
  const wallMs = performance.now() - t0;
  const requests = world.meter.stop();
  const calls = sortedCalls(plane.calls);
  return {
    wallMs,
    calls,
    callsTotal: Object.values(calls).reduce((a, b) => a + b, 0),
    writes: s.stats.writes,
    requests,
    pacerWaitMs: plane.pacer.waitedMs,
    detail,
  };
}

/** One scheduled snapshot of the instance, read from its home region. */
export async function lifeboatSnapshot(
  world: BenchWorld,
  instanceId: string,
  snapshotId: string,
): Promise<PhaseMeasure> {
  return measure(world, SOURCE, async (source) => {
    const job = snapshotJob(world.config, findInstance(world.config, instanceId));
    const result = await takeSnapshot({ ...job, source, snapshotId, clock: systemClock });
    if (!result.committed) throw new Error(`snapshot ${snapshotId} did not commit`);
    return {
      snapshotId,
      committed: result.committed,
      objectCount: result.objectCount,
      bytesTotal: result.bytesTotal,
      packsUploaded: result.packsUploaded,
      bytesUploaded: result.bytesUploaded,
      objectsUnchanged: result.objectsUnchanged,
      configDigest: result.configDigest,
    };
  });
}

/** A restore of the newest snapshot from the target's backup bucket into the target region. */
export async function lifeboatRestore(world: BenchWorld, instanceId: string) {
  return measure(world, TARGET, async (target) => {
    const result = await restoreSnapshot({
      vault: backupVault(world.config, TARGET),
      instanceId,
      target,
    });
    return {
      snapshotId: result.snapshotId,
      objectsWritten: result.objectsWritten,
      objectsUnchanged: result.objectsUnchanged,
      objectsDeleted: result.objectsDeleted,
    };
  });
}

/** Reads the target back (fresh plane) and compares its digest with the snapshot's. */
export async function verifyTarget(world: BenchWorld, instanceId: string, snapshotId: string) {
  const manifest = await readManifest(backupVault(world.config, TARGET), instanceId, snapshotId);
  const measured = await measure(world, TARGET, async (target) => {
    const digest = await instanceDigest(target, instanceId);
    return {
      digest,
      snapshotDigest: manifest.configDigest,
      equal: digest === manifest.configDigest,
    };
  });
  return measured;
}
