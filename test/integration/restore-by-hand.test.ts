import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectOutput } from '../../local/child-output.ts';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { backupVault, instanceStore, snapshotJob } from '../../shared/composition.ts';
import { findInstance, findRegion, regionBuckets } from '../../shared/config/load.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { readManifest } from '../../shared/domain/snapshot/catalog.ts';
import { encodeJson, FORMAT_V1, keys } from '../../shared/domain/snapshot/format.ts';
import { type SnapshotResult, takeSnapshot } from '../../shared/domain/snapshot/take-snapshot.ts';
import { getBytes, putBytes } from '../support/s3.ts';
import { formatV2Of } from '../support/stored-snapshot.ts';
import { createMotoWorld, type MotoWorld } from '../worlds/moto.ts';

const INSTANCE = 'petstore';
const REGION = 'us-west-2';
const SCRIPT = 'docs/restore-by-hand.sh';
/** Over 1 MiB and not a multiple of it: three chunks, the last one short. */
const BIG_KEY = 'exports/big.bin';

let world: MotoWorld;
let source: Map<string, Buffer>;
let scratch: string;

async function snapshotAt(snapshotId: string): Promise<SnapshotResult> {
  const job = snapshotJob(world.config, findInstance(world.config, INSTANCE));
  const result = await takeSnapshot({
    instanceId: INSTANCE,
    sourceRegion: job.sourceRegion,
    source: job.source,
    replicas: job.replicas,
    quorum: job.quorum,
    snapshotId,
    clock: systemClock,
  });
  expect(result.committed).toBe(true);
  return result;
}

function manifestOf(snapshotId: string) {
  return readManifest(backupVault(world.config, REGION), INSTANCE, snapshotId);
}

function backupBucket(): string {
  return regionBuckets(world.config, findRegion(world.config, REGION)).backup;
}

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the by-hand script the way an operator would, with only AWS CLI settings in the env. */
function restoreByHand(outDir: string, snapshotId?: string): Promise<ScriptRun> {
  const endpoint = findRegion(world.config, REGION).endpointUrl ?? world.endpoint;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_DEFAULT_REGION: REGION,
    // Keep the machine's own AWS CLI profile out of the test.
    AWS_CONFIG_FILE: join(scratch, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-aws-credentials'),
    TMPDIR: scratch,
  };
  delete env.AWS_PROFILE;
  delete env.AWS_SESSION_TOKEN;
  const args = [SCRIPT, backupBucket(), INSTANCE, outDir, ...(snapshotId ? [snapshotId] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn('bash', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = collectOutput(child);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, ...output }));
  });
}

/** Every regular file under a directory, relative path → bytes. */
async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(dir, path), await readFile(path));
  }
  return out;
}

function expectSameObjects(restored: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  expect([...restored.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, body] of expected) expect(restored.get(key)?.equals(body), key).toBe(true);
}

beforeEach(async () => {
  world = await createMotoWorld();
  scratch = await mkdtemp(join(tmpdir(), 'lifeboat-by-hand-'));
  source = sampleInstanceObjects({ apis: 30, seed: 7 });
  source.set(BIG_KEY, randomBytes(2 * 1024 * 1024 + 512 * 1024 + 7));
  source.set('exports/empty.json', Buffer.alloc(0));
  source.set('docs/read me (v2).txt', Buffer.from('a key with spaces and parentheses\n'));
  await seedInstance(instanceStore(world.config, 'us-east-1'), INSTANCE, source);
});

afterEach(async () => {
  await world.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('restore by hand', () => {
  it('restores every object byte for byte when the newest snapshot is committed', async () => {
    const snap = await snapshotAt('20261125T010000Z');
    const manifest = await manifestOf(snap.snapshotId);
    expect(manifest.objects.find((o) => o.key === BIG_KEY)?.chunks).toHaveLength(3);
    const outDir = join(scratch, 'restored');

    const run = await restoreByHand(outDir);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`snapshot ${snap.snapshotId} of ${INSTANCE}`);
    expect(run.stderr).toContain(`configDigest ${snap.configDigest}`);
    expectSameObjects(await filesUnder(outDir), source);
  });

  it('restores the newest snapshot across packs of two runs, and an older one when its id is given', async () => {
    const first = await snapshotAt('20261125T010000Z');
    const store = instanceStore(world.config, 'us-east-1');
    const edited = new Map(source);
    for (const key of [...source.keys()].filter((k) => k.startsWith('plans/'))) {
      edited.set(key, Buffer.from(`{"edited":"${key}"}\n`));
      await store.write(INSTANCE, key, edited.get(key) as Buffer);
    }
    const second = await snapshotAt('20261125T020000Z');
    const manifest = await manifestOf(second.snapshotId);
    expect(new Set(Object.values(manifest.chunks).map((c) => c.pack)).size).toBeGreaterThan(1);

    const newest = await restoreByHand(join(scratch, 'newest'));
    const older = await restoreByHand(join(scratch, 'older'), first.snapshotId);

    expect(newest.code, newest.stderr).toBe(0);
    expectSameObjects(await filesUnder(join(scratch, 'newest')), edited);
    expect(older.code, older.stderr).toBe(0);
    expectSameObjects(await filesUnder(join(scratch, 'older')), source);
  });

  it('exits non-zero naming the chunk and writes nothing when a chunk in a pack is corrupt', async () => {
    const snap = await snapshotAt('20261125T010000Z');
    const manifest = await manifestOf(snap.snapshotId);
    const chunkId = manifest.objects.find((o) => o.key === BIG_KEY)?.chunks[1] as string;
    const location = manifest.chunks[chunkId];
    if (!location) throw new Error('test setup: chunk has no location');
    const packKey = keys.pack(INSTANCE, location.pack);
    const pack = await getBytes(world.config, REGION, 'backup', packKey);
    const at = location.offset + Math.floor(location.length / 2);
    pack.writeUInt8(pack.readUInt8(at) ^ 0xff, at);
    await putBytes(world.config, REGION, 'backup', packKey, pack);
    const outDir = join(scratch, 'restored');

    const run = await restoreByHand(outDir);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`corrupt-chunk ${chunkId} of ${BIG_KEY}`);
    expect(run.stderr).toContain(`corrupt-pack ${packKey}`);
    expect(await filesUnder(outDir)).toEqual(new Map());
  });

  it('applies change layers, deletions and folder markers when the snapshot has several layers', async () => {
    await snapshotAt('20261125T010000Z');
    const store = instanceStore(world.config, 'us-east-1');
    const expected = new Map(source);
    const gone = [...source.keys()].filter((k) => k.startsWith('products/')).slice(0, 2);
    await store.delete(INSTANCE, gone);
    for (const key of gone) expected.delete(key);
    await store.write(INSTANCE, 'apis/api-0003.json', Buffer.from('{"changed":true}\n'));
    expected.set('apis/api-0003.json', Buffer.from('{"changed":true}\n'));
    // A console-made folder marker: kept as an (empty) object, restored as a directory.
    await store.write(INSTANCE, 'attachments/', Buffer.alloc(0));
    await snapshotAt('20261125T020000Z');
    await store.write(INSTANCE, 'apis/api-0004.json', Buffer.from('{"changed":2}\n'));
    expected.set('apis/api-0004.json', Buffer.from('{"changed":2}\n'));
    const third = await snapshotAt('20261125T030000Z');
    const root = JSON.parse(
      (
        await getBytes(world.config, REGION, 'backup', keys.manifest(INSTANCE, third.snapshotId))
      ).toString(),
    );
    expect(root.layers.map((l: { deleted: number }) => l.deleted)).toEqual([0, 2, 0]);
    const outDir = join(scratch, 'restored');

    const run = await restoreByHand(outDir);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`configDigest ${third.configDigest}`);
    expectSameObjects(await filesUnder(outDir), expected);
    const dirs = await readdir(outDir, { withFileTypes: true });
    expect(dirs.find((d) => d.name === 'attachments')?.isDirectory()).toBe(true);
  });

  it('restores a format-1 manifest byte for byte when the snapshot was written before format 2', async () => {
    const snap = await snapshotAt('20261125T010000Z');
    const m = await manifestOf(snap.snapshotId);
    const v1 = {
      format: FORMAT_V1,
      instanceId: m.instanceId,
      snapshotId: m.snapshotId,
      createdAt: m.createdAt,
      sourceRegion: m.sourceRegion,
      region: m.region,
      configDigest: m.configDigest,
      totals: m.totals,
      objects: m.objects,
      chunks: m.chunks,
    };
    await putBytes(
      world.config,
      REGION,
      'backup',
      keys.manifest(INSTANCE, snap.snapshotId),
      Buffer.from(encodeJson(v1)),
    );
    const outDir = join(scratch, 'restored');

    const run = await restoreByHand(outDir);

    expect(run.code, run.stderr).toBe(0);
    expectSameObjects(await filesUnder(outDir), source);
  });

  it('restores a format-2 snapshot byte for byte when it was written before format 3', async () => {
    const snap = await snapshotAt('20261125T010000Z');
    const { root, pack } = formatV2Of(await manifestOf(snap.snapshotId));
    await putBytes(world.config, REGION, 'backup', keys.pack(INSTANCE, pack.id), pack.body);
    await putBytes(
      world.config,
      REGION,
      'backup',
      keys.manifest(INSTANCE, snap.snapshotId),
      Buffer.from(encodeJson(root)),
    );
    const outDir = join(scratch, 'restored');

    const run = await restoreByHand(outDir);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`configDigest ${snap.configDigest}`);
    expectSameObjects(await filesUnder(outDir), source);
  });

  it('exits non-zero naming the entries member and writes nothing when a metadata pack is corrupt', async () => {
    const snap = await snapshotAt('20261125T010000Z');
    const rootKey = keys.manifest(INSTANCE, snap.snapshotId);
    const root = JSON.parse((await getBytes(world.config, REGION, 'backup', rootKey)).toString());
    const layer = root.layers[0].entries as {
      id: string;
      pack: string;
      offset: number;
      length: number;
    };
    const packKey = keys.pack(INSTANCE, layer.pack);
    const pack = await getBytes(world.config, REGION, 'backup', packKey);
    const at = layer.offset + Math.floor(layer.length / 2);
    pack.writeUInt8(pack.readUInt8(at) ^ 0xff, at);
    await putBytes(world.config, REGION, 'backup', packKey, pack);
    const outDir = join(scratch, 'restored');

    const run = await restoreByHand(outDir);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`corrupt-pack ${packKey}`);
    expect(run.stderr).toContain(`metadata entries ${layer.id}`);
    expect(await filesUnder(outDir)).toEqual(new Map());
  });
});
