import { createHash } from 'node:crypto';
import { DetailType, type RestoreTestEventDetail } from '../events.ts';
import type { BlobStore, Clock, EventBus, InstanceStore } from '../ports.ts';
import { storeSeenAs } from '../store-contents.ts';
import { listCommittedSnapshotIds } from './catalog.ts';
import { configDigest, encodeJson } from './format.ts';
import { restoreSnapshot } from './restore.ts';
import type { ReplicaTarget } from './take-snapshot.ts';

/**
 * Where a restore test puts its copy: a prefix of the region's instance store that no
 * instance is served from (an instance id cannot start with `_`).
 */
export const SCRATCH_PREFIX = '_lifeboat-restore-test';

/** The scratch "instance id" a test of `instanceId` restores into. */
export function scratchIdFor(instanceId: string): string {
  return `${SCRATCH_PREFIX}/${instanceId}`;
}

/** Where the last restore test of an instance is recorded, in its home region's control bucket. */
export function restoreTestKey(instanceId: string): string {
  return `restore-tests/${instanceId}.json`;
}

/** One instance's restore-test schedule: where its rule lives (its home region) and its rate. */
export interface RestoreTestSchedule {
  instanceId: string;
  region: string;
  rate: string;
}

/**
 * The restore-test schedules of a config: one per instance with `snapshot.restoreTest`, in its
 * home region (the stack, the local world and the simulator all fire these).
 */
export function restoreTestSchedules(
  instances: readonly { id: string; homeRegion: string; snapshot: { restoreTest?: string } }[],
): RestoreTestSchedule[] {
  return instances.flatMap((i) =>
    i.snapshot.restoreTest
      ? [{ instanceId: i.id, region: i.homeRegion, rate: i.snapshot.restoreTest }]
      : [],
  );
}

/** Everything one restore test needs. */
export interface RestoreTestInput {
  instanceId: string;
  replicas: readonly ReplicaTarget[];
  /** The instance store of a region, where the scratch copy goes. */
  scratchStore: (region: string) => InstanceStore;
  /** Picks an index in [0, n): the replica region to test (at random in production). */
  pick: (n: number) => number;
  clock: Clock;
  bus: EventBus;
  /** The home region's control bucket: the result is recorded there for `lifeboat status`. */
  record?: BlobStore;
}

/** What a restore test found; the payload of its event. */
export interface RestoreTestResult extends RestoreTestEventDetail {
  passed: boolean;
  testedAt: string;
}

/** An instance store seen through a fixed scratch id, whatever instance id it is asked for. */
function scratchView(store: InstanceStore, scratchId: string): InstanceStore {
  return storeSeenAs(store, scratchId);
}

/** The config digest of what a store holds, read back object by object. */
async function digestOf(
  store: InstanceStore,
  id: string,
): Promise<{ digest: string; bytes: number }> {
  const objects: { key: string; sha256: string }[] = [];
  let bytes = 0;
  for (const entry of await store.list(id)) {
    const hash = createHash('sha256');
    for await (const piece of store.read(id, entry.key)) {
      hash.update(piece);
      bytes += piece.byteLength;
    }
    objects.push({ key: entry.key, sha256: hash.digest('hex') });
  }
  return { digest: configDigest(objects), bytes };
}

/**
 * One restore test, as AWS Backup's restore testing does it: (1) the newest committed snapshot
 * of a replica region picked at random; (2) restored, with every hash checked, into a scratch
 * prefix nothing serves; (3) the restored copy read back and its config digest compared with
 * the snapshot's; (4) the scratch copy deleted, whatever happened; (5) "Restore Test Passed"
 * or "Restore Test Failed" published with the snapshot, region, duration, bytes and reason.
 */
export async function runRestoreTest(input: RestoreTestInput): Promise<RestoreTestResult> {
  const started = input.clock.now();
  const replica = input.replicas[input.pick(input.replicas.length)] as ReplicaTarget;
  const scratchId = scratchIdFor(input.instanceId);
  const store = input.scratchStore(replica.region);
  const scratch = scratchView(store, scratchId);
  let snapshotId: string | undefined;
  let objects = 0;
  let bytes = 0;
  let reason: string | undefined;
  try {
    [snapshotId] = await listCommittedSnapshotIds(replica.vault, input.instanceId);
    if (!snapshotId) throw new Error(`no committed snapshot in ${replica.vault.location}`);
    // A scratch copy left by an earlier test that crashed must not count as restored bytes.
    const left = await store.list(scratchId);
    if (left.length > 0)
      await store.delete(
        scratchId,
        left.map((e) => e.key),
      );
    const restored = await restoreSnapshot({
      vault: replica.vault,
      target: scratch,
      instanceId: input.instanceId,
      snapshotId,
    });
    const check = await digestOf(store, scratchId);
    objects = restored.objectsWritten + restored.objectsUnchanged;
    bytes = check.bytes;
    if (check.digest !== restored.configDigest) {
      reason = `restored copy has config digest ${check.digest}, the snapshot ${restored.configDigest}`;
    }
  } catch (error) {
    reason = (error as Error).message;
  } finally {
    try {
      const left = await store.list(scratchId);
      if (left.length > 0)
        await store.delete(
          scratchId,
          left.map((e) => e.key),
        );
    } catch (error) {
      reason ??= `restored and checked, but the scratch copy could not be deleted: ${(error as Error).message}`;
    }
  }
  const result: RestoreTestResult = {
    instanceId: input.instanceId,
    ...(snapshotId ? { snapshotId } : {}),
    region: replica.region,
    durationMs: input.clock.now().getTime() - started.getTime(),
    bytes,
    objects,
    ...(reason ? { reason } : {}),
    passed: reason === undefined,
    testedAt: started.toISOString(),
  };
  const { passed: _passed, testedAt: _testedAt, ...detail } = result;
  await input.bus.publish([
    {
      detailType: result.passed ? DetailType.RestoreTestPassed : DetailType.RestoreTestFailed,
      detail,
    },
  ]);
  // The record is for `lifeboat status`; the event is the result of record.
  await input.record
    ?.put(restoreTestKey(input.instanceId), encodeJson(result), { contentType: 'application/json' })
    .catch(() => undefined);
  return result;
}
