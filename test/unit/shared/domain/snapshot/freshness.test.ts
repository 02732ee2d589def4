import { describe, expect, it } from 'vitest';
import { snapshotAges } from '../../../../../shared/domain/snapshot/freshness.ts';
import { InMemoryBlobStore } from '../../../../fakes/blob-store.ts';

const NOW = new Date('2026-11-25T12:00:00Z');
const marker = (instanceId: string, snapshotId: string) =>
  `instances/${instanceId}/commits/${snapshotId}.json`;

describe('snapshotAges', () => {
  it('measures the newest commit across the replicas against two schedules when some are old', async () => {
    const east = new InMemoryBlobStore({ region: 'us-east-1' });
    const west = new InMemoryBlobStore({ region: 'us-west-2' });
    await east.put(marker('petstore', '20261125T000000Z'), new Uint8Array());
    await west.put(marker('petstore', '20261125T060000Z'), new Uint8Array());
    const vault = (region: string) => (region === 'us-east-1' ? east : west);
    const ages = await snapshotAges(
      [
        {
          instanceId: 'petstore',
          replicaRegions: ['us-east-1', 'us-west-2'],
          scheduleSeconds: 3600,
        },
        { instanceId: 'ledger', replicaRegions: ['us-east-1'], scheduleSeconds: 86_400 },
      ],
      vault,
      NOW,
    );
    expect(ages).toEqual([
      {
        instanceId: 'petstore',
        snapshotId: '20261125T060000Z',
        ageSeconds: 6 * 3600,
        limitSeconds: 7200,
        breached: true,
      },
      // No committed snapshot at all: nothing to restore, which is a breach too.
      { instanceId: 'ledger', limitSeconds: 172_800, breached: true },
    ]);
  });

  it('counts a snapshot within two schedules as fresh, ignoring an unreachable replica', async () => {
    const east = new InMemoryBlobStore({ region: 'us-east-1' });
    const down = new InMemoryBlobStore({ region: 'us-east-2' });
    down.unreachable = true;
    await east.put(marker('petstore', '20261124T130000Z'), new Uint8Array());
    const [age] = await snapshotAges(
      [
        {
          instanceId: 'petstore',
          replicaRegions: ['us-east-2', 'us-east-1'],
          scheduleSeconds: 86_400,
        },
      ],
      (region) => (region === 'us-east-1' ? east : down),
      NOW,
    );
    expect(age).toMatchObject({ ageSeconds: 23 * 3600, breached: false });
  });
});
