import { snapshotIdFor } from '../../shared/domain/snapshot/format.ts';
import {
  type SnapshotResult,
  type TakeSnapshotInput,
  takeSnapshot,
} from '../../shared/domain/snapshot/take-snapshot.ts';
import { FakeClock } from '../fakes/clock.ts';
import { replicaSet } from '../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../fakes/instance-store.ts';

/** The instance every snapshot-domain test works on. */
export const INSTANCE = 'petstore';
/** Its replica regions; the first is also its home. */
export const REPLICA_REGIONS = ['us-east-1', 'us-east-2', 'us-west-2'] as const;

/**
 * One instance in its home region's store, a backup bucket per replica region, and a clock:
 * everything `takeSnapshot` and `restoreSnapshot` need, in memory.
 */
export function snapshotWorld(
  options: { start?: string; pieceSize?: number; tickMs?: number } = {},
) {
  const clock = new FakeClock(options.start ?? '2026-11-25T06:00:00Z', options.tickMs ?? 0);
  const source = new InMemoryInstanceStore({
    region: REPLICA_REGIONS[0],
    pieceSize: options.pieceSize,
  });
  const { vaults, replicas, vault } = replicaSet(REPLICA_REGIONS, clock);
  /** Takes a snapshot whose id is the clock's current second. */
  const take = (overrides: Partial<TakeSnapshotInput> = {}): Promise<SnapshotResult> =>
    takeSnapshot({
      instanceId: INSTANCE,
      sourceRegion: REPLICA_REGIONS[0],
      source,
      replicas,
      quorum: 2,
      snapshotId: snapshotIdFor(clock.peek()),
      clock,
      ...overrides,
    });
  return { clock, source, vaults, replicas, vault, take };
}
