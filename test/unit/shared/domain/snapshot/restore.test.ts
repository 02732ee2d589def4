import { describe, expect, it } from 'vitest';
import { idFromKey, keys, type Manifest } from '../../../../../shared/domain/snapshot/format.ts';
import { restoreSnapshot, verifySnapshot } from '../../../../../shared/domain/snapshot/restore.ts';
import {
  type IntegrityProblem,
  SnapshotIntegrityError,
  SnapshotNotFoundError,
} from '../../../../../shared/errors.ts';
import type { InMemoryBlobStore } from '../../../../fakes/blob-store.ts';
import { HOUR } from '../../../../fakes/clock.ts';
import {
  configDocument,
  randomBytes,
  seededRandom,
  seedInstance,
} from '../../../../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../../../../fakes/instance-store.ts';
import {
  metadataPacks,
  rewriteLayer,
  manifestIn as storedManifest,
} from '../../../../support/stored-snapshot.ts';
import { INSTANCE, snapshotWorld } from '../../../../worlds/snapshot.ts';

function manifestIn(vault: InMemoryBlobStore, snapshotId: string): Manifest {
  return storedManifest(vault, INSTANCE, snapshotId);
}

async function integrityError(promise: Promise<unknown>): Promise<SnapshotIntegrityError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SnapshotIntegrityError);
  return error as SnapshotIntegrityError;
}

/** A committed snapshot of 30 objects, one of them spanning several chunks. */
async function snapshotted(seed = 1) {
  const world = snapshotWorld();
  seedInstance(world.source, INSTANCE, { count: 30, size: 600, seed });
  world.source.seed(INSTANCE, 'exports/large.bin', randomBytes(seededRandom(seed + 1000), 5000));
  const result = await world.take({ chunkSize: 2048 });
  return { ...world, result, vault: world.vault('us-east-2') };
}

describe('restoreSnapshot', () => {
  it('restores the source byte for byte when the target is empty', async () => {
    const { source, vault, result } = await snapshotted();
    const target = new InMemoryInstanceStore({ region: 'us-west-2' });

    const restored = await restoreSnapshot({ vault, instanceId: INSTANCE, target });

    expect(target.contents(INSTANCE)).toEqual(source.contents(INSTANCE));
    expect(restored).toMatchObject({
      snapshotId: result.snapshotId,
      configDigest: result.configDigest,
      objectsWritten: 31,
      objectsUnchanged: 0,
      objectsDeleted: 0,
      bytesWritten: result.bytesTotal,
      skipped: [],
    });
  });

  it('rewrites nothing when every object is already in place', async () => {
    const { source, vault } = await snapshotted(2);
    source.resetCalls();
    const restored = await restoreSnapshot({ vault, instanceId: INSTANCE, target: source });
    expect(restored.objectsWritten).toBe(0);
    expect(restored.objectsUnchanged).toBe(31);
    expect(source.count('write')).toBe(0);
    expect(source.count('delete')).toBe(0);
  });

  it('rewrites only the objects that differ and deletes extra ones when the target has drifted', async () => {
    const { source, vault } = await snapshotted(3);
    const expected = source.contents(INSTANCE);
    const target = new InMemoryInstanceStore();
    for (const [key, body] of expected) target.seed(INSTANCE, key, body);
    target.seed(INSTANCE, 'apis/api-0004.json', '{"edited":"during the outage"}');
    target.seed(
      INSTANCE,
      'apis/api-0009.json',
      Buffer.concat([expected.get('apis/api-0009.json') as Buffer, Buffer.from(' ')]),
    );
    target.unseed(INSTANCE, 'apis/api-0011.json');
    target.seed(INSTANCE, 'apis/created-later.json', '{}');
    target.seed(INSTANCE, 'plans/created-later.json', '{}');

    const restored = await restoreSnapshot({ vault, instanceId: INSTANCE, target });

    expect(target.contents(INSTANCE)).toEqual(expected);
    expect(
      target
        .callsOf('write')
        .map((c) => c.key)
        .sort(),
    ).toEqual(['apis/api-0004.json', 'apis/api-0009.json', 'apis/api-0011.json']);
    expect(restored.objectsWritten).toBe(3);
    expect(restored.objectsUnchanged).toBe(28);
    expect(restored.objectsDeleted).toBe(2);
    expect(target.callsOf('delete').flatMap((c) => c.keys)).toEqual([
      'apis/created-later.json',
      'plans/created-later.json',
    ]);
  });

  it('names the chunk, the pack and the affected objects and leaves the target untouched when a pack byte flips', async () => {
    const { vault, result } = await snapshotted(4);
    const manifest = manifestIn(vault, result.snapshotId);
    const victim = manifest.objects.find((o) => o.key === 'apis/api-0007.json');
    const chunkId = victim?.chunks[0] as string;
    const location = manifest.chunks[chunkId];
    if (!location) throw new Error('test: chunk has no location');
    const packKey = keys.pack(INSTANCE, location.pack);
    vault.corrupt(packKey, location.offset + Math.floor(location.length / 2));
    const target = new InMemoryInstanceStore();
    target.seed(INSTANCE, 'apis/stale.json', '{"stale":true}');
    target.resetCalls();

    const error = await integrityError(restoreSnapshot({ vault, instanceId: INSTANCE, target }));

    expect(error.snapshotId).toBe(result.snapshotId);
    const byKind = (kind: IntegrityProblem['kind']) =>
      error.problems.filter((p) => p.kind === kind);
    expect(byKind('corrupt-chunk')).toEqual([
      expect.objectContaining({ name: chunkId, affectedObjects: ['apis/api-0007.json'] }),
    ]);
    const corruptPack = byKind('corrupt-pack');
    expect(corruptPack.map((p) => p.name)).toEqual([packKey]);
    // Every object whose chunks sit in the damaged pack is named.
    const inPack = manifest.objects.filter((o) =>
      o.chunks.some((c) => manifest.chunks[c]?.pack === location.pack),
    );
    expect(corruptPack[0]?.affectedObjects.sort()).toEqual(inPack.map((o) => o.key).sort());
    expect(error.message).toContain(chunkId);
    expect(target.count('write')).toBe(0);
    expect(target.count('delete')).toBe(0);
    expect(target.contents(INSTANCE)).toEqual(
      new Map([['apis/stale.json', Buffer.from('{"stale":true}')]]),
    );
  });

  it('names the missing pack and every object that needs it when a pack is gone', async () => {
    const { vault, result } = await snapshotted(5);
    const manifest = manifestIn(vault, result.snapshotId);
    const packId = Object.values(manifest.chunks)[0]?.pack as string;
    vault.remove(keys.pack(INSTANCE, packId));
    const target = new InMemoryInstanceStore();

    const error = await integrityError(restoreSnapshot({ vault, instanceId: INSTANCE, target }));

    expect(error.problems).toEqual([
      expect.objectContaining({
        kind: 'missing-pack',
        name: keys.pack(INSTANCE, packId),
        affectedObjects: expect.any(Array),
      }),
    ]);
    expect(error.problems[0]?.affectedObjects).toHaveLength(31);
    expect(target.calls.filter((c) => c.op !== 'list')).toEqual([]);
  });

  it('names the object when its chunks are intact but its hash in the manifest is not', async () => {
    const { vault, result } = await snapshotted(6);
    const manifest = manifestIn(vault, result.snapshotId);
    rewriteLayer(vault, INSTANCE, result.snapshotId, 0, (layer) => {
      (layer.objects[2] as { sha256: string }).sha256 = 'f'.repeat(64);
    });
    const error = await integrityError(
      restoreSnapshot({ vault, instanceId: INSTANCE, target: new InMemoryInstanceStore() }),
    );
    expect(error.problems).toEqual([
      expect.objectContaining({
        kind: 'corrupt-object',
        name: manifest.objects[2]?.key,
        affectedObjects: [manifest.objects[2]?.key],
      }),
    ]);
  });

  it('restores the previous good snapshot and reports the skipped one when fallbackToPrevious is set', async () => {
    const world = snapshotWorld();
    const seeded = seedInstance(world.source, INSTANCE, { count: 20, size: 500, seed: 7 });
    const good = await world.take();
    const goodContents = world.source.contents(INSTANCE);
    world.source.seed(INSTANCE, seeded[5] as string, configDocument(seededRandom(8), 'v2', 500));
    world.clock.advance(HOUR);
    const bad = await world.take();
    const vault = world.vault('us-east-1');
    // The newer snapshot's own data pack holds only the changed object; damage it.
    const layerPacks = metadataPacks(vault, INSTANCE, bad.snapshotId);
    const newPacks = vault
      .keys(keys.packsPrefix(INSTANCE))
      .filter((k) => (vault.lastModified(k)?.getTime() ?? 0) > Date.parse('2026-11-25T06:00:00Z'))
      .filter((k) => !layerPacks.has(idFromKey(k)));
    expect(newPacks).toHaveLength(1);
    vault.corrupt(newPacks[0] as string);
    const target = new InMemoryInstanceStore();

    const restored = await restoreSnapshot({
      vault,
      instanceId: INSTANCE,
      target,
      fallbackToPrevious: true,
    });

    expect(restored.snapshotId).toBe(good.snapshotId);
    expect(restored.skipped.map((s) => s.snapshotId)).toEqual([bad.snapshotId]);
    expect(
      restored.skipped[0]?.problems.some((p) => p.affectedObjects.includes(seeded[5] as string)),
    ).toBe(true);
    expect(target.contents(INSTANCE)).toEqual(goodContents);
  });

  it('fails without fallback when the newest snapshot is damaged and fallbackToPrevious is off', async () => {
    const world = snapshotWorld();
    seedInstance(world.source, INSTANCE, { count: 5, size: 500, seed: 9 });
    await world.take();
    world.source.seed(INSTANCE, 'new.json', '{"n":1}');
    world.clock.advance(HOUR);
    const newest = await world.take();
    const vault = world.vault('us-east-1');
    vault.overwrite(keys.manifest(INSTANCE, newest.snapshotId), Buffer.from('garbage'));
    const error = await integrityError(
      restoreSnapshot({ vault, instanceId: INSTANCE, target: new InMemoryInstanceStore() }),
    );
    expect(error.problems[0]?.kind).toBe('bad-manifest');

    const restored = await restoreSnapshot({
      vault,
      instanceId: INSTANCE,
      target: new InMemoryInstanceStore(),
      fallbackToPrevious: true,
    });
    expect(restored.skipped).toEqual([
      {
        snapshotId: newest.snapshotId,
        problems: [expect.objectContaining({ kind: 'bad-manifest' })],
      },
    ]);
  });

  it('throws the last integrity error when no committed snapshot is intact', async () => {
    const { vault } = await snapshotted(10);
    for (const pack of vault.keys(keys.packsPrefix(INSTANCE))) vault.remove(pack);
    await integrityError(
      restoreSnapshot({
        vault,
        instanceId: INSTANCE,
        target: new InMemoryInstanceStore(),
        fallbackToPrevious: true,
      }),
    );
  });

  it('restores the requested snapshot when an older snapshot id is given', async () => {
    const world = snapshotWorld();
    seedInstance(world.source, INSTANCE, { count: 5, size: 300, seed: 11 });
    const old = await world.take();
    const oldContents = world.source.contents(INSTANCE);
    world.source.seed(INSTANCE, 'apis/api-0001.json', '{"v":2}');
    world.clock.advance(HOUR);
    await world.take();
    const target = new InMemoryInstanceStore();
    const restored = await restoreSnapshot({
      vault: world.vault('us-west-2'),
      instanceId: INSTANCE,
      snapshotId: old.snapshotId,
      target,
    });
    expect(restored.snapshotId).toBe(old.snapshotId);
    expect(target.contents(INSTANCE)).toEqual(oldContents);
  });

  it('throws SnapshotNotFoundError when the bucket holds no committed snapshot', async () => {
    const world = snapshotWorld();
    await expect(
      restoreSnapshot({
        vault: world.vault('us-east-1'),
        instanceId: INSTANCE,
        target: new InMemoryInstanceStore(),
      }),
    ).rejects.toBeInstanceOf(SnapshotNotFoundError);
  });

  it('still restores correctly when the pack cache is too small to keep any pack', async () => {
    const world = snapshotWorld();
    seedInstance(world.source, INSTANCE, { count: 40, size: 2000, seed: 12 });
    await world.take({ packSize: 16 * 1024 });
    const vault = world.vault('us-east-1');
    // Every pack but the two metadata packs (the full layer's entries and locations) holds data.
    const packs = vault.keys(keys.packsPrefix(INSTANCE)).length - 2;
    expect(packs).toBeGreaterThan(2);
    vault.resetCalls();
    const target = new InMemoryInstanceStore();

    await restoreSnapshot({ vault, instanceId: INSTANCE, target, cacheBytes: 0 });

    expect(target.contents(INSTANCE)).toEqual(world.source.contents(INSTANCE));
    // Verify pass and write pass each fetch every data pack; the layer's members are read once.
    expect(vault.count('get', /\/packs\//)).toBe(2 * packs + 2);
  });

  it('downloads each pack once when the cache holds the whole snapshot', async () => {
    const world = snapshotWorld();
    seedInstance(world.source, INSTANCE, { count: 40, size: 2000, seed: 13 });
    await world.take({ packSize: 16 * 1024 });
    const vault = world.vault('us-east-1');
    const packs = vault.keys(keys.packsPrefix(INSTANCE)).length;
    vault.resetCalls();
    await restoreSnapshot({ vault, instanceId: INSTANCE, target: new InMemoryInstanceStore() });
    expect(vault.count('get', /\/packs\//)).toBe(packs);
  });
});

describe('verifySnapshot', () => {
  it('reports ok with counts when the snapshot is intact', async () => {
    const { vault, result } = await snapshotted(20);
    vault.resetCalls();
    const report = await verifySnapshot({ vault, instanceId: INSTANCE });
    expect(report).toEqual({
      instanceId: INSTANCE,
      snapshotId: result.snapshotId,
      configDigest: result.configDigest,
      objects: 31,
      bytes: result.bytesTotal,
      packs: 1,
      problems: [],
      ok: true,
    });
    expect(vault.count('put') + vault.count('delete')).toBe(0);
  });

  it('reports not ok with the problems when a pack is corrupt', async () => {
    const { vault, result } = await snapshotted(21);
    const layerPacks = metadataPacks(vault, INSTANCE, result.snapshotId);
    const pack = vault
      .keys(keys.packsPrefix(INSTANCE))
      .find((k) => !layerPacks.has(idFromKey(k))) as string;
    vault.corrupt(pack, 5);
    const report = await verifySnapshot({
      vault,
      instanceId: INSTANCE,
      snapshotId: result.snapshotId,
    });
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.kind)).toContain('corrupt-pack');
  });

  it('throws SnapshotNotFoundError when no snapshot is committed', async () => {
    await expect(
      verifySnapshot({ vault: snapshotWorld().vault('us-east-1'), instanceId: INSTANCE }),
    ).rejects.toBeInstanceOf(SnapshotNotFoundError);
  });
});
