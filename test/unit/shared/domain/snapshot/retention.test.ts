import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RetentionPolicy } from '../../../../../shared/config/schema.ts';
import type { StoredBlob } from '../../../../../shared/domain/ports.ts';
import { listCommittedSnapshotIds } from '../../../../../shared/domain/snapshot/catalog.ts';
import { keys, snapshotIdFor } from '../../../../../shared/domain/snapshot/format.ts';
import { restoreSnapshot, verifySnapshot } from '../../../../../shared/domain/snapshot/restore.ts';
import {
  collectGarbage,
  planGarbageCollection,
  snapshotsToKeep,
} from '../../../../../shared/domain/snapshot/retention.ts';
import { DAY, HOUR, MINUTE } from '../../../../fakes/clock.ts';
import { configDocument, seededRandom, seedInstance } from '../../../../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../../../../fakes/instance-store.ts';
import { manifestIn, metadataPacks } from '../../../../support/stored-snapshot.ts';
import { INSTANCE, snapshotWorld } from '../../../../worlds/snapshot.ts';

const id = (iso: string) => snapshotIdFor(new Date(iso));
const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({
  last: 1,
  daily: 0,
  weekly: 0,
  gcGraceSeconds: 6 * 3600,
  ...p,
});

describe('snapshotsToKeep', () => {
  it('keeps the newest `last` snapshots when no daily or weekly is asked', () => {
    const ids = [
      '2026-11-20T06:00:00Z',
      '2026-11-22T06:00:00Z',
      '2026-11-21T06:00:00Z',
      '2026-11-23T06:00:00Z',
    ].map(id);
    expect([...snapshotsToKeep(ids, { last: 2, daily: 0, weekly: 0 })].sort()).toEqual([
      id('2026-11-22T06:00:00Z'),
      id('2026-11-23T06:00:00Z'),
    ]);
  });

  it('keeps the newest snapshot of each of the most recent days when snapshots are hourly', () => {
    const ids: string[] = [];
    for (let h = 0; h < 24 * 10; h += 1)
      ids.push(snapshotIdFor(new Date(Date.parse('2026-11-10T00:30:00Z') + h * HOUR)));
    const kept = snapshotsToKeep(ids, { last: 1, daily: 3, weekly: 0 });
    expect([...kept].sort()).toEqual([
      id('2026-11-17T23:30:00Z'),
      id('2026-11-18T23:30:00Z'),
      id('2026-11-19T23:30:00Z'),
    ]);
  });

  it('counts only days that have a snapshot when days are skipped', () => {
    const ids = [
      '2026-11-01T06:00:00Z',
      '2026-11-05T06:00:00Z',
      '2026-11-05T07:00:00Z',
      '2026-11-20T06:00:00Z',
    ].map(id);
    const kept = snapshotsToKeep(ids, { last: 1, daily: 3, weekly: 0 });
    expect([...kept].sort()).toEqual(
      ['2026-11-01T06:00:00Z', '2026-11-05T07:00:00Z', '2026-11-20T06:00:00Z'].map(id),
    );
  });

  it('keeps both when one snapshot is on a Sunday and the next on the following Monday', () => {
    // 2026-11-29 is a Sunday, 2026-11-30 a Monday.
    const ids = ['2026-11-28T06:00:00Z', '2026-11-29T06:00:00Z', '2026-11-30T06:00:00Z'].map(id);
    const kept = snapshotsToKeep(ids, { last: 1, daily: 0, weekly: 2 });
    expect([...kept].sort()).toEqual(['2026-11-29T06:00:00Z', '2026-11-30T06:00:00Z'].map(id));
  });

  it('puts the first days of January in the last ISO week of the previous year when the year starts late in the week', () => {
    // 2021-01-03 (Sunday) belongs to 2020-W53, like 2020-12-28 (Monday); 2021-01-04 starts 2021-W01.
    const ids = ['2020-12-28T06:00:00Z', '2021-01-03T06:00:00Z', '2021-01-04T06:00:00Z'].map(id);
    const kept = snapshotsToKeep(ids, { last: 1, daily: 0, weekly: 3 });
    expect([...kept].sort()).toEqual(['2021-01-03T06:00:00Z', '2021-01-04T06:00:00Z'].map(id));
  });

  it('groups a week across the new year when 31 December and 1 January share an ISO week', () => {
    // 2024-12-30 (Monday) starts 2025-W01, which also holds 2025-01-01.
    const ids = ['2024-12-29T06:00:00Z', '2024-12-30T06:00:00Z', '2025-01-01T06:00:00Z'].map(id);
    const kept = snapshotsToKeep(ids, { last: 1, daily: 0, weekly: 5 });
    expect([...kept].sort()).toEqual(['2024-12-29T06:00:00Z', '2025-01-01T06:00:00Z'].map(id));
  });

  it('returns nothing when there is no snapshot', () => {
    expect(snapshotsToKeep([], { last: 3, daily: 7, weekly: 4 }).size).toBe(0);
  });

  it('keeps the newest, a subset, and at most last+daily+weekly when given any ids and policy', () => {
    const snapshotIds = fc
      .array(
        fc.date({
          min: new Date('2020-01-01Z'),
          max: new Date('2030-12-31Z'),
          noInvalidDate: true,
        }),
        {
          minLength: 1,
          maxLength: 60,
        },
      )
      .map((dates) => [...new Set(dates.map((d) => snapshotIdFor(d)))]);
    fc.assert(
      fc.property(
        snapshotIds,
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 6 }),
        (ids, last, daily, weekly) => {
          const kept = snapshotsToKeep(ids, { last, daily, weekly });
          const newest = [...ids].sort().at(-1) as string;
          expect(kept.has(newest)).toBe(true);
          for (const k of kept) expect(ids).toContain(k);
          expect(kept.size).toBeLessThanOrEqual(last + daily + weekly);
          expect(kept.size).toBeGreaterThanOrEqual(Math.min(last, ids.length));
        },
      ),
      { numRuns: 500, seed: 77 },
    );
  });
});

describe('planGarbageCollection', () => {
  const now = new Date('2026-11-25T12:00:00Z');
  const blob = (key: string, ageMs: number): StoredBlob => ({
    key,
    size: 1,
    lastModified: new Date(now.getTime() - ageMs),
  });
  const pack = (n: string) => keys.pack(INSTANCE, n.repeat(64));

  it('deletes a pack only when it is unreferenced and older than the grace period', () => {
    const plan = planGarbageCollection(
      {
        committedIds: [],
        manifests: [],
        packs: [blob(pack('a'), 7 * HOUR), blob(pack('b'), 5 * HOUR), blob(pack('c'), 7 * HOUR)],
        referencedPacks: new Set(['c'.repeat(64)]),
        keep: new Set(),
      },
      now,
      6 * 3600,
    );
    expect(plan.packs).toEqual([pack('a')]);
  });

  it('abandons a manifest only when it is uncommitted and older than the grace period', () => {
    const s1 = '20261125T000000Z';
    const s2 = '20261125T100000Z';
    const s3 = '20261124T000000Z';
    const plan = planGarbageCollection(
      {
        committedIds: [s3],
        manifests: [
          blob(keys.manifest(INSTANCE, s1), 12 * HOUR),
          blob(keys.manifest(INSTANCE, s2), 2 * HOUR),
          blob(keys.manifest(INSTANCE, s3), DAY),
        ],
        packs: [],
        referencedPacks: new Set(),
        keep: new Set([s3]),
      },
      now,
      6 * 3600,
    );
    expect(plan.abandonedManifests).toEqual([s1]);
    expect(plan.expiredSnapshots).toEqual([]);
    expect(plan.keptSnapshots).toEqual([s3]);
  });

  it('expires a committed snapshot when the policy does not keep it', () => {
    const plan = planGarbageCollection(
      {
        committedIds: ['20261123T000000Z', '20261124T000000Z'],
        manifests: [],
        packs: [],
        referencedPacks: new Set(),
        keep: new Set(['20261124T000000Z']),
      },
      now,
      3600,
    );
    expect(plan.expiredSnapshots).toEqual(['20261123T000000Z']);
  });
});

/**
 * Daily snapshots over `days` days, all regions healthy. Each day rewrites the same three "hot"
 * objects (so each day's pack is superseded the next day); every third day also rewrites one
 * random other object (so some older packs stay partly referenced). Returns what the instance looked like at each snapshot
 * so restores can be checked against it.
 */
async function history(days: number, seed: number) {
  const world = snapshotWorld({ start: '2026-11-01T06:00:00Z' });
  const seeded = seedInstance(world.source, INSTANCE, { count: 30, size: 400, seed });
  const random = seededRandom(seed + 1);
  const states = new Map<string, Map<string, Buffer>>();
  for (let day = 0; day < days; day += 1) {
    if (day > 0) {
      const cold = seeded[3 + Math.floor(random() * (seeded.length - 3))] as string;
      for (const key of [...seeded.slice(0, 3), ...(day % 3 === 0 ? [cold] : [])]) {
        world.source.seed(INSTANCE, key, configDocument(random, `${key} day ${day}`, 400));
      }
    }
    const result = await world.take();
    expect(result.committed).toBe(true);
    states.set(result.snapshotId, world.source.contents(INSTANCE));
    world.clock.advance(DAY);
  }
  return { ...world, states };
}

describe('collectGarbage', () => {
  it('keeps every pack a kept snapshot needs when expiring older snapshots', async () => {
    const world = await history(12, 1);
    const vault = world.vault('us-east-1');
    const packsBefore = vault.keys(keys.packsPrefix(INSTANCE)).length;

    const report = await collectGarbage({
      vault,
      instanceId: INSTANCE,
      policy: policy({ last: 2, daily: 4, weekly: 0 }),
      clock: world.clock,
    });

    expect(report.dryRun).toBe(false);
    expect(report.keptSnapshots).toHaveLength(4);
    expect(report.expiredSnapshots).toHaveLength(8);
    expect(report.packs.length).toBeGreaterThan(0);
    expect(vault.keys(keys.packsPrefix(INSTANCE)).length).toBe(packsBefore - report.packs.length);
    expect(await listCommittedSnapshotIds(vault, INSTANCE)).toEqual(
      [...report.keptSnapshots].reverse(),
    );
    for (const snapshotId of report.keptSnapshots) {
      expect((await verifySnapshot({ vault, instanceId: INSTANCE, snapshotId })).ok).toBe(true);
      const target = new InMemoryInstanceStore();
      await restoreSnapshot({ vault, instanceId: INSTANCE, snapshotId, target });
      expect(target.contents(INSTANCE)).toEqual(world.states.get(snapshotId));
    }
    for (const expired of report.expiredSnapshots) {
      expect(vault.has(keys.commit(INSTANCE, expired))).toBe(false);
      expect(vault.has(keys.manifest(INSTANCE, expired))).toBe(false);
    }
  });

  it("keeps the first snapshot's packs when newer snapshots still reference unchanged objects in them", async () => {
    const world = await history(5, 2);
    const vault = world.vault('us-east-2');
    const firstPack = vault
      .keys(keys.packsPrefix(INSTANCE))
      .find((k) => vault.lastModified(k)?.toISOString() === '2026-11-01T06:00:00.000Z');
    expect(firstPack).toBeDefined();
    await collectGarbage({
      vault,
      instanceId: INSTANCE,
      policy: policy({ last: 1 }),
      clock: world.clock,
    });
    expect(vault.has(firstPack as string)).toBe(true);
  });

  it('deletes commit markers before manifests and manifests before packs when expiring', async () => {
    // Ten days: the last snapshot merged the change layers, so the packs only they listed are free.
    const world = await history(10, 3);
    const vault = world.vault('us-west-2');
    vault.resetCalls();
    await collectGarbage({
      vault,
      instanceId: INSTANCE,
      policy: policy({ last: 1 }),
      clock: world.clock,
    });
    const deletes = vault.callsOf('delete').filter((c) => (c.keys ?? []).length > 0);
    const firstIndex = (re: RegExp) => deletes.findIndex((c) => c.keys?.some((k) => re.test(k)));
    const lastIndex = (re: RegExp) => deletes.findLastIndex((c) => c.keys?.some((k) => re.test(k)));
    expect(firstIndex(/\/commits\//)).toBeGreaterThanOrEqual(0);
    expect(lastIndex(/\/commits\//)).toBeLessThan(firstIndex(/\/snapshots\//));
    expect(lastIndex(/\/snapshots\//)).toBeLessThan(firstIndex(/\/packs\//));
  });

  it('deletes nothing when dryRun is set', async () => {
    // Ten days: the last snapshot merged the change layers, so the packs only they listed are free.
    const world = await history(10, 4);
    const vault = world.vault('us-east-1');
    const before = vault.keys();
    vault.resetCalls();
    const report = await collectGarbage({
      vault,
      instanceId: INSTANCE,
      policy: policy({ last: 1 }),
      clock: world.clock,
      dryRun: true,
    });
    expect(report.dryRun).toBe(true);
    expect(report.expiredSnapshots).toHaveLength(9);
    expect(report.packs.length).toBeGreaterThan(0);
    expect(vault.count('delete')).toBe(0);
    expect(vault.keys()).toEqual(before);
  });

  it('keeps every snapshot younger than the grace period, and its packs, whatever `last` says (bug 16)', async () => {
    // Ten days: the last snapshot merged the change layers, so the packs only they listed are free.
    const world = await history(10, 5);
    const vault = world.vault('us-east-1');
    // The clock sits one day after the last snapshot; roll it back to just after it.
    world.clock.advance(-DAY + 10 * MINUTE);
    const report = await collectGarbage({
      vault,
      instanceId: INSTANCE,
      policy: policy({ last: 1, gcGraceSeconds: (10 * DAY) / 1000 }),
      clock: world.clock,
    });
    // All ten are 0-9 days old, within the 10-day grace: another invocation may still be
    // writing or restoring any of them, so none expires and no pack they list is freed.
    expect(report.expiredSnapshots).toEqual([]);
    expect(report.keptSnapshots).toHaveLength(10);
    expect(report.packs).toEqual([]);
    const shortGrace = await collectGarbage({
      vault,
      instanceId: INSTANCE,
      policy: policy({ last: 1, gcGraceSeconds: 60 }),
      clock: world.clock,
    });
    expect(shortGrace.packs.length).toBeGreaterThan(0);
  });

  it("keeps an uncommitted manifest's packs when it is young and deletes the manifest when it is old", async () => {
    const world = await history(2, 6);
    const vault = world.vault('us-east-1');
    // An in-progress snapshot: packs and manifest written, no marker yet (quorum not reached).
    world.source.seed(INSTANCE, 'apis/in-progress.json', '{"in":"progress"}');
    world.vault('us-east-2').unreachable = true;
    world.vault('us-west-2').unreachable = true;
    const inProgress = await world.take();
    expect(inProgress.committed).toBe(false);
    const manifest = manifestIn(vault, INSTANCE, inProgress.snapshotId);
    // Its data packs and its metadata packs (entries and locations).
    const ownPacks = new Set<string>([
      ...Object.values(manifest.chunks).map((c) => c.pack),
      ...metadataPacks(vault, INSTANCE, inProgress.snapshotId),
    ]);

    world.clock.advance(HOUR);
    const young = await collectGarbage({
      vault,
      instanceId: INSTANCE,
      policy: policy({ last: 1 }),
      clock: world.clock,
    });
    expect(young.abandonedManifests).toEqual([]);
    for (const p of ownPacks) expect(vault.has(keys.pack(INSTANCE, p))).toBe(true);

    world.clock.advance(2 * DAY);
    const old = await collectGarbage({
      vault,
      instanceId: INSTANCE,
      policy: policy({ last: 1 }),
      clock: world.clock,
    });
    expect(old.abandonedManifests).toEqual([inProgress.snapshotId]);
    expect(vault.has(keys.manifest(INSTANCE, inProgress.snapshotId))).toBe(false);
    // The kept snapshot still restores after the abandoned one is gone.
    expect((await verifySnapshot({ vault, instanceId: INSTANCE })).ok).toBe(true);
  });

  it('never deletes a pack a kept snapshot references when the policy varies', async () => {
    const world = await history(9, 7);
    const base = world.vault('us-east-1');
    const snapshot = new Map(base.keys().map((k) => [k, base.bytes(k)] as const));
    const lastModified = new Map(
      base.keys().map((k) => [k, base.lastModified(k) as Date] as const),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 2 }),
        async (last, daily, weekly) => {
          const vault = snapshotWorld().vault('us-east-1');
          for (const [k, body] of snapshot) {
            await vault.put(k, body);
            vault.setLastModified(k, lastModified.get(k) as Date);
          }
          const report = await collectGarbage({
            vault,
            instanceId: INSTANCE,
            policy: policy({ last, daily, weekly, gcGraceSeconds: 60 }),
            clock: world.clock,
          });
          for (const snapshotId of report.keptSnapshots) {
            expect((await verifySnapshot({ vault, instanceId: INSTANCE, snapshotId })).ok).toBe(
              true,
            );
          }
        },
      ),
      { numRuns: 25, seed: 8 },
    );
  });
});
