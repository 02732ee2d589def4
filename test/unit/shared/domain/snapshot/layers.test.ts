import { describe, expect, it } from 'vitest';
import { readManifest } from '../../../../../shared/domain/snapshot/catalog.ts';
import { keys } from '../../../../../shared/domain/snapshot/format.ts';
import { MAX_LAYERS } from '../../../../../shared/domain/snapshot/layers.ts';
import { restoreSnapshot } from '../../../../../shared/domain/snapshot/restore.ts';
import { SnapshotIntegrityError } from '../../../../../shared/errors.ts';
import { HOUR } from '../../../../fakes/clock.ts';
import { configDocument, seededRandom, seedInstance } from '../../../../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../../../../fakes/instance-store.ts';
import { layerIn, manifestIn, rootIn } from '../../../../support/stored-snapshot.ts';
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

  it('names the layer and its pack when a metadata pack is missing', async () => {
    const { world, first } = await history(10, 7);
    const vault = world.vault('us-east-1');
    const ref = rootIn(vault, INSTANCE, first.snapshotId).layers[0] as never as { pack: string };
    vault.remove(keys.pack(INSTANCE, ref.pack));
    const error = await integrityError(readManifest(vault, INSTANCE, first.snapshotId));
    expect(error.problems).toEqual([
      expect.objectContaining({ kind: 'missing-pack', name: keys.pack(INSTANCE, ref.pack) }),
    ]);
    expect(error.problems[0]?.detail).toContain('metadata layer');
  });

  it('names the pack as corrupt, with the layer it holds, when a metadata pack is damaged', async () => {
    const { world, first } = await history(10, 8);
    const vault = world.vault('us-east-1');
    const ref = rootIn(vault, INSTANCE, first.snapshotId).layers[0] as { id: string; pack: string };
    // Rewrite the layer's pack with other bytes under the same key: the pack id no longer
    // matches, and neither would the layer.
    vault.corrupt(keys.pack(INSTANCE, ref.pack));
    const error = await integrityError(
      restoreSnapshot({ vault, instanceId: INSTANCE, target: new InMemoryInstanceStore() }),
    );
    expect(error.problems[0]?.kind).toBe('corrupt-pack');
    expect(error.problems[0]?.detail).toContain(ref.id);
  });

  it('ignores a damaged cache entry and reads the layer from its pack when the cache lies', async () => {
    const { world, first } = await history(10, 9);
    const vault = world.vault('us-east-1');
    const ref = rootIn(vault, INSTANCE, first.snapshotId).layers[0] as { id: string };
    const cache = {
      get: async () =>
        Buffer.from('{"format":"lifeboat-layer/2","objects":[],"chunks":{},"deleted":[]}'),
      put: async () => undefined,
    };
    vault.resetCalls();
    const manifest = await readManifest(vault, INSTANCE, first.snapshotId, { cache });
    expect(manifest.objects).toHaveLength(10);
    expect(vault.count('get', /\/packs\//)).toBe(1);
    expect(ref.id).toMatch(/^[0-9a-f]{64}$/);
  });
});
