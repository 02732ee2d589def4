import { describe, expect, it } from 'vitest';
import { readManifest } from '../../../../../shared/domain/snapshot/catalog.ts';
import { encodeJson, keys, type Root } from '../../../../../shared/domain/snapshot/format.ts';
import { MAX_LAYERS } from '../../../../../shared/domain/snapshot/layers.ts';
import { restoreSnapshot } from '../../../../../shared/domain/snapshot/restore.ts';
import { SnapshotIntegrityError } from '../../../../../shared/errors.ts';
import { HOUR } from '../../../../fakes/clock.ts';
import { configDocument, seededRandom, seedInstance } from '../../../../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../../../../fakes/instance-store.ts';
import { layerIn, locationsIn, manifestIn, rootIn } from '../../../../support/stored-snapshot.ts';
import { INSTANCE, snapshotWorld } from '../../../../worlds/snapshot.ts';

async function integrityError(promise: Promise<unknown>): Promise<SnapshotIntegrityError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SnapshotIntegrityError);
  return error as SnapshotIntegrityError;
}

/** A world with `count` objects snapshotted once, and a helper to change some and snapshot. */
async function history(count: number, seed: number) {
  const world = snapshotWorld();
  const seeded = seedInstance(world.source, INSTANCE, { count, size: 300, seed });
  const random = seededRandom(seed + 1);
  const first = await world.take();
  const step = async (changed: readonly string[], removed: readonly string[] = []) => {
    for (const key of changed) world.source.seed(INSTANCE, key, configDocument(random, key, 300));
    if (removed.length > 0) await world.source.delete(INSTANCE, removed);
    world.clock.advance(HOUR);
    return world.take();
  };
  return { world, seeded, first, step };
}

describe('snapshot metadata layers', () => {
  it('reads back exactly what was written when a snapshot has a full layer and change layers', async () => {
    const { world, seeded, step } = await history(60, 1);
    await step([seeded[3] as string, seeded[40] as string]);
    const third = await step([seeded[7] as string], [seeded[50] as string]);
    for (const vault of world.vaults) {
      const manifest = await readManifest(vault, INSTANCE, third.snapshotId);
      expect(manifest.objects.map((o) => o.key)).toEqual([
        ...world.source.contents(INSTANCE).keys(),
      ]);
      expect(manifest).toEqual(manifestIn(vault, INSTANCE, third.snapshotId));
      const target = new InMemoryInstanceStore();
      await restoreSnapshot({ vault, instanceId: INSTANCE, target });
      expect(target.contents(INSTANCE)).toEqual(world.source.contents(INSTANCE));
    }
  });

  it('writes only the changed entries and references the full layer unchanged when few objects change', async () => {
    const { world, seeded, first, step } = await history(200, 2);
    const second = await step([seeded[10] as string, seeded[150] as string]);
    const vault = world.vault('us-east-2');
    const before = rootIn(vault, INSTANCE, first.snapshotId);
    const after = rootIn(vault, INSTANCE, second.snapshotId);
    expect(after.layers[0]).toEqual(before.layers[0]);
    expect(after.layers).toHaveLength(2);
    const change = layerIn(vault, INSTANCE, after.layers[1] as (typeof after.layers)[number]);
    expect(change.objects.map((o) => o.key)).toEqual([seeded[10], seeded[150]]);
    expect(change.deleted).toEqual([]);
    expect(Object.keys(change.chunks)).toHaveLength(2);
  });

  it('writes no layer and reuses every previous one when nothing changed', async () => {
    const { world, first, step } = await history(20, 3);
    world.vault('us-west-2').resetCalls();
    const second = await step([]);
    const vault = world.vault('us-west-2');
    expect(rootIn(vault, INSTANCE, second.snapshotId).layers).toEqual(
      rootIn(vault, INSTANCE, first.snapshotId).layers,
    );
    expect(vault.count('put', /\/packs\//)).toBe(0);
  });

  it('records removed keys in the change layer when objects are deleted', async () => {
    const { world, seeded, step } = await history(20, 4);
    const second = await step([], [seeded[2] as string, seeded[9] as string]);
    const root = rootIn(world.vault('us-east-1'), INSTANCE, second.snapshotId);
    const change = layerIn(world.vault('us-east-1'), INSTANCE, root.layers[1] as never);
    expect(change.deleted).toEqual([seeded[2], seeded[9]].sort());
    expect(change.objects).toEqual([]);
    expect(root.totals.objects).toBe(18);
  });

  it(`merges the change layers into one when the chain reaches ${MAX_LAYERS} layers`, async () => {
    const { world, seeded, step } = await history(300, 5);
    let last = await step([seeded[0] as string]);
    for (let i = 1; i < MAX_LAYERS; i += 1) last = await step([seeded[i * 10] as string]);
    const vault = world.vault('us-east-1');
    const root = rootIn(vault, INSTANCE, last.snapshotId);
    expect(root.layers).toHaveLength(2);
    const merged = layerIn(vault, INSTANCE, root.layers[1] as never);
    expect(merged.objects).toHaveLength(MAX_LAYERS);
    const target = new InMemoryInstanceStore();
    await restoreSnapshot({ vault, instanceId: INSTANCE, target });
    expect(target.contents(INSTANCE)).toEqual(world.source.contents(INSTANCE));
  });

  it('writes one full layer again when the changes since the full layer pass half of it', async () => {
    const { world, seeded, step } = await history(100, 6);
    const many = await step(seeded.slice(0, 70));
    const root = rootIn(world.vault('us-east-1'), INSTANCE, many.snapshotId);
    expect(root.layers.map((l) => [l.objects, l.deleted])).toEqual([[100, 0]]);
  });

  it('names the entries member and its pack when a metadata pack is missing', async () => {
    const { world, first } = await history(10, 7);
    const vault = world.vault('us-east-1');
    const ref = rootIn(vault, INSTANCE, first.snapshotId).layers[0] as Root['layers'][number];
    vault.remove(keys.pack(INSTANCE, ref.entries.pack));
    const error = await integrityError(readManifest(vault, INSTANCE, first.snapshotId));
    expect(error.problems).toEqual([
      expect.objectContaining({
        kind: 'missing-pack',
        name: keys.pack(INSTANCE, ref.entries.pack),
      }),
    ]);
    expect(error.problems[0]?.detail).toContain(`metadata entries ${ref.entries.id}`);
  });

  it('names the locations member and its pack when its pack is missing', async () => {
    const { world, first } = await history(10, 17);
    const vault = world.vault('us-east-1');
    const ref = rootIn(vault, INSTANCE, first.snapshotId).layers[0] as Root['layers'][number];
    vault.remove(keys.pack(INSTANCE, ref.locations.pack));
    const error = await integrityError(
      restoreSnapshot({ vault, instanceId: INSTANCE, target: new InMemoryInstanceStore() }),
    );
    expect(error.problems).toEqual([
      expect.objectContaining({
        kind: 'missing-pack',
        name: keys.pack(INSTANCE, ref.locations.pack),
      }),
    ]);
    expect(error.problems[0]?.detail).toContain(`metadata locations ${ref.locations.id}`);
  });

  it('names the pack as corrupt, with the member it holds, when a metadata pack is damaged', async () => {
    const { world, first } = await history(10, 8);
    const vault = world.vault('us-east-1');
    const ref = rootIn(vault, INSTANCE, first.snapshotId).layers[0] as Root['layers'][number];
    // Rewrite the member's pack with other bytes under the same key: the pack id no longer
    // matches, and neither would the member.
    vault.corrupt(keys.pack(INSTANCE, ref.entries.pack));
    const error = await integrityError(
      restoreSnapshot({ vault, instanceId: INSTANCE, target: new InMemoryInstanceStore() }),
    );
    expect(error.problems[0]?.kind).toBe('corrupt-pack');
    expect(error.problems[0]?.detail).toContain(ref.entries.id);
  });

  it('names the member when its bytes do not hash to its id', async () => {
    const { world, first } = await history(10, 18);
    const vault = world.vault('us-east-1');
    const root = rootIn(vault, INSTANCE, first.snapshotId);
    const ref = root.layers[0] as Root['layers'][number];
    // The root names a member id that the (intact) pack does not hold.
    ref.locations.id = 'f'.repeat(64);
    vault.overwrite(keys.manifest(INSTANCE, first.snapshotId), encodeJson(root));
    const error = await integrityError(readManifest(vault, INSTANCE, first.snapshotId));
    expect(error.problems[0]).toMatchObject({
      kind: 'bad-manifest',
      name: `locations ${'f'.repeat(64)} in ${keys.pack(INSTANCE, ref.locations.pack)}`,
      detail: 'does not match its SHA-256',
    });
  });

  it('ignores a damaged cache entry and reads the member from its pack when the cache lies', async () => {
    const { world, first } = await history(10, 9);
    const vault = world.vault('us-east-1');
    const ref = rootIn(vault, INSTANCE, first.snapshotId).layers[0] as Root['layers'][number];
    const cache = {
      get: async () => Buffer.from('{"format":"lifeboat-entries/3","objects":[],"deleted":[]}'),
      put: async () => undefined,
    };
    vault.resetCalls();
    const manifest = await readManifest(vault, INSTANCE, first.snapshotId, { cache });
    expect(manifest.objects).toHaveLength(10);
    // The entries pack and the locations pack, each once.
    expect(vault.count('get', /\/packs\//)).toBe(2);
    expect(ref.entries.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('writes the same entries member in every region and a locations member of its own in each', async () => {
    const { world, seeded, step } = await history(40, 10);
    const second = await step([seeded[5] as string]);
    const roots = world.vaults.map((vault) => rootIn(vault, INSTANCE, second.snapshotId));
    const entryIds = roots.map((root) => root.layers.map((l) => l.entries.id));
    expect(new Set(entryIds.map((ids) => ids.join()))).toHaveLength(1);
    expect(entryIds[0]).toHaveLength(2);
    // The change layer locates only the one changed chunk, in each region's own pack.
    for (const [n, vault] of world.vaults.entries()) {
      const change = locationsIn(vault, INSTANCE, roots[n]?.layers[1] as never);
      expect(Object.keys(change.chunks)).toHaveLength(1);
      expect(roots[n]?.packs).toEqual(
        [...new Set(roots[n]?.layers.flatMap((l) => l.packs))].sort(),
      );
    }
  });

  it('reads each entries member once for all regions and no locations member when a cold writer takes an incremental', async () => {
    const { world, seeded, step } = await history(40, 11);
    await step([seeded[5] as string]);
    for (const vault of world.vaults) vault.resetCalls();
    // No cache: a cold start. The previous snapshot has a full and a change layer.
    const third = await step([seeded[6] as string]);
    expect(third.committed).toBe(true);
    const packGets = world.vaults.reduce((sum, v) => sum + v.count('get', /\/packs\//), 0);
    expect(packGets).toBe(2);
    const target = new InMemoryInstanceStore();
    await restoreSnapshot({ vault: world.vault('us-west-2'), instanceId: INSTANCE, target });
    expect(target.contents(INSTANCE)).toEqual(world.source.contents(INSTANCE));
  });

  it("reads a shared entries member from the source region's bucket when the source is not the first replica", async () => {
    const { world, seeded, step } = await history(40, 14);
    await step([seeded[5] as string]);
    for (const vault of world.vaults) vault.resetCalls();
    world.source.seed(INSTANCE, seeded[6] as string, '{"changed":true}');
    world.clock.advance(HOUR);
    const third = await world.take({ sourceRegion: 'us-west-2' });
    expect(third.committed).toBe(true);
    expect(world.vault('us-west-2').count('get', /\/packs\//)).toBe(2);
    expect(world.vault('us-east-1').count('get', /\/packs\//)).toBe(0);
    expect(world.vault('us-east-2').count('get', /\/packs\//)).toBe(0);
  });

  it('reads its own copy of a shared entries member in each other region when the first region cannot serve it', async () => {
    const { world, seeded, step } = await history(40, 15);
    await step([seeded[5] as string]);
    world.vault('us-east-1').failOn('get', /\/packs\//);
    const third = await step([seeded[6] as string]);
    expect(third.committed).toBe(true);
    expect(third.regionsCommitted).toEqual(['us-east-2', 'us-west-2']);
    expect(third.regionsFailed.map((f) => f.region)).toEqual(['us-east-1']);
    for (const region of ['us-east-2', 'us-west-2']) {
      const target = new InMemoryInstanceStore();
      await restoreSnapshot({ vault: world.vault(region), instanceId: INSTANCE, target });
      expect(target.contents(INSTANCE)).toEqual(world.source.contents(INSTANCE));
    }
  });

  it('reads the entries from another region when one region holds a different previous snapshot', async () => {
    const { world, seeded, step } = await history(40, 12);
    world.vault('us-west-2').unreachable = true;
    await step([seeded[5] as string]);
    world.vault('us-west-2').unreachable = false;
    for (const vault of world.vaults) vault.resetCalls();
    const third = await step([seeded[6] as string]);
    expect(third.regionsCommitted).toHaveLength(3);
    // us-west-2's previous is the first snapshot (its full layer, shared with the others'
    // chain), the others' the second: three distinct entries members, each read once.
    const packGets = world.vaults.reduce((sum, v) => sum + v.count('get', /\/packs\//), 0);
    expect(packGets).toBe(2);
    for (const vault of world.vaults) {
      const target = new InMemoryInstanceStore();
      await restoreSnapshot({ vault, instanceId: INSTANCE, target });
      expect(target.contents(INSTANCE)).toEqual(world.source.contents(INSTANCE));
    }
  });

  it('reads the locations it needs and restores when a cold writer writes a full layer again', async () => {
    const { world, seeded, step } = await history(100, 13);
    await step([seeded[1] as string]);
    const many = await step(seeded.slice(0, 70));
    for (const vault of world.vaults) {
      const root = rootIn(vault, INSTANCE, many.snapshotId);
      expect(root.layers.map((l) => [l.objects, l.deleted])).toEqual([[100, 0]]);
      expect(Object.keys(layerIn(vault, INSTANCE, root.layers[0] as never).chunks)).toHaveLength(
        100,
      );
      const target = new InMemoryInstanceStore();
      await restoreSnapshot({ vault, instanceId: INSTANCE, target });
      expect(target.contents(INSTANCE)).toEqual(world.source.contents(INSTANCE));
    }
  });
});
