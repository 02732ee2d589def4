import { describe, expect, it } from 'vitest';
import { planRegionFailure } from '../../../../../shared/domain/recovery/dry-run.ts';
import { startRecovery } from '../../../../../shared/domain/recovery/recovery-run.ts';
import { keys } from '../../../../../shared/domain/snapshot/format.ts';
import { MINUTE } from '../../../../fakes/clock.ts';
import { recoveryWorld } from '../../../../worlds/recovery.ts';

/** Every call the world's ports saw that could have written something. */
function writes(world: ReturnType<typeof recoveryWorld>): number {
  let count = world.dns.applyCalls + world.bus.events.length;
  for (const region of ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1']) {
    count += world.vault(region).calls.filter((c) => c.op === 'put' || c.op === 'delete').length;
    count += world.bucket(region).deletes.length;
    count += world.bucket(region).inner.calls.filter((c) => c.op === 'save').length;
  }
  return count;
}

describe('planRegionFailure', () => {
  it('plans a recovery into the nearest region with the snapshot and DNS it would use when home fails', async () => {
    const world = recoveryWorld();
    await world.seed();
    const snapshot = await world.snapshot();
    world.clock.advance(5 * MINUTE);
    const before = writes(world);

    const plan = await planRegionFailure(world.deps, 'us-east-1', 'us-west-2', null);

    expect(plan).toMatchObject({ failedRegion: 'us-east-1', here: 'us-west-2' });
    expect(plan.instances).toEqual([
      expect.objectContaining({
        instanceId: 'petstore',
        state: 'home',
        action: 'recover',
        target: expect.objectContaining({ region: 'us-east-2', rank: 1, units: 1 }),
        snapshot: expect.objectContaining({
          snapshotId: snapshot.snapshotId,
          region: 'us-east-2',
          configDigest: snapshot.configDigest,
          ageSeconds: 300,
        }),
        rpoSeconds: 300,
        dns: {
          recordName: 'petstore.api.example.com',
          before: { 'us-east-1': 100, 'us-east-2': 0, 'us-west-2': 0, 'eu-west-1': 0 },
          after: { 'us-east-1': 0, 'us-east-2': 100, 'us-west-2': 0, 'eu-west-1': 0 },
        },
      }),
    ]);
    expect(writes(world)).toBe(before);
  });

  it('blocks the instance, naming the replicas, when no snapshot is committed', async () => {
    const world = recoveryWorld();

    const plan = await planRegionFailure(world.deps, 'us-east-1', 'us-west-2', null);

    expect(plan.instances[0]).toMatchObject({
      action: 'blocked',
      reason:
        'no committed snapshot of petstore in any reachable replica outside us-east-1 (us-east-2, us-west-2)',
    });
  });

  it('blocks the instance, naming the snapshot, when its manifest is corrupt', async () => {
    const world = recoveryWorld();
    await world.seed();
    const snapshot = await world.snapshot();
    world.vault('us-east-2').corrupt(keys.manifest('petstore', snapshot.snapshotId), 0);

    const plan = await planRegionFailure(world.deps, 'us-east-1', 'us-west-2', null);

    expect(plan.instances[0]?.action).toBe('blocked');
    expect(plan.instances[0]?.reason).toContain(
      `snapshot ${snapshot.snapshotId} in us-east-2 is unreadable`,
    );
  });

  it('names the run already handling the region when a recovery out of it is claimed', async () => {
    const world = recoveryWorld();
    await world.seed();
    await world.snapshot();
    await startRecovery(world.deps, {
      instance: world.instance(),
      failedRegion: 'us-east-1',
      claimant: 'delivery-a',
      incident: { confirmedAt: world.clock.peek().toISOString() },
    });

    const plan = await planRegionFailure(world.deps, 'us-east-1', 'us-west-2', null);

    expect(plan.instances[0]).toMatchObject({
      action: 'in-progress',
      runId: 'petstore-g1',
      reason: 'recovery run petstore-g1 out of us-east-1 is running',
    });
  });

  it('drains only the failed region when the instance runs active-active', async () => {
    const world = recoveryWorld({
      instances: [{ id: 'payments', activeRegions: ['us-east-1', 'us-east-2', 'us-west-2'] }],
    });

    const plan = await planRegionFailure(world.deps, 'us-east-1', 'us-west-2', null);
    const elsewhere = await planRegionFailure(world.deps, 'eu-west-1', 'us-west-2', null);

    expect(plan.instances[0]).toMatchObject({
      state: 'active-active',
      action: 'drain',
      dns: { after: { 'us-east-1': 0, 'us-east-2': 50, 'us-west-2': 50, 'eu-west-1': 0 } },
    });
    expect(elsewhere.instances[0]).toMatchObject({
      action: 'none',
      reason: 'active-active, not active in eu-west-1',
    });
    expect(world.dns.applyCalls).toBe(0);
  });

  it('lets each planned recovery take its slot before the next instance chooses', async () => {
    const world = recoveryWorld({
      instances: [{ id: 'petstore' }, { id: 'orders' }],
      capacity: { 'us-east-2': 1 },
    });

    const plan = await planRegionFailure(world.deps, 'us-east-1', 'us-west-2', new Set(['orders']));

    expect(plan.instances.map((p) => [p.instanceId, p.target?.region])).toEqual([
      ['orders', 'us-west-2'],
    ]);
    expect(plan.instances[0]?.target?.skipped[0]?.reason).toBe('no-capacity');
  });
});
