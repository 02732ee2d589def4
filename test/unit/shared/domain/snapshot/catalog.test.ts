import { describe, expect, it } from 'vitest';
import {
  latestCommittedManifest,
  listCommittedSnapshotIds,
  readManifest,
} from '../../../../../shared/domain/snapshot/catalog.ts';
import { encodeJson, keys } from '../../../../../shared/domain/snapshot/format.ts';
import { SnapshotIntegrityError, SnapshotNotFoundError } from '../../../../../shared/errors.ts';
import { InMemoryBlobStore } from '../../../../fakes/blob-store.ts';
import { HOUR } from '../../../../fakes/clock.ts';
import { seedInstance } from '../../../../fakes/fixtures.ts';
import { INSTANCE, snapshotWorld } from '../../../../worlds/snapshot.ts';

async function integrityError(promise: Promise<unknown>): Promise<SnapshotIntegrityError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SnapshotIntegrityError);
  return error as SnapshotIntegrityError;
}

describe('listCommittedSnapshotIds', () => {
  it('lists marker ids newest first and ignores foreign keys when the bucket holds markers', async () => {
    const vault = new InMemoryBlobStore();
    for (const id of ['20261125T060000Z', '20261127T060000Z', '20261126T060000Z']) {
      await vault.put(keys.commit(INSTANCE, id), encodeJson({}));
    }
    await vault.put(`${keys.commitsPrefix(INSTANCE)}notes.txt`, new Uint8Array());
    await vault.put(keys.commit('other-instance', '20261128T060000Z'), encodeJson({}));
    expect(await listCommittedSnapshotIds(vault, INSTANCE)).toEqual([
      '20261127T060000Z',
      '20261126T060000Z',
      '20261125T060000Z',
    ]);
  });

  it('ignores manifests without a marker when a snapshot is uncommitted', async () => {
    const vault = new InMemoryBlobStore();
    await vault.put(keys.manifest(INSTANCE, '20261125T060000Z'), encodeJson({}));
    expect(await listCommittedSnapshotIds(vault, INSTANCE)).toEqual([]);
  });
});

describe('readManifest', () => {
  it('returns the parsed manifest when it is valid', async () => {
    const world = snapshotWorld();
    seedInstance(world.source, INSTANCE, { count: 3, size: 100, seed: 1 });
    const result = await world.take();
    const manifest = await readManifest(world.vault('us-east-2'), INSTANCE, result.snapshotId);
    expect(manifest.region).toBe('us-east-2');
    expect(manifest.objects).toHaveLength(3);
  });

  it('throws SnapshotNotFoundError when the manifest is absent', async () => {
    await expect(
      readManifest(new InMemoryBlobStore(), INSTANCE, '20261125T060000Z'),
    ).rejects.toBeInstanceOf(SnapshotNotFoundError);
  });

  it('names the manifest key as a bad-manifest problem when the manifest is not JSON', async () => {
    const vault = new InMemoryBlobStore();
    const key = keys.manifest(INSTANCE, '20261125T060000Z');
    await vault.put(key, Buffer.from('{"format": "lifeboat-snap'));
    const error = await integrityError(readManifest(vault, INSTANCE, '20261125T060000Z'));
    expect(error.problems).toEqual([
      expect.objectContaining({ kind: 'bad-manifest', name: key, detail: 'not JSON' }),
    ]);
  });

  it('reports a bad-manifest problem when the manifest does not match the schema', async () => {
    const world = snapshotWorld();
    seedInstance(world.source, INSTANCE, { count: 2, size: 100, seed: 2 });
    const { snapshotId } = await world.take();
    const vault = world.vault('us-east-1');
    const key = keys.manifest(INSTANCE, snapshotId);
    const root = JSON.parse(vault.bytes(key).toString());
    root.layers[0].entries.id = 'not-a-hash';
    vault.overwrite(key, encodeJson(root));
    const error = await integrityError(readManifest(vault, INSTANCE, snapshotId));
    expect(error.problems[0]?.kind).toBe('bad-manifest');
    expect(error.problems[0]?.name).toBe(key);
    expect(error.problems[0]?.detail).toContain('layers[0].entries.id');
  });

  it('reports a bad-manifest problem when the manifest names another snapshot', async () => {
    const world = snapshotWorld();
    seedInstance(world.source, INSTANCE, { count: 2, size: 100, seed: 3 });
    const { snapshotId } = await world.take();
    const vault = world.vault('us-east-1');
    const copyId = '20300101T000000Z';
    await vault.put(
      keys.manifest(INSTANCE, copyId),
      vault.bytes(keys.manifest(INSTANCE, snapshotId)),
    );
    const error = await integrityError(readManifest(vault, INSTANCE, copyId));
    expect(error.problems[0]?.detail).toContain('another instance or snapshot');
  });
});

describe('latestCommittedManifest', () => {
  it('returns undefined when nothing is committed', async () => {
    expect(await latestCommittedManifest(new InMemoryBlobStore(), INSTANCE)).toBeUndefined();
  });

  it('returns the newest committed manifest when several exist', async () => {
    const world = snapshotWorld();
    seedInstance(world.source, INSTANCE, { count: 2, size: 100, seed: 4 });
    await world.take();
    world.clock.advance(HOUR);
    const second = await world.take();
    const latest = await latestCommittedManifest(world.vault('us-west-2'), INSTANCE);
    expect(latest?.snapshotId).toBe(second.snapshotId);
  });
});
