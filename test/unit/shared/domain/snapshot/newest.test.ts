import { describe, expect, it } from 'vitest';
import { keys } from '../../../../../shared/domain/snapshot/format.ts';
import {
  lookupCommitted,
  newestCommittedId,
  newestSnapshot,
  replicaOrder,
} from '../../../../../shared/domain/snapshot/newest.ts';
import { SnapshotIntegrityError } from '../../../../../shared/errors.ts';
import { HOUR } from '../../../../fakes/clock.ts';
import { seedInstance } from '../../../../fakes/fixtures.ts';
import { INSTANCE, REPLICA_REGIONS, snapshotWorld } from '../../../../worlds/snapshot.ts';

/** A world with two committed snapshots in every replica, an hour apart. */
async function twoSnapshots() {
  const world = snapshotWorld();
  seedInstance(world.source, INSTANCE, { count: 3, size: 100, seed: 1 });
  const older = await world.take();
  world.clock.advance(HOUR);
  const newer = await world.take();
  return { world, older, newer };
}

describe('replicaOrder', () => {
  it('puts the target first and keeps config order when the target is a replica', () => {
    expect(replicaOrder(['a', 'b', 'c'], 'c')).toEqual(['c', 'a', 'b']);
  });

  it('leaves out the excluded region and ignores a target that is not a replica', () => {
    expect(replicaOrder(['a', 'b', 'c'], 'z', 'a')).toEqual(['b', 'c']);
    expect(replicaOrder(['a', 'b', 'c'], 'a', 'a')).toEqual(['b', 'c']);
  });
});

describe('newestCommittedId', () => {
  it('finds the newest id, from the first region asked, when every bucket holds it', async () => {
    const { world, newer } = await twoSnapshots();
    const found = await newestCommittedId(world.vault, INSTANCE, ['us-west-2', 'us-east-1']);
    expect(found).toEqual({ snapshotId: newer.snapshotId, region: 'us-west-2' });
  });

  it('passes over an unreachable bucket when another holds a copy', async () => {
    const { world, newer } = await twoSnapshots();
    world.vault('us-east-1').unreachable = true;
    const found = await newestCommittedId(world.vault, INSTANCE, [...REPLICA_REGIONS]);
    expect(found).toEqual({ snapshotId: newer.snapshotId, region: 'us-east-2' });
  });

  it('prefers a newer snapshot in a later region over an older one in the first', async () => {
    const { world, older, newer } = await twoSnapshots();
    await world.vault('us-east-1').delete([keys.commit(INSTANCE, newer.snapshotId)]);
    const found = await newestCommittedId(world.vault, INSTANCE, [...REPLICA_REGIONS]);
    expect(older.snapshotId < newer.snapshotId).toBe(true);
    expect(found).toEqual({ snapshotId: newer.snapshotId, region: 'us-east-2' });
  });

  it('returns undefined when no bucket answers', async () => {
    const { world } = await twoSnapshots();
    for (const region of REPLICA_REGIONS) world.vault(region).unreachable = true;
    expect(await newestCommittedId(world.vault, INSTANCE, [...REPLICA_REGIONS])).toBeUndefined();
  });
});

describe('lookupCommitted', () => {
  it('names a bucket that failed its listing apart from the ones that hold none', async () => {
    const world = snapshotWorld();
    world.vault('us-east-2').failOn('list', /commits\//);
    const found = await lookupCommitted(world.vault, INSTANCE, [...REPLICA_REGIONS]);
    expect(found.best).toBeUndefined();
    expect(found.unanswered).toEqual([
      { region: 'us-east-2', reason: expect.stringMatching(/injected fault/) },
    ]);
  });

  it('finds the newest id and names no bucket when every bucket answers', async () => {
    const { world, newer } = await twoSnapshots();
    const found = await lookupCommitted(world.vault, INSTANCE, [...REPLICA_REGIONS]);
    expect(found).toEqual({
      best: { snapshotId: newer.snapshotId, region: 'us-east-1' },
      unanswered: [],
    });
  });
});

describe('newestSnapshot', () => {
  it('adds the manifest digest and the snapshot time when the manifest is valid', async () => {
    const { world, newer } = await twoSnapshots();
    const found = await newestSnapshot(world.vault, INSTANCE, ['us-east-2']);
    expect(found).toEqual({
      snapshotId: newer.snapshotId,
      region: 'us-east-2',
      takenAt: '2026-11-25T07:00:00.000Z',
      configDigest: newer.configDigest,
    });
  });

  it('throws SnapshotIntegrityError when the newest manifest is corrupt', async () => {
    const { world, newer } = await twoSnapshots();
    world.vault('us-east-2').corrupt(keys.manifest(INSTANCE, newer.snapshotId), 0);
    await expect(newestSnapshot(world.vault, INSTANCE, ['us-east-2'])).rejects.toBeInstanceOf(
      SnapshotIntegrityError,
    );
  });

  it('returns undefined when nothing is committed', async () => {
    const world = snapshotWorld();
    expect(await newestSnapshot(world.vault, INSTANCE, [...REPLICA_REGIONS])).toBeUndefined();
  });
});
