import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { backupVault, instanceStore, snapshotJob } from '../../shared/composition.ts';
import { findInstance } from '../../shared/config/load.ts';
import type { LifeboatEvent, MetadataCache } from '../../shared/domain/ports.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { listCommittedSnapshotIds, readManifest } from '../../shared/domain/snapshot/catalog.ts';
import { keys } from '../../shared/domain/snapshot/format.ts';
import { restoreSnapshot, verifySnapshot } from '../../shared/domain/snapshot/restore.ts';
import { runSnapshots } from '../../shared/domain/snapshot/run.ts';
import { type SnapshotResult, takeSnapshot } from '../../shared/domain/snapshot/take-snapshot.ts';
import { SnapshotIntegrityError } from '../../shared/errors.ts';
import { RecordingEventBus } from '../fakes/event-bus.ts';
import {
  allKeys,
  countRequests,
  getBytes,
  putBytes,
  readInstance,
  regionClient,
} from '../support/s3.ts';
import { createMotoWorld, type MotoWorld } from '../worlds/moto.ts';

const INSTANCE = 'petstore';

/** A metadata cache in memory, as the file cache behaves. */
class MemoryCache implements MetadataCache {
  private readonly entries = new Map<string, Uint8Array>();
  async get(id: string) {
    return this.entries.get(id);
  }
  async put(id: string, bytes: Uint8Array) {
    this.entries.set(id, bytes);
  }
}
const REPLICAS = ['us-east-1', 'us-east-2', 'us-west-2'];

let world: MotoWorld;
let seeded: Map<string, Buffer>;

async function snapshotAt(time: string): Promise<SnapshotResult> {
  const job = snapshotJob(world.config, findInstance(world.config, INSTANCE));
  return takeSnapshot({
    instanceId: INSTANCE,
    sourceRegion: job.sourceRegion,
    source: job.source,
    replicas: job.replicas,
    quorum: job.quorum,
    snapshotId: time,
    clock: systemClock,
  });
}

beforeEach(async () => {
  world = await createMotoWorld();
  seeded = sampleInstanceObjects({ apis: 100, seed: 3 });
  await seedInstance(instanceStore(world.config, 'us-east-1'), INSTANCE, seeded);
});

afterEach(async () => {
  await world.close();
});

describe('takeSnapshot against moto', () => {
  it('commits a full snapshot in every replica region when all are reachable', async () => {
    const result = await snapshotAt('20261125T010000Z');

    expect(result.committed).toBe(true);
    expect(result.regionsCommitted.sort()).toEqual([...REPLICAS].sort());
    expect(result.objectCount).toBe(seeded.size);
    for (const region of REPLICAS) {
      const stored = await allKeys(world.config, region, 'backup');
      expect(stored).toContain(keys.manifest(INSTANCE, result.snapshotId));
      expect(stored).toContain(keys.commit(INSTANCE, result.snapshotId));
      const manifest = await readManifest(
        backupVault(world.config, region),
        INSTANCE,
        result.snapshotId,
      );
      expect(manifest.objects.map((o) => o.key).sort()).toEqual([...seeded.keys()].sort());
    }
    // Small objects are grouped: a handful of pack PUTs, not one per object.
    expect(result.packsUploaded).toBeLessThanOrEqual(REPLICAS.length * 2);
  });

  it('reads and uploads only the changed objects when 1% of them change', async () => {
    await snapshotAt('20261125T010000Z');
    const source = instanceStore(world.config, 'us-east-1');
    const changed = [...seeded.keys()].filter((_, i) => i % 100 === 0);
    expect(changed.length).toBeGreaterThan(0);
    for (const key of changed)
      await source.write(INSTANCE, key, Buffer.from(`{"edited":"${key}"}`));

    const homeClient = regionClient(world.config, 'us-east-1');
    const counter = countRequests(homeClient);
    let result: SnapshotResult;
    try {
      result = await snapshotAt('20261125T020000Z');
    } finally {
      counter.stop();
    }

    expect(result.committed).toBe(true);
    expect(result.objectsUnchanged).toBe(seeded.size - changed.length);
    // Only the changed objects are read back from the instance store.
    expect(counter.get('GetObjectCommand')).toBe(
      changed.length +
        2 /* previous root and the entries pack of its one layer: us-east-1 is the source region */,
    );
    // One small pack per region carries the changed chunks.
    expect(result.packsUploaded).toBe(REPLICAS.length);
    const changedBytes = changed.reduce((sum, key) => sum + `{"edited":"${key}"}`.length, 0);
    expect(result.bytesRead).toBe(changedBytes);
    expect(result.bytesUploaded).toBeLessThan(
      changedBytes * REPLICAS.length + 200 * REPLICAS.length,
    );
  });

  it('makes eleven requests to a replica bucket and writes metadata the size of the change when 1% changes', async () => {
    const job = snapshotJob(world.config, findInstance(world.config, INSTANCE));
    const bus = new RecordingEventBus();
    const run = (at: string, cache?: MetadataCache) =>
      runSnapshots({
        // No local layer cache unless the test passes one: the counts below are a cold start's.
        jobs: [{ ...job, cache }],
        triggerTime: new Date(at),
        force: true,
        bus,
        clock: systemClock,
      });
    await run('2026-11-25T01:00:00Z');
    const source = instanceStore(world.config, 'us-east-1');
    const changed = [...seeded.keys()].filter((_, i) => i % 100 === 0);
    for (const key of changed) await source.write(INSTANCE, key, Buffer.from(`{"e":"${key}"}`));

    // us-west-2's client serves only its backup bucket: every request counted is backup-side.
    const counter = countRequests(regionClient(world.config, 'us-west-2'));
    let summary: Awaited<ReturnType<typeof run>>;
    try {
      summary = await run('2026-11-25T02:00:00Z');
    } finally {
      counter.stop();
    }
    const outcome = summary.outcomes[0];
    expect(outcome?.status).toBe('committed');
    if (outcome?.status !== 'committed') return;
    // Commit markers listed once (the due check; the snapshot and GC reuse it), GC lists the
    // roots and the packs; the previous root is read (its entries member is the same in every
    // region, and read once, from us-east-1, the source region); GC reads no root (the run
    // hands it both kept ones); five PUTs: data pack, entries pack, locations pack, root,
    // marker; the policy (last: 1) expires the first snapshot: one delete for its marker, one
    // for its root (its packs are still needed).
    expect(Object.fromEntries(counter.counts)).toEqual({
      ListObjectsV2Command: 3,
      GetObjectCommand: 1,
      PutObjectCommand: 5,
      DeleteObjectsCommand: 2,
    });
    expect(outcome.gc.find((g) => g.region === 'us-west-2')).toMatchObject({
      report: { expiredSnapshots: ['20261125T010000Z'], packs: [] },
    });
    // Metadata grows with the change (3 entries), not with the 220 objects.
    const metadataPerRegion = outcome.result.metadataBytesUploaded / REPLICAS.length;
    expect(metadataPerRegion).toBeLessThan(3 * 1024);
    const root = JSON.parse(
      (
        await getBytes(
          world.config,
          'us-west-2',
          'backup',
          keys.manifest(INSTANCE, outcome.result.snapshotId),
        )
      ).toString(),
    );
    expect(root.layers.map((l: { objects: number }) => l.objects)).toEqual([
      seeded.size,
      changed.length,
    ]);

    // With the local layer cache (the Lambda's /tmp), the previous layers are not downloaded.
    const cache = new MemoryCache();
    await run('2026-11-25T03:00:00Z', cache);
    await source.write(INSTANCE, changed[0] as string, Buffer.from('{"e":"again"}'));
    const cached = countRequests(regionClient(world.config, 'us-west-2'));
    try {
      await run('2026-11-25T04:00:00Z', cache);
    } finally {
      cached.stop();
    }
    expect(cached.get('GetObjectCommand')).toBe(1);
  });

  it('restores a snapshot into another region that matches the source byte for byte', async () => {
    const snap = await snapshotAt('20261125T010000Z');
    const result = await restoreSnapshot({
      vault: backupVault(world.config, 'us-west-2'),
      target: instanceStore(world.config, 'eu-west-1'),
      instanceId: INSTANCE,
    });

    expect(result.snapshotId).toBe(snap.snapshotId);
    expect(result.configDigest).toBe(snap.configDigest);
    const restored = await readInstance(world.config, 'eu-west-1', INSTANCE);
    expect(restored.size).toBe(seeded.size);
    for (const [key, body] of seeded) expect(restored.get(key)?.equals(body), key).toBe(true);
  });

  it('commits with the reachable regions and names the one that was unreachable', async () => {
    await world.proxies.get('us-east-2')?.down();

    const result = await snapshotAt('20261125T010000Z');

    expect(result.committed).toBe(true);
    expect(result.regionsCommitted.sort()).toEqual(['us-east-1', 'us-west-2']);
    expect(result.regionsFailed.map((f) => f.region)).toEqual(['us-east-2']);
    expect(result.regionsFailed[0]?.reason).toMatch(/unavailable/);
    await world.proxies.get('us-east-2')?.up();
    expect(
      await listCommittedSnapshotIds(backupVault(world.config, 'us-east-2'), INSTANCE),
    ).toEqual([]);
  });

  it('catches a region up with the chunks it missed on the next snapshot', async () => {
    await world.proxies.get('us-east-2')?.down();
    await snapshotAt('20261125T010000Z');
    await world.proxies.get('us-east-2')?.up();

    const result = await snapshotAt('20261125T020000Z');

    expect(result.regionsCommitted.sort()).toEqual([...REPLICAS].sort());
    const report = await verifySnapshot({
      vault: backupVault(world.config, 'us-east-2'),
      instanceId: INSTANCE,
    });
    expect(report.ok).toBe(true);
    expect(report.objects).toBe(seeded.size);
  });

  it('leaves nothing visible when it crashes between the pack writes and the manifest write', async () => {
    // Simulates the process dying at the manifest write: every region's client refuses it.
    const clients = REPLICAS.map((r) => regionClient(world.config, r));
    const crash = 'crash-before-manifest';
    for (const client of clients) {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Key?: string };
          if (context.commandName === 'PutObjectCommand' && input.Key?.includes('/snapshots/')) {
            throw new Error('simulated crash before the manifest write');
          }
          return next(args);
        },
        { step: 'initialize', name: crash },
      );
    }
    let result: SnapshotResult;
    try {
      result = await snapshotAt('20261125T010000Z');
    } finally {
      for (const client of clients) client.middlewareStack.remove(crash);
    }

    expect(result.committed).toBe(false);
    for (const region of REPLICAS) {
      const stored = await allKeys(world.config, region, 'backup');
      expect(stored.some((k) => k.includes('/packs/'))).toBe(true);
      expect(stored.filter((k) => k.includes('/snapshots/') || k.includes('/commits/'))).toEqual(
        [],
      );
      expect(await listCommittedSnapshotIds(backupVault(world.config, region), INSTANCE)).toEqual(
        [],
      );
    }
  });

  it('detects a corrupted chunk, names it, and leaves the restore target untouched', async () => {
    const snap = await snapshotAt('20261125T010000Z');
    const vault = backupVault(world.config, 'us-west-2');
    const manifest = await readManifest(vault, INSTANCE, snap.snapshotId);
    const victim = manifest.objects.find((o) => o.key.startsWith('apis/')) ?? manifest.objects[0];
    const chunkId = victim?.chunks[0] as string;
    const location = manifest.chunks[chunkId];
    if (!location) throw new Error('test setup: chunk has no location');
    const packKey = keys.pack(INSTANCE, location.pack);
    const pack = await getBytes(world.config, 'us-west-2', 'backup', packKey);
    const at = location.offset + Math.floor(location.length / 2);
    pack.writeUInt8(pack.readUInt8(at) ^ 0xff, at);
    await putBytes(world.config, 'us-west-2', 'backup', packKey, pack);
    await seedInstance(
      instanceStore(world.config, 'eu-west-1'),
      INSTANCE,
      new Map([['keep-me.json', Buffer.from('{}')]]),
    );

    const report = await verifySnapshot({ vault, instanceId: INSTANCE });
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.name)).toContain(chunkId);

    const attempt = restoreSnapshot({
      vault,
      target: instanceStore(world.config, 'eu-west-1'),
      instanceId: INSTANCE,
    });
    await expect(attempt).rejects.toBeInstanceOf(SnapshotIntegrityError);
    await expect(attempt).rejects.toThrow(chunkId);
    expect(await allKeys(world.config, 'eu-west-1', 'instanceStore')).toEqual([
      `${INSTANCE}/keep-me.json`,
    ]);
  });

  it('falls back to the previous good snapshot when asked to', async () => {
    const good = await snapshotAt('20261125T010000Z');
    await instanceStore(world.config, 'us-east-1').write(
      INSTANCE,
      'apis/new.json',
      Buffer.from('{"n":1}'),
    );
    const bad = await snapshotAt('20261125T020000Z');
    const vault = backupVault(world.config, 'us-west-2');
    const manifest = await readManifest(vault, INSTANCE, bad.snapshotId);
    const newChunk = manifest.objects.find((o) => o.key === 'apis/new.json')?.chunks[0] as string;
    const packKey = keys.pack(INSTANCE, manifest.chunks[newChunk]?.pack as string);
    await regionClient(world.config, 'us-west-2').send(
      new (await import('@aws-sdk/client-s3')).DeleteObjectCommand({
        Bucket: `${world.config.naming.bucketPrefix}-backup-us-west-2`,
        Key: packKey,
      }),
    );

    const result = await restoreSnapshot({
      vault,
      target: instanceStore(world.config, 'eu-west-1'),
      instanceId: INSTANCE,
      fallbackToPrevious: true,
    });

    expect(result.snapshotId).toBe(good.snapshotId);
    expect(result.skipped.map((s) => s.snapshotId)).toEqual([bad.snapshotId]);
    expect(result.skipped[0]?.problems[0]).toMatchObject({ kind: 'missing-pack', name: packKey });
  });

  it('publishes "Snapshot Completed" with the run figures when run on a schedule', async () => {
    const published: LifeboatEvent[] = [];
    const job = snapshotJob(world.config, findInstance(world.config, INSTANCE));
    const summary = await runSnapshots({
      jobs: [job],
      triggerTime: new Date('2026-11-25T06:00:00Z'),
      force: false,
      bus: { publish: async (events) => void published.push(...events) },
      clock: systemClock,
    });

    expect(summary.outcomes[0]?.status).toBe('committed');
    expect(published).toHaveLength(1);
    expect(published[0]?.detailType).toBe('Snapshot Completed');
    expect(published[0]?.detail).toMatchObject({
      instanceId: INSTANCE,
      snapshotId: '20261125T060000Z',
      objectCount: seeded.size,
      regionsCommitted: expect.arrayContaining(REPLICAS),
    });
  });
});

describe('takeSnapshot of a large object', () => {
  it('splits it into 1 MiB chunks and restores it byte for byte', async () => {
    const big = Buffer.alloc(24 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    await instanceStore(world.config, 'us-east-1').write(INSTANCE, 'exports/big.bin', big);

    const snap = await snapshotAt('20261125T010000Z');
    const manifest = await readManifest(
      backupVault(world.config, 'us-east-2'),
      INSTANCE,
      snap.snapshotId,
    );
    const entry = manifest.objects.find((o) => o.key === 'exports/big.bin');
    await restoreSnapshot({
      vault: backupVault(world.config, 'us-east-2'),
      target: instanceStore(world.config, 'eu-west-1'),
      instanceId: INSTANCE,
    });

    expect(entry?.chunks).toHaveLength(25);
    const restored = await readInstance(world.config, 'eu-west-1', INSTANCE);
    expect(restored.get('exports/big.bin')?.equals(big)).toBe(true);
  });
});
