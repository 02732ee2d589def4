import { describe, expect, it } from 'vitest';
import type { BlobStore } from '../../../../../shared/domain/ports.ts';
import { listCommittedSnapshotIds } from '../../../../../shared/domain/snapshot/catalog.ts';
import { snapshotIdFor } from '../../../../../shared/domain/snapshot/format.ts';
import { restoreSnapshot, verifySnapshot } from '../../../../../shared/domain/snapshot/restore.ts';
import { takeSnapshot } from '../../../../../shared/domain/snapshot/take-snapshot.ts';
import { HOUR } from '../../../../fakes/clock.ts';
import { configDocument, seededRandom, seedInstance } from '../../../../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../../../../fakes/instance-store.ts';
import { INSTANCE, REPLICA_REGIONS, snapshotWorld } from '../../../../worlds/snapshot.ts';

/** A vault whose writes stop for good once `budget.left` writes have landed: the process died. */
function dying(vault: BlobStore, budget: { left: number; puts: string[] }): BlobStore {
  return {
    location: vault.location,
    get: (key) => vault.get(key),
    list: (prefix) => vault.list(prefix),
    delete: (keys) => vault.delete(keys),
    put: async (key, body, options) => {
      if (budget.left <= 0) throw new Error(`process died before writing ${key}`);
      budget.left -= 1;
      budget.puts.push(key.replace(/^instances\/[^/]+\//, '').replace(/[0-9a-f]{64}/, '<id>'));
      await vault.put(key, body, options);
    },
  };
}

/**
 * An instance with a committed snapshot of a full and a change layer, then changed again: the
 * run under test is an incremental from a cold start (no cache), the new write path in full
 * (a data pack, an entries pack and a locations pack per region, roots, markers).
 */
async function prepared(seed: number) {
  const world = snapshotWorld();
  const keys = seedInstance(world.source, INSTANCE, { count: 30, size: 300, seed });
  const random = seededRandom(seed + 1);
  await world.take();
  world.source.seed(INSTANCE, keys[3] as string, configDocument(random, 'two', 300));
  world.clock.advance(HOUR);
  const previous = await world.take();
  expect(previous.committed).toBe(true);
  world.source.seed(INSTANCE, keys[7] as string, configDocument(random, 'three', 300));
  world.source.seed(INSTANCE, 'apis/added.json', configDocument(random, 'added', 300));
  world.clock.advance(HOUR);
  return { world, previous };
}

async function runWithBudget(world: ReturnType<typeof snapshotWorld>, left: number) {
  const budget = { left, puts: [] as string[] };
  const result = await takeSnapshot({
    instanceId: INSTANCE,
    sourceRegion: REPLICA_REGIONS[0],
    source: world.source,
    replicas: world.replicas.map((r) => ({ region: r.region, vault: dying(r.vault, budget) })),
    quorum: 2,
    snapshotId: snapshotIdFor(world.clock.peek()),
    clock: world.clock,
  });
  return { result, puts: budget.puts };
}

// The writes of a clean run, in order: how many places there are to die at.
const clean = await runWithBudget((await prepared(1)).world, Number.POSITIVE_INFINITY);

describe('takeSnapshot, when the process dies between two writes', () => {
  it('writes packs, then roots, then markers in a clean incremental run', () => {
    expect(clean.result.regionsCommitted).toEqual([...REPLICA_REGIONS]);
    const kinds = clean.puts.map((key) => key.split('/')[0]);
    const last = (kind: string) => kinds.lastIndexOf(kind);
    const first = (kind: string) => kinds.indexOf(kind);
    // A data pack, an entries pack and a locations pack per region, a root and a marker each.
    expect(kinds.filter((k) => k === 'packs')).toHaveLength(9);
    expect(last('packs')).toBeLessThan(first('snapshots'));
    expect(last('snapshots')).toBeLessThan(first('commits'));
    expect(kinds).toHaveLength(15);
  });

  it.for(clean.puts.map((_, n) => n))(
    'shows only whole snapshots and commits on the retry when it dies after %i writes',
    async (n) => {
      const { world, previous } = await prepared(1);
      const { result } = await runWithBudget(world, n);
      const newId = snapshotIdFor(world.clock.peek());
      let roots = 0;
      const committedIn: string[] = [];
      for (const vault of world.vaults) {
        const ids = await listCommittedSnapshotIds(vault, INSTANCE);
        expect(ids).toContain(previous.snapshotId);
        for (const snapshotId of ids) {
          const report = await verifySnapshot({ vault, instanceId: INSTANCE, snapshotId });
          expect(report.problems, `${vault.location} ${snapshotId}`).toEqual([]);
        }
        if (ids.includes(newId)) committedIn.push(vault.location);
        if (vault.has(`instances/${INSTANCE}/snapshots/${newId}.json`)) roots += 1;
      }
      // A marker only once a quorum of regions holds the root; never reported beyond the truth.
      if (committedIn.length > 0) expect(roots).toBeGreaterThanOrEqual(2);
      expect(committedIn.length).toBeGreaterThanOrEqual(result.regionsCommitted.length);

      // The scheduler's retry of the same trigger, the process alive: committed everywhere.
      const retry = await world.take();
      expect(retry.regionsCommitted).toEqual([...REPLICA_REGIONS]);
      for (const vault of world.vaults) {
        const target = new InMemoryInstanceStore();
        await restoreSnapshot({ vault, instanceId: INSTANCE, target });
        expect(target.contents(INSTANCE)).toEqual(world.source.contents(INSTANCE));
      }
    },
  );
});
