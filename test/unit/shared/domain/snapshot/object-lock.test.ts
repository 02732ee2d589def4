import { describe, expect, it } from 'vitest';
import type { RetentionPolicy } from '../../../../../shared/config/schema.ts';
import { keys } from '../../../../../shared/domain/snapshot/format.ts';
import { collectGarbage } from '../../../../../shared/domain/snapshot/retention.ts';
import { DAY } from '../../../../fakes/clock.ts';
import { configDocument, seededRandom, seedInstance } from '../../../../fakes/fixtures.ts';
import { manifestIn, rootIn } from '../../../../support/stored-snapshot.ts';
import { INSTANCE, snapshotWorld } from '../../../../worlds/snapshot.ts';

const LOCK = { mode: 'COMPLIANCE' as const, days: 10 };
const POLICY: RetentionPolicy = { last: 1, daily: 0, weekly: 0, gcGraceSeconds: 60 };

describe('Object Lock on snapshots', () => {
  it('extends the retention of the older packs a snapshot reuses when they would unlock before its root', async () => {
    const world = snapshotWorld();
    const seeded = seedInstance(world.source, INSTANCE, { count: 30, size: 300, seed: 1 });
    const first = await world.take({ objectLock: LOCK });
    const vault = world.vault('us-east-1');
    const firstPacks = rootIn(vault, INSTANCE, first.snapshotId).packs;

    // Packs are locked for 15 days. Three days later they still outlive a new root (10 days).
    world.clock.advance(3 * DAY);
    world.source.seed(INSTANCE, seeded[0] as string, configDocument(seededRandom(2), 'a', 300));
    const second = await world.take({ objectLock: LOCK });
    expect(second.retentionExtended).toBe(0);

    // Seven days after the first: 8 days left, less than a new root's 10, so every reused
    // pack of the first run is locked to now + 15 days.
    world.clock.advance(4 * DAY);
    world.source.seed(INSTANCE, seeded[1] as string, configDocument(seededRandom(3), 'b', 300));
    vault.resetCalls();
    const third = await world.take({ objectLock: LOCK });
    const until = new Date(world.clock.peek().getTime() + 1.5 * LOCK.days * DAY);
    const root = rootIn(vault, INSTANCE, third.snapshotId);
    const reused = firstPacks.filter((p) => root.packs.includes(p));
    expect(reused.length).toBeGreaterThan(0);
    for (const pack of reused) {
      expect(vault.retentionOf(keys.pack(INSTANCE, pack))).toEqual({ mode: 'COMPLIANCE', until });
      expect(root.retainUntil?.[pack]).toBe(until.toISOString());
    }
    // Only those: the second run's packs still have 11 days left.
    expect(vault.count('extendRetention')).toBe(reused.length);
    expect(third.retentionExtended).toBe(reused.length * 3);
    // Every pack the snapshot needs is locked at least as long as its own root.
    const rootLock = vault.retentionOf(keys.manifest(INSTANCE, third.snapshotId));
    for (const pack of root.packs) {
      const lock = vault.retentionOf(keys.pack(INSTANCE, pack));
      expect(lock?.until.getTime()).toBeGreaterThanOrEqual(rootLock?.until.getTime() ?? Infinity);
    }
  });

  it('fails the region and names it when its bucket cannot extend retention', async () => {
    const world = snapshotWorld();
    const seeded = seedInstance(world.source, INSTANCE, { count: 5, size: 300, seed: 4 });
    await world.take({ objectLock: LOCK });
    world.clock.advance(8 * DAY);
    world.source.seed(INSTANCE, seeded[0] as string, configDocument(seededRandom(5), 'c', 300));
    // (15 − 8 = 7 days left on the first packs, under a new root's 10: they must be extended.)
    world.vault('us-west-2').failOn('extendRetention', /./);
    const result = await world.take({ objectLock: LOCK });
    expect(result.committed).toBe(true);
    expect(result.regionsFailed.map((f) => f.region)).toEqual(['us-west-2']);
    expect(world.vault('us-west-2').has(keys.manifest(INSTANCE, result.snapshotId))).toBe(false);
  });

  it('keeps locked markers, roots and packs and says why when GC would delete them', async () => {
    const world = snapshotWorld();
    const seeded = seedInstance(world.source, INSTANCE, { count: 12, size: 300, seed: 6 });
    const first = await world.take({ objectLock: LOCK });
    const vault = world.vault('us-east-1');
    const firstPacks = manifestIn(vault, INSTANCE, first.snapshotId).packs;
    // Every object changes, so the second snapshot needs none of the first one's packs.
    for (const key of seeded)
      world.source.seed(INSTANCE, key, configDocument(seededRandom(7), key, 300));
    world.clock.advance(DAY);
    await world.take({ objectLock: LOCK });
    world.clock.advance(DAY);
    vault.resetCalls();

    const report = await collectGarbage({
      vault,
      instanceId: INSTANCE,
      policy: POLICY,
      clock: world.clock,
      objectLock: LOCK,
    });

    // The first snapshot's marker is locked for 8 more days: it is not expired, nor are its packs.
    expect(report.expiredSnapshots).toEqual([]);
    expect(report.keptSnapshots).toContain(first.snapshotId);
    expect(report.locked).toEqual([
      {
        key: keys.commit(INSTANCE, first.snapshotId),
        reason: expect.stringMatching(/^Object Lock \(COMPLIANCE\) retains it until 2026-/),
      },
    ]);
    expect(vault.deletedKeys()).toEqual([]);
    for (const pack of firstPacks) expect(vault.has(keys.pack(INSTANCE, pack))).toBe(true);

    // Once the locks have ended (markers and roots 10 days, packs 15), the same GC deletes them.
    world.clock.advance(14 * DAY);
    const later = await collectGarbage({
      vault,
      instanceId: INSTANCE,
      policy: POLICY,
      clock: world.clock,
      objectLock: LOCK,
    });
    expect(later.locked).toEqual([]);
    expect(later.expiredSnapshots).toContain(first.snapshotId);
    expect(vault.has(keys.commit(INSTANCE, first.snapshotId))).toBe(false);
  });
});
