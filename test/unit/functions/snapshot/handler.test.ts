import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  buildSnapshotHandler,
  handler,
  type SnapshotDeps,
  snapshot,
} from '../../../../functions/snapshot/handler.ts';
import { EmfMetrics } from '../../../../shared/adapters/emf-metrics.ts';
import { DEFAULT_CONFIG_PATH, findInstance, loadConfig } from '../../../../shared/config/load.ts';
import { DetailType, type SnapshotEventDetail } from '../../../../shared/domain/events.ts';
import type { SnapshotJob } from '../../../../shared/domain/snapshot/run.ts';
import { EventValidationError } from '../../../../shared/errors.ts';
import { logger } from '../../../../shared/observability.ts';
import { FakeClock } from '../../../fakes/clock.ts';
import { emfLines } from '../../../fakes/emf.ts';
import { RecordingEventBus } from '../../../fakes/event-bus.ts';
import { replicaSet, seedInstance } from '../../../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../../../fakes/instance-store.ts';
import { lambdaContext } from '../../../fakes/lambda-context.ts';

const CONFIG_PATH = fileURLToPath(new URL('../../../../lifeboat.config.yml', import.meta.url));
const eventFile = (name: string): unknown =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`../../../../events/${name}`, import.meta.url)), 'utf8'),
  );

const context = lambdaContext('lifeboat-dev-snapshot');

beforeAll(() => {
  logger.setLogLevel('SILENT');
});

/** Deps whose jobs run on in-memory stores; `jobFor` calls are counted. */
function fakeDeps(region = 'us-east-1') {
  const config = loadConfig(DEFAULT_CONFIG_PATH);
  const clock = new FakeClock('2026-11-25T06:00:00Z');
  const bus = new RecordingEventBus();
  const jobs = new Map<string, { job: SnapshotJob; source: InMemoryInstanceStore }>();
  const jobFor = vi.fn((id: string): SnapshotJob => {
    let entry = jobs.get(id);
    if (!entry) {
      const instance = findInstance(config, id);
      const source = new InMemoryInstanceStore({ region: instance.homeRegion });
      seedInstance(source, id, { count: 5, size: 200, seed: id.length });
      const { replicas } = replicaSet(instance.replicaRegions, clock);
      entry = {
        source,
        job: {
          instanceId: id,
          intervalSeconds: 86_400,
          quorum: 2,
          retention: instance.snapshot.retention,
          sourceRegion: instance.homeRegion,
          source,
          replicas,
        },
      };
      jobs.set(id, entry);
    }
    return entry.job;
  });
  const deps: SnapshotDeps = { config, region, clock, bus, jobFor };
  return { deps, bus, jobFor, clock, jobs };
}

describe('snapshot', () => {
  it('snapshots only the instances homed in this region when a schedule ticks', async () => {
    const { deps, bus } = fakeDeps('us-east-1');
    const result = await snapshot(
      {
        kind: 'schedule',
        time: new Date('2026-11-25T06:00:00Z'),
        force: false,
        instanceIds: ['petstore', 'payments'],
      },
      deps,
    );
    expect(result.snapshotId).toBe('20261125T060000Z');
    expect(result.instances).toEqual([
      {
        instanceId: 'petstore',
        status: 'committed',
        snapshotId: '20261125T060000Z',
        reason: undefined,
        regionsCommitted: ['us-east-1', 'us-east-2', 'us-west-2'],
        regionsFailed: [],
        objectCount: 5,
        bytesTotal: expect.any(Number),
        bytesUploaded: expect.any(Number),
        durationMs: 0,
      },
    ]);
    expect(
      bus.details<SnapshotEventDetail>(DetailType.SnapshotCompleted).map((d) => d.instanceId),
    ).toEqual(['petstore']);
  });

  it('snapshots a requested instance when the request lands outside its home region', async () => {
    const { deps, jobFor } = fakeDeps('us-east-1');
    const result = await snapshot(
      {
        kind: 'request',
        time: new Date('2026-11-25T06:00:00Z'),
        force: true,
        instanceIds: ['payments'],
      },
      deps,
    );
    expect(jobFor).toHaveBeenCalledWith('payments');
    expect(result.instances.map((i) => [i.instanceId, i.status])).toEqual([
      ['payments', 'committed'],
    ]);
  });

  it('reports a skipped line with its reason when the instance is not due', async () => {
    const { deps } = fakeDeps('us-east-1');
    const tick = (iso: string) =>
      snapshot(
        { kind: 'schedule', time: new Date(iso), force: false, instanceIds: ['petstore'] },
        deps,
      );
    await tick('2026-11-25T06:00:00Z');
    const second = await tick('2026-11-25T12:00:00Z');
    expect(second.instances).toEqual([
      expect.objectContaining({
        instanceId: 'petstore',
        status: 'skipped',
        reason: 'not due yet',
        snapshotId: undefined,
      }),
    ]);
  });

  it('reports a failed line with its reason when the instance cannot be read', async () => {
    const { deps, jobFor } = fakeDeps('us-east-1');
    (jobFor('petstore').source as InMemoryInstanceStore).unreachable = true;
    const result = await snapshot(
      {
        kind: 'request',
        time: new Date('2026-11-25T06:00:00Z'),
        force: true,
        instanceIds: ['petstore', 'payments'],
      },
      deps,
    );
    expect(result.instances.map((i) => [i.instanceId, i.status])).toEqual([
      ['petstore', 'failed'],
      ['payments', 'committed'],
    ]);
    expect(result.instances[0]?.reason).toContain('cannot read instance petstore');
  });
});

describe('buildSnapshotHandler', () => {
  it('parses a real schedule event and snapshots the due instances when invoked through middy', async () => {
    const { deps } = fakeDeps('us-east-1');
    const run = buildSnapshotHandler(() => deps);
    const result = (await run(eventFile('schedule.json'), context)) as Awaited<
      ReturnType<typeof snapshot>
    >;
    expect(result.snapshotId).toBe('20261125T060000Z');
    expect(result.instances.map((i) => i.instanceId)).toEqual(['petstore']);
  });

  it('rejects the event before building any job or publishing when the schedule event is malformed', async () => {
    const { deps, bus, jobFor } = fakeDeps('us-east-1');
    const run = buildSnapshotHandler(() => deps);
    const caught = await run(eventFile('schedule-malformed.json'), context).catch(
      (e: unknown) => e,
    );
    expect(caught).toBeInstanceOf(EventValidationError);
    expect((caught as EventValidationError).field).toBe('time');
    expect((caught as Error).message).toContain('invalid schedule event: time: ');
    expect(jobFor).not.toHaveBeenCalled();
    expect(bus.publishCalls).toBe(0);
  });

  it('names the list entry when a request names an unknown instance', async () => {
    const { deps, jobFor } = fakeDeps('us-east-1');
    const run = buildSnapshotHandler(() => deps);
    const caught = await run({ action: 'snapshot', instances: ['ghost'] }, context).catch(
      (e: unknown) => e,
    );
    expect(caught).toBeInstanceOf(EventValidationError);
    expect((caught as EventValidationError).field).toBe('instances[0]');
    expect(jobFor).not.toHaveBeenCalled();
  });
});

describe('handler', () => {
  const s3 = mockClient(S3Client);
  const eventBridge = mockClient(EventBridgeClient);

  beforeEach(() => {
    s3.reset();
    eventBridge.reset();
    vi.stubEnv('LIFEBOAT_CONFIG', CONFIG_PATH);
    vi.stubEnv('LIFEBOAT_REGION', 'us-east-1');
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('rejects with EventValidationError before any AWS call when the schedule event is malformed', async () => {
    const caught = await handler(eventFile('schedule-malformed.json'), context).catch(
      (e: unknown) => e,
    );
    expect(caught).toBeInstanceOf(EventValidationError);
    expect((caught as EventValidationError).field).toBe('time');
    expect((caught as Error).message).toMatch(/^invalid schedule event: time: /);
    expect(s3.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('names the field before any AWS call when the event has an unknown field', async () => {
    const caught = await handler(
      { action: 'snapshot', instances: ['petstore'], dryRun: true },
      context,
    ).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(EventValidationError);
    expect((caught as Error).message).toContain('"dryRun"');
    expect(s3.calls()).toHaveLength(0);
  });

  it('wires the config to S3 buckets and the EventBridge bus when a valid request arrives', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    s3.on(GetObjectCommand).rejects(
      new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'no such key' }),
    );
    s3.on(PutObjectCommand).resolves({});
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });

    const result = (await handler(
      { action: 'snapshot', instances: ['petstore'], time: '2026-11-25T06:00:00Z' },
      context,
    )) as Awaited<ReturnType<typeof snapshot>>;

    expect(result.instances).toEqual([
      expect.objectContaining({
        instanceId: 'petstore',
        status: 'committed',
        regionsCommitted: ['us-east-1', 'us-east-2', 'us-west-2'],
      }),
    ]);
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    const manifests = puts.filter(
      (p) => p.Key === 'instances/petstore/snapshots/20261125T060000Z.json',
    );
    expect(manifests.map((p) => p.Bucket).sort()).toEqual([
      'lifeboat-demo-backup-us-east-1',
      'lifeboat-demo-backup-us-east-2',
      'lifeboat-demo-backup-us-west-2',
    ]);
    expect(manifests.every((p) => p.IfNoneMatch === '*')).toBe(true);
    const sourceList = s3
      .commandCalls(ListObjectsV2Command)
      .map((c) => c.args[0].input)
      .find((i) => i.Bucket === 'lifeboat-demo-store-us-east-1');
    expect(sourceList?.Prefix).toBe('petstore/');
    const entries = eventBridge
      .commandCalls(PutEventsCommand)
      .flatMap((c) => c.args[0].input.Entries ?? []);
    expect(entries).toEqual([
      expect.objectContaining({
        Source: 'lifeboat',
        EventBusName: 'lifeboat',
        DetailType: 'Snapshot Completed',
      }),
    ]);
    expect(JSON.parse(entries[0]?.Detail ?? '{}')).toMatchObject({
      instanceId: 'petstore',
      snapshotId: '20261125T060000Z',
      objectCount: 0,
    });
  });
});

describe('snapshot metrics', () => {
  it('emits duration, bytes uploaded and newest age as EMF with instance and region when a snapshot commits', async () => {
    const { deps, jobs } = fakeDeps('us-east-1');
    const docs = await emfLines(() =>
      snapshot(
        {
          kind: 'schedule',
          time: new Date('2026-11-25T06:00:00Z'),
          force: false,
          instanceIds: ['petstore'],
        },
        { ...deps, metrics: new EmfMetrics() },
      ),
    );
    const named = (name: string) => docs.find((d) => name in d);
    expect(named('SnapshotDuration')).toMatchObject({ instance: 'petstore', region: 'us-east-1' });
    expect(named('SnapshotBytesUploaded')).toMatchObject({
      instance: 'petstore',
      region: 'us-east-1',
    });
    expect(named('SnapshotBytesUploaded')?.SnapshotBytesUploaded).toBeGreaterThan(0);
    expect(named('NewestSnapshotAge')).toMatchObject({
      NewestSnapshotAge: 0,
      instance: 'petstore',
    });
    expect(jobs.size).toBe(1);
  });
});
