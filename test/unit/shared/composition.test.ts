import { describe, expect, it } from 'vitest';
import {
  backupVault,
  controlStore,
  instanceStore,
  replicaTargets,
  snapshotJob,
} from '../../../shared/composition.ts';
import { DEFAULT_CONFIG_PATH, findInstance, loadConfig } from '../../../shared/config/load.ts';
import { UnknownRegionError } from '../../../shared/errors.ts';

const config = loadConfig(DEFAULT_CONFIG_PATH);

describe('snapshotJob', () => {
  it('reads the instance in its home region and writes to every replica when built from config', () => {
    const job = snapshotJob(config, findInstance(config, 'payments'));
    expect(job).toMatchObject({
      instanceId: 'payments',
      intervalSeconds: 300,
      quorum: 2,
      sourceRegion: 'eu-west-1',
      retention: { last: 1, daily: 7, weekly: 4, gcGraceSeconds: 21_600 },
    });
    expect(job.source.location).toBe('s3://lifeboat-demo-store-eu-west-1 (eu-west-1)');
    expect(job.replicas.map((r) => [r.region, r.vault.location])).toEqual([
      ['eu-west-1', 's3://lifeboat-demo-backup-eu-west-1 (eu-west-1)'],
      ['us-east-1', 's3://lifeboat-demo-backup-us-east-1 (us-east-1)'],
      ['us-west-2', 's3://lifeboat-demo-backup-us-west-2 (us-west-2)'],
    ]);
  });

  it('uses a majority quorum and the daily default when the instance sets neither', () => {
    const job = snapshotJob(config, findInstance(config, 'petstore'));
    expect(job.quorum).toBe(2);
    expect(job.intervalSeconds).toBe(86_400);
    expect(job.retention.last).toBe(3);
  });
});

describe('replicaTargets', () => {
  it('lists the replica regions in config order when built from config', () => {
    expect(replicaTargets(config, findInstance(config, 'petstore')).map((r) => r.region)).toEqual([
      'us-east-1',
      'us-east-2',
      'us-west-2',
    ]);
  });
});

describe('backupVault', () => {
  it('throws UnknownRegionError when the region is not configured', () => {
    expect(() => backupVault(config, 'ap-south-2')).toThrow(UnknownRegionError);
  });

  it("addresses the region's own buckets when building each store", () => {
    expect(backupVault(config, 'us-west-2').location).toBe(
      's3://lifeboat-demo-backup-us-west-2 (us-west-2)',
    );
    expect(controlStore(config, 'us-west-2').location).toBe(
      's3://lifeboat-demo-control-us-west-2 (us-west-2)',
    );
    expect(instanceStore(config, 'us-east-2').location).toBe(
      's3://lifeboat-demo-store-us-east-2 (us-east-2)',
    );
  });
});
