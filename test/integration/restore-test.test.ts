import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import {
  backupVault,
  instanceStore,
  restoreTestInput,
  snapshotJob,
} from '../../shared/composition.ts';
import { findInstance } from '../../shared/config/load.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { readManifest } from '../../shared/domain/snapshot/catalog.ts';
import { keys } from '../../shared/domain/snapshot/format.ts';
import { runRestoreTest, scratchIdFor } from '../../shared/domain/snapshot/restore-test.ts';
import { takeSnapshot } from '../../shared/domain/snapshot/take-snapshot.ts';
import { RecordingEventBus } from '../fakes/event-bus.ts';
import { getBytes, putBytes } from '../support/s3.ts';
import { createMotoWorld, type MotoWorld } from '../worlds/moto.ts';

const INSTANCE = 'petstore';
const REGION = 'us-west-2';

let world: MotoWorld;
let snapshotId: string;

beforeEach(async () => {
  world = await createMotoWorld();
  await seedInstance(
    instanceStore(world.config, 'us-east-1'),
    INSTANCE,
    sampleInstanceObjects({ apis: 20, seed: 9 }),
  );
  const job = snapshotJob(world.config, findInstance(world.config, INSTANCE));
  const result = await takeSnapshot({
    instanceId: INSTANCE,
    sourceRegion: job.sourceRegion,
    source: job.source,
    replicas: job.replicas,
    quorum: job.quorum,
    snapshotId: '20261125T010000Z',
    clock: systemClock,
  });
  expect(result.committed).toBe(true);
  snapshotId = result.snapshotId;
});

afterEach(async () => {
  await world.close();
});

function testIn(region: string, bus: RecordingEventBus) {
  const input = restoreTestInput(world.config, findInstance(world.config, INSTANCE), { region });
  return runRestoreTest({ ...input, bus });
}

describe('restore test against moto', () => {
  it('passes and deletes its scratch copy when the snapshot is intact', async () => {
    const bus = new RecordingEventBus();
    const result = await testIn(REGION, bus);
    expect(result).toMatchObject({ passed: true, snapshotId, region: REGION });
    expect(result.objects).toBeGreaterThan(0);
    expect(bus.details('Restore Test Passed')).toHaveLength(1);
    expect(await instanceStore(world.config, REGION).list(scratchIdFor(INSTANCE))).toEqual([]);
  });

  it('fails naming the pack and deletes its scratch copy when a pack is corrupt', async () => {
    const vault = backupVault(world.config, REGION);
    const manifest = await readManifest(vault, INSTANCE, snapshotId);
    const pack = Object.values(manifest.chunks)[0]?.pack as string;
    const key = keys.pack(INSTANCE, pack);
    const bytes = await getBytes(world.config, REGION, 'backup', key);
    bytes.writeUInt8(bytes.readUInt8(10) ^ 0xff, 10);
    await putBytes(world.config, REGION, 'backup', key, bytes);
    const bus = new RecordingEventBus();

    const result = await testIn(REGION, bus);

    expect(result.passed).toBe(false);
    expect(result.reason).toContain(`corrupt-pack ${key}`);
    expect(bus.details('Restore Test Failed')).toEqual([
      expect.objectContaining({ region: REGION, snapshotId, reason: result.reason }),
    ]);
    expect(await instanceStore(world.config, REGION).list(scratchIdFor(INSTANCE))).toEqual([]);
  });
});
