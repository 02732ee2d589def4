import { describe, expect, it } from 'vitest';
import { DetailType } from '../../../../../shared/domain/events.ts';
import { keys } from '../../../../../shared/domain/snapshot/format.ts';
import {
  restoreTestKey,
  runRestoreTest,
  scratchIdFor,
} from '../../../../../shared/domain/snapshot/restore-test.ts';
import { InMemoryBlobStore } from '../../../../fakes/blob-store.ts';
import { RecordingEventBus } from '../../../../fakes/event-bus.ts';
import { seedInstance } from '../../../../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../../../../fakes/instance-store.ts';
import { INSTANCE, REPLICA_REGIONS, snapshotWorld } from '../../../../worlds/snapshot.ts';

async function setUp() {
  const world = snapshotWorld();
  seedInstance(world.source, INSTANCE, { count: 12, size: 400, seed: 1 });
  const snap = await world.take();
  const stores = new Map<string, InMemoryInstanceStore>(
    REPLICA_REGIONS.map((r) => [r, new InMemoryInstanceStore({ region: r })]),
  );
  const bus = new RecordingEventBus();
  const control = new InMemoryBlobStore();
  const test = (index: number) =>
    runRestoreTest({
      instanceId: INSTANCE,
      replicas: world.replicas,
      scratchStore: (region) => stores.get(region) as InMemoryInstanceStore,
      pick: (n) => index % n,
      clock: world.clock,
      bus,
      record: control,
    });
  return { world, snap, stores, bus, control, test };
}

describe('runRestoreTest', () => {
  it('passes, publishes Restore Test Passed and leaves no scratch copy when the snapshot is intact', async () => {
    const { snap, stores, bus, control, test } = await setUp();
    const result = await test(1);
    expect(result).toMatchObject({
      instanceId: INSTANCE,
      snapshotId: snap.snapshotId,
      region: REPLICA_REGIONS[1],
      objects: 12,
      bytes: snap.bytesTotal,
      passed: true,
    });
    expect(result.reason).toBeUndefined();
    expect(bus.details(DetailType.RestoreTestPassed)).toEqual([
      expect.objectContaining({
        snapshotId: snap.snapshotId,
        region: REPLICA_REGIONS[1],
        bytes: snap.bytesTotal,
      }),
    ]);
    const store = stores.get(REPLICA_REGIONS[1] as string) as InMemoryInstanceStore;
    expect(store.contents(scratchIdFor(INSTANCE)).size).toBe(0);
    // Written to the scratch prefix, never to the instance itself.
    expect(store.contents(INSTANCE).size).toBe(0);
    expect(JSON.parse(control.bytes(restoreTestKey(INSTANCE)).toString()).passed).toBe(true);
  });

  it('fails naming the corrupt pack, publishes Restore Test Failed and leaves nothing when a pack is damaged', async () => {
    const { world, stores, bus, test } = await setUp();
    const vault = world.vault(REPLICA_REGIONS[2] as string);
    for (const pack of vault.keys(keys.packsPrefix(INSTANCE))) vault.corrupt(pack);
    const result = await test(2);
    expect(result.passed).toBe(false);
    expect(result.reason).toMatch(/corrupt-pack/);
    expect(bus.details(DetailType.RestoreTestFailed)).toEqual([
      expect.objectContaining({ region: REPLICA_REGIONS[2], reason: result.reason }),
    ]);
    const store = stores.get(REPLICA_REGIONS[2] as string) as InMemoryInstanceStore;
    expect(store.contents(scratchIdFor(INSTANCE)).size).toBe(0);
  });

  it('fails with the reason when the chosen region holds no committed snapshot', async () => {
    const { world, bus } = await setUp();
    const empty = { region: 'eu-west-1', vault: new InMemoryBlobStore({ region: 'eu-west-1' }) };
    const result = await runRestoreTest({
      instanceId: INSTANCE,
      replicas: [empty],
      scratchStore: () => new InMemoryInstanceStore(),
      pick: () => 0,
      clock: world.clock,
      bus,
    });
    expect(result).toMatchObject({ passed: false, region: 'eu-west-1', objects: 0, bytes: 0 });
    expect(result.reason).toContain('no committed snapshot');
    expect(bus.details(DetailType.RestoreTestFailed)).toHaveLength(1);
  });
});
