import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { S3BlobStore } from '../../shared/adapters/s3-blob-store.ts';
import { backupVault, instanceStore } from '../../shared/composition.ts';
import { findRegion, regionBuckets } from '../../shared/config/load.ts';
import { type Clock, systemClock } from '../../shared/domain/ports.ts';
import { readManifest } from '../../shared/domain/snapshot/catalog.ts';
import { encodeJson, FORMAT, FORMAT_V1, keys } from '../../shared/domain/snapshot/format.ts';
import { restoreSnapshot } from '../../shared/domain/snapshot/restore.ts';
import { collectGarbage } from '../../shared/domain/snapshot/retention.ts';
import { takeSnapshot } from '../../shared/domain/snapshot/take-snapshot.ts';
import { putBytes, readInstance, regionClient } from '../support/s3.ts';
import { formatV2Of } from '../support/stored-snapshot.ts';
import { createMotoWorld, type MotoWorld } from '../worlds/moto.ts';

const INSTANCE = 'petstore';
const HOME = 'us-east-1';

let world: MotoWorld;
let seeded: Map<string, Buffer>;

function replicas() {
  return ['us-east-1', 'us-east-2', 'us-west-2'].map((region) => ({
    region,
    vault: backupVault(world.config, region),
  }));
}

async function snapshotAt(snapshotId: string, clock: Clock = systemClock) {
  const result = await takeSnapshot({
    instanceId: INSTANCE,
    sourceRegion: HOME,
    source: instanceStore(world.config, HOME),
    replicas: replicas(),
    quorum: 2,
    snapshotId,
    clock,
  });
  expect(result.committed).toBe(true);
  return result;
}

beforeEach(async () => {
  world = await createMotoWorld();
  seeded = sampleInstanceObjects({ apis: 20, seed: 5 });
  await seedInstance(instanceStore(world.config, HOME), INSTANCE, seeded);
});

afterEach(async () => {
  await world.close();
});

describe('snapshot format against moto', () => {
  it('restores a format-1 manifest written before format 2', async () => {
    const snap = await snapshotAt('20261125T010000Z');
    const vault = backupVault(world.config, 'us-west-2');
    const m = await readManifest(vault, INSTANCE, snap.snapshotId);
    const { packs: _packs, root: _root, ...rest } = m;
    await putBytes(
      world.config,
      'us-west-2',
      'backup',
      keys.manifest(INSTANCE, snap.snapshotId),
      Buffer.from(encodeJson({ ...rest, format: FORMAT_V1 })),
    );

    const result = await restoreSnapshot({
      vault,
      instanceId: INSTANCE,
      target: instanceStore(world.config, 'eu-west-1'),
    });

    expect(result.configDigest).toBe(snap.configDigest);
    const restored = await readInstance(world.config, 'eu-west-1', INSTANCE);
    expect([...restored.keys()].sort()).toEqual([...seeded.keys()].sort());
    for (const [key, body] of seeded) expect(restored.get(key)?.equals(body), key).toBe(true);

    // The next snapshot reads the format-1 one as its previous: only a full layer, no re-read.
    const next = await snapshotAt('20261125T020000Z');
    expect(next.objectsUnchanged).toBe(seeded.size);
  });

  it('restores a format-2 snapshot written before format 3 and builds the next one on it', async () => {
    const snap = await snapshotAt('20261125T010000Z');
    const vault = backupVault(world.config, 'us-west-2');
    const { root, pack } = formatV2Of(await readManifest(vault, INSTANCE, snap.snapshotId));
    await putBytes(world.config, 'us-west-2', 'backup', keys.pack(INSTANCE, pack.id), pack.body);
    await putBytes(
      world.config,
      'us-west-2',
      'backup',
      keys.manifest(INSTANCE, snap.snapshotId),
      Buffer.from(encodeJson(root)),
    );

    const result = await restoreSnapshot({
      vault,
      instanceId: INSTANCE,
      target: instanceStore(world.config, 'eu-west-1'),
    });

    expect(result.configDigest).toBe(snap.configDigest);
    const restored = await readInstance(world.config, 'eu-west-1', INSTANCE);
    expect([...restored.keys()].sort()).toEqual([...seeded.keys()].sort());
    for (const [key, body] of seeded) expect(restored.get(key)?.equals(body), key).toBe(true);

    // The next snapshot reads the format-2 one as its previous: it writes a full format-3
    // layer there (locating every chunk from the format-2 layer) and re-reads no object.
    const next = await snapshotAt('20261125T020000Z');
    expect(next.objectsUnchanged).toBe(seeded.size);
    const after = await readManifest(vault, INSTANCE, next.snapshotId);
    expect(after.format).toBe(FORMAT);
    expect(after.root?.layers).toHaveLength(1);
    const again = await restoreSnapshot({
      vault,
      instanceId: INSTANCE,
      target: instanceStore(world.config, 'eu-west-1'),
    });
    expect(again.configDigest).toBe(snap.configDigest);
  });

  it('keeps folder markers as empty objects and restores them, but never the instance marker', async () => {
    const home = regionClient(world.config, HOME);
    const storeBucket = regionBuckets(world.config, findRegion(world.config, HOME)).instanceStore;
    for (const key of [`${INSTANCE}/`, `${INSTANCE}/attachments/`]) {
      await home.send(new PutObjectCommand({ Bucket: storeBucket, Key: key, Body: '' }));
    }
    const snap = await snapshotAt('20261125T010000Z');
    const manifest = await readManifest(
      backupVault(world.config, 'us-west-2'),
      INSTANCE,
      snap.snapshotId,
    );
    expect(manifest.objects.map((o) => o.key)).toContain('attachments/');
    expect(manifest.objects.map((o) => o.key)).not.toContain('');

    // The target already holds its own instance marker; the restore leaves it.
    const target = regionClient(world.config, 'eu-west-1');
    const targetBucket = regionBuckets(
      world.config,
      findRegion(world.config, 'eu-west-1'),
    ).instanceStore;
    await target.send(
      new PutObjectCommand({ Bucket: targetBucket, Key: `${INSTANCE}/`, Body: '' }),
    );
    await restoreSnapshot({
      vault: backupVault(world.config, 'us-west-2'),
      instanceId: INSTANCE,
      target: instanceStore(world.config, 'eu-west-1'),
    });
    const restored = await readInstance(world.config, 'eu-west-1', INSTANCE);
    expect(restored.get('attachments/')?.length).toBe(0);
    const list = await instanceStore(world.config, 'eu-west-1').list(INSTANCE);
    expect(list.map((e) => e.key)).toContain('attachments/');
    const marker = await target.send(
      new HeadObjectCommand({ Bucket: targetBucket, Key: `${INSTANCE}/` }),
    );
    expect(marker.ContentLength).toBe(0);
  });

  it('extends the Object Lock retention of reused packs in a locked bucket', async () => {
    const region = 'us-west-2';
    const client = regionClient(world.config, region);
    const bucket = 'lifeboat-locked-backup';
    await client.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ObjectLockEnabledForBucket: true,
        CreateBucketConfiguration: { LocationConstraint: region },
      }),
    );
    const vault = new S3BlobStore(client, bucket, region);
    let now = new Date('2026-11-25T01:00:00Z').getTime();
    // Object Lock dates must be in the future for S3: run the snapshots a little ahead of now.
    now = Math.max(now, Date.now());
    const clock: Clock = { now: () => new Date(now) };
    const lock = { mode: 'GOVERNANCE' as const, days: 10 };
    const take = (snapshotId: string) =>
      takeSnapshot({
        instanceId: INSTANCE,
        sourceRegion: HOME,
        source: instanceStore(world.config, HOME),
        replicas: [{ region, vault }],
        quorum: 1,
        snapshotId,
        clock,
        objectLock: lock,
      });
    const first = await take('20261125T010000Z');
    expect(first.committed).toBe(true);
    const firstRoot = await readManifest(vault, INSTANCE, first.snapshotId);
    const dataPack = Object.values(firstRoot.chunks)[0]?.pack as string;
    const retentionOf = async (key: string) => {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { Mode: head.ObjectLockMode, RetainUntilDate: head.ObjectLockRetainUntilDate };
    };
    const before = await retentionOf(keys.pack(INSTANCE, dataPack));
    expect(before?.Mode).toBe('GOVERNANCE');

    // Eight days on, the first packs (15 days) would unlock before a new root (10 days).
    now += 8 * 86_400_000;
    const store = instanceStore(world.config, HOME);
    const changedKey = [...seeded.keys()][0] as string;
    await store.write(INSTANCE, changedKey, Buffer.from('{"changed":true}'));
    const second = await take('20261203T010000Z');
    expect(second.committed).toBe(true);
    expect(second.retentionExtended).toBeGreaterThan(0);
    const after = await retentionOf(keys.pack(INSTANCE, dataPack));
    expect(after?.RetainUntilDate?.getTime()).toBe(now + 15 * 86_400_000);
    const root = await readManifest(vault, INSTANCE, second.snapshotId);
    expect(root.root?.retainUntil?.[dataPack]).toBe(new Date(now + 15 * 86_400_000).toISOString());

    // GC in the locked bucket keeps what is locked and says so.
    const report = await collectGarbage({
      vault,
      instanceId: INSTANCE,
      policy: { last: 1, daily: 0, weekly: 0, gcGraceSeconds: 60 },
      clock,
      objectLock: lock,
    });
    expect(report.expiredSnapshots).toEqual([]);
    expect(report.locked.map((l) => l.key)).toEqual([keys.commit(INSTANCE, first.snapshotId)]);
  });
});
