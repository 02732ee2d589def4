import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  buildSnapshotHandler,
  defaultSnapshotDeps,
  snapshotDepsFor,
} from '../../functions/snapshot/handler.ts';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { instanceStore } from '../../shared/composition.ts';
import { ConfigError, EventValidationError } from '../../shared/errors.ts';
import { subscribe } from '../support/bus.ts';
import { allKeys } from '../support/s3.ts';
import { createMotoWorld, type MotoWorld } from '../worlds/moto.ts';

const context = { functionName: 'snapshot', awsRequestId: 'test' } as Context;
const scheduled = () => JSON.parse(readFileSync('events/schedule.json', 'utf8'));
let world: MotoWorld;

beforeEach(async () => {
  world = await createMotoWorld();
  await seedInstance(
    instanceStore(world.config, 'us-east-1'),
    'petstore',
    sampleInstanceObjects({ apis: 10 }),
  );
});

afterEach(async () => {
  await world.close();
});

async function backupKeys() {
  const all = await Promise.all(
    ['us-east-1', 'us-east-2', 'us-west-2'].map((r) => allKeys(world.config, r, 'backup')),
  );
  return all.flat();
}

describe('snapshot handler', () => {
  it('snapshots on a schedule tick and emits "Snapshot Completed" on the bus', async () => {
    const bus = await subscribe(world.config, 'us-east-1', [
      'Snapshot Completed',
      'Snapshot Failed',
    ]);
    const handler = buildSnapshotHandler(() =>
      snapshotDepsFor(world.config, { LIFEBOAT_REGION: 'us-east-1' }),
    );

    const result = await handler(scheduled(), context);

    expect(result.snapshotId).toBe('20261125T060000Z');
    expect(result.instances).toEqual([
      expect.objectContaining({
        instanceId: 'petstore',
        status: 'committed',
        regionsCommitted: expect.any(Array),
      }),
    ]);
    const events = await bus.received();
    expect(events.map((e) => e['detail-type'])).toEqual(['Snapshot Completed']);
    expect(events[0]?.detail).toMatchObject({
      instanceId: 'petstore',
      snapshotId: '20261125T060000Z',
      objectCount: 16,
      regionsCommitted: expect.arrayContaining(['us-east-1', 'us-east-2', 'us-west-2']),
      bytesTotal: expect.any(Number),
      bytesUploaded: expect.any(Number),
      durationMs: expect.any(Number),
    });
  });

  it('skips an instance whose schedule is not due yet', async () => {
    const handler = buildSnapshotHandler(() => snapshotDepsFor(world.config, {}));
    await handler(scheduled(), context);
    const oneHourLater = { ...scheduled(), time: '2026-11-25T07:00:00Z' };

    const result = await handler(oneHourLater, context);

    expect(result.instances[0]).toMatchObject({ status: 'skipped', reason: 'not due yet' });
  });

  it('rejects a malformed schedule event with one error naming the field, and writes nothing', async () => {
    const bus = await subscribe(world.config, 'us-east-1', [
      'Snapshot Completed',
      'Snapshot Failed',
    ]);
    const handler = buildSnapshotHandler(() => snapshotDepsFor(world.config, {}));
    const malformed = JSON.parse(readFileSync('events/schedule-malformed.json', 'utf8'));

    const attempt = handler(malformed, context);

    await expect(attempt).rejects.toBeInstanceOf(EventValidationError);
    await expect(attempt).rejects.toThrow(/invalid schedule event: time:/);
    expect(await backupKeys()).toEqual([]);
    expect(await bus.received()).toEqual([]);
  });

  it('rejects a bad config with an error naming the file and the field, and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-config-'));
    const file = join(dir, 'bad.yml');
    const raw = JSON.parse(JSON.stringify(world.config));
    raw.instances[0].homeRegion = 'us-nowhere-1';
    writeFileSync(file, stringify(raw));
    const handler = buildSnapshotHandler(() => defaultSnapshotDeps({ LIFEBOAT_CONFIG: file }));

    const attempt = handler(scheduled(), context);

    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(
      `${file}: instances[0].homeRegion: unknown region "us-nowhere-1"`,
    );
    expect(await backupKeys()).toEqual([]);
  });
});

describe('snapshot handler in a region that homes no instance', () => {
  it('snapshots nothing on a schedule tick when no instance is homed there', async () => {
    const handler = buildSnapshotHandler(() =>
      snapshotDepsFor(world.config, { LIFEBOAT_REGION: 'eu-west-1' }),
    );

    const result = await handler(scheduled(), context);

    expect(result.instances).toEqual([]);
    expect(await backupKeys()).toEqual([]);
  });
});
