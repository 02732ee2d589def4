import { describe, expect, it } from 'vitest';
import type { RetentionPolicy } from '../../../../../shared/config/schema.ts';
import { DetailType, type SnapshotEventDetail } from '../../../../../shared/domain/events.ts';
import { listCommittedSnapshotIds } from '../../../../../shared/domain/snapshot/catalog.ts';
import { keys, snapshotIdFor } from '../../../../../shared/domain/snapshot/format.ts';
import {
  isDue,
  runSnapshots,
  type SnapshotJob,
} from '../../../../../shared/domain/snapshot/run.ts';
import { EventPublishError } from '../../../../../shared/errors.ts';
import { DAY, FakeClock, HOUR, MINUTE, SECOND } from '../../../../fakes/clock.ts';
import { RecordingEventBus } from '../../../../fakes/event-bus.ts';
import { replicaSet, seedInstance } from '../../../../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../../../../fakes/instance-store.ts';

const T0 = '2026-11-25T06:00:00Z';
const retention: RetentionPolicy = { last: 1, daily: 7, weekly: 4, gcGraceSeconds: 6 * 3600 };

describe('isDue', () => {
  const at = (iso: string, plusMs: number) => new Date(Date.parse(iso) + plusMs);
  const last = snapshotIdFor(new Date(T0));

  it('is due when the instance has never been snapshotted', () => {
    expect(isDue(undefined, 86_400, new Date(T0))).toBe(true);
  });

  it('is due when a daily tick fires up to a minute early', () => {
    expect(isDue(last, 86_400, at(T0, DAY))).toBe(true);
    expect(isDue(last, 86_400, at(T0, DAY - 60 * SECOND))).toBe(true);
    expect(isDue(last, 86_400, at(T0, DAY - 61 * SECOND))).toBe(false);
  });

  it('allows 10% of the interval when the interval is short', () => {
    // 5 minutes: 30 s of slack.
    expect(isDue(last, 300, at(T0, 270 * SECOND))).toBe(true);
    expect(isDue(last, 300, at(T0, 269 * SECOND))).toBe(false);
  });

  it('is not due when the last snapshot is recent', () => {
    expect(isDue(last, 300, new Date(T0))).toBe(false);
    expect(isDue(last, 86_400, at(T0, HOUR))).toBe(false);
  });
});

/** One instance with its own in-memory store and three backup buckets. */
function job(instanceId: string, clock: FakeClock, options: Partial<SnapshotJob> = {}) {
  const source = new InMemoryInstanceStore();
  seedInstance(source, instanceId, { count: 8, size: 300, seed: instanceId.length });
  const { replicas, vault } = replicaSet(['us-east-1', 'us-east-2', 'us-west-2'], clock);
  const spec: SnapshotJob = {
    instanceId,
    intervalSeconds: 86_400,
    quorum: 2,
    retention,
    sourceRegion: 'us-east-1',
    source,
    replicas,
    ...options,
  };
  return { spec, source, vault };
}

describe('runSnapshots', () => {
  it("publishes Snapshot Completed with the run's figures when an instance commits", async () => {
    const clock = new FakeClock(T0, 5);
    const bus = new RecordingEventBus();
    const a = job('petstore', clock);
    a.vault('us-west-2').unreachable = true;

    const summary = await runSnapshots({
      jobs: [a.spec],
      triggerTime: new Date(T0),
      force: false,
      bus,
      clock,
    });

    expect(summary.snapshotId).toBe('20261125T060000Z');
    expect(summary.outcomes.map((o) => o.status)).toEqual(['committed']);
    const [detail] = bus.details<SnapshotEventDetail>(DetailType.SnapshotCompleted);
    const bytesTotal = [...a.source.contents('petstore').values()].reduce(
      (n, b) => n + b.length,
      0,
    );
    expect(detail).toEqual({
      instanceId: 'petstore',
      snapshotId: '20261125T060000Z',
      configDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      regionsCommitted: ['us-east-1', 'us-east-2'],
      regionsFailed: [{ region: 'us-west-2', reason: expect.stringContaining('unavailable') }],
      quorum: 2,
      bytesTotal,
      bytesUploaded: expect.any(Number),
      objectCount: 8,
      durationMs: expect.any(Number),
    });
    expect(detail?.bytesUploaded).toBeGreaterThan(0);
    expect(detail?.durationMs).toBeGreaterThan(0);
    expect(bus.events).toHaveLength(1);
    expect(bus.details(DetailType.SnapshotFailed)).toEqual([]);
  });

  it('skips the instance and names its last snapshot when it is not due', async () => {
    const clock = new FakeClock(T0);
    const bus = new RecordingEventBus();
    const a = job('petstore', clock);
    await runSnapshots({ jobs: [a.spec], triggerTime: new Date(T0), force: false, bus, clock });
    a.source.resetCalls();

    const later = new Date(Date.parse(T0) + 6 * HOUR);
    const summary = await runSnapshots({
      jobs: [a.spec],
      triggerTime: later,
      force: false,
      bus,
      clock,
    });

    expect(summary.outcomes).toEqual([
      {
        instanceId: 'petstore',
        status: 'skipped',
        reason: 'not due yet',
        lastSnapshotId: '20261125T060000Z',
      },
    ]);
    expect(a.source.count('list')).toBe(0);
    expect(bus.events).toHaveLength(1);
  });

  // Bug 10b of docs/simulation.md (seed 1013832): the only snapshot before the outage was
  // marked at home alone, and every later tick skipped the instance as "not due yet".
  it('snapshots an instance on a tick when its newest snapshot is marked in fewer regions than its quorum', async () => {
    const clock = new FakeClock(T0);
    const bus = new RecordingEventBus();
    const a = job('petstore', clock);
    a.vault('us-east-2').failOn('put', /\/commits\//);
    a.vault('us-west-2').failOn('put', /\/commits\//);
    const first = await runSnapshots({
      jobs: [a.spec],
      triggerTime: new Date(T0),
      force: false,
      bus,
      clock,
    });
    expect(first.outcomes.map((o) => o.status)).toEqual(['failed']);
    a.vault('us-east-2').clearFaults();
    a.vault('us-west-2').clearFaults();

    const later = new Date(Date.parse(T0) + HOUR);
    clock.set(later);
    const summary = await runSnapshots({
      jobs: [a.spec],
      triggerTime: later,
      force: false,
      bus,
      clock,
    });

    expect(summary.outcomes.map((o) => o.status)).toEqual(['committed']);
    expect(await listCommittedSnapshotIds(a.vault('us-west-2'), 'petstore')).toEqual([
      snapshotIdFor(later),
    ]);
  });

  it('snapshots an instance that is not due when forced', async () => {
    const clock = new FakeClock(T0);
    const bus = new RecordingEventBus();
    const a = job('petstore', clock);
    await runSnapshots({ jobs: [a.spec], triggerTime: new Date(T0), force: false, bus, clock });
    const later = new Date(Date.parse(T0) + 10 * MINUTE);
    clock.set(later);
    const summary = await runSnapshots({
      jobs: [a.spec],
      triggerTime: later,
      force: true,
      bus,
      clock,
    });
    expect(summary.outcomes[0]?.status).toBe('committed');
    expect(summary.snapshotId).toBe('20261125T061000Z');
    expect((await listCommittedSnapshotIds(a.vault('us-east-1'), 'petstore'))[0]).toBe(
      '20261125T061000Z',
    );
  });

  it('takes the newest snapshot of any region into account when deciding what is due', async () => {
    const clock = new FakeClock(T0);
    const bus = new RecordingEventBus();
    const a = job('petstore', clock, { quorum: 1 });
    a.vault('us-east-2').unreachable = true;
    a.vault('us-west-2').unreachable = true;
    await runSnapshots({ jobs: [a.spec], triggerTime: new Date(T0), force: false, bus, clock });
    a.vault('us-east-2').unreachable = false;
    a.vault('us-west-2').unreachable = false;
    const summary = await runSnapshots({
      jobs: [a.spec],
      triggerTime: new Date(Date.parse(T0) + HOUR),
      force: false,
      bus,
      clock,
    });
    expect(summary.outcomes[0]?.status).toBe('skipped');
  });

  it('publishes Snapshot Failed with the quorum reason when too few regions answer', async () => {
    const clock = new FakeClock(T0);
    const bus = new RecordingEventBus();
    const a = job('petstore', clock);
    a.vault('us-east-2').unreachable = true;
    a.vault('us-west-2').unreachable = true;

    const summary = await runSnapshots({
      jobs: [a.spec],
      triggerTime: new Date(T0),
      force: false,
      bus,
      clock,
    });

    expect(summary.outcomes[0]).toMatchObject({
      instanceId: 'petstore',
      status: 'failed',
      reason: expect.stringContaining('quorum'),
    });
    const [detail] = bus.details<SnapshotEventDetail>(DetailType.SnapshotFailed);
    expect(detail).toMatchObject({
      instanceId: 'petstore',
      snapshotId: '20261125T060000Z',
      regionsCommitted: [],
      quorum: 2,
      objectCount: 8,
      reason: expect.stringContaining('reached 0 of the 2'),
    });
    expect(detail?.regionsFailed.map((f) => f.region)).toEqual([
      'us-east-1',
      'us-east-2',
      'us-west-2',
    ]);
    expect(bus.details(DetailType.SnapshotCompleted)).toEqual([]);
  });

  it('keeps going with the other instances when one instance cannot be read', async () => {
    const clock = new FakeClock(T0);
    const bus = new RecordingEventBus();
    const broken = job('payments', clock);
    broken.source.unreachable = true;
    const healthy = job('petstore', clock);

    const summary = await runSnapshots({
      jobs: [broken.spec, healthy.spec],
      triggerTime: new Date(T0),
      force: false,
      bus,
      clock,
    });

    expect(summary.outcomes.map((o) => [o.instanceId, o.status])).toEqual([
      ['payments', 'failed'],
      ['petstore', 'committed'],
    ]);
    const [failed] = bus.details<SnapshotEventDetail>(DetailType.SnapshotFailed);
    expect(failed).toMatchObject({
      instanceId: 'payments',
      snapshotId: '20261125T060000Z',
      regionsCommitted: [],
      bytesTotal: 0,
      bytesUploaded: 0,
      objectCount: 0,
      durationMs: 0,
      reason: expect.stringContaining('cannot read instance payments in us-east-1'),
    });
    expect(
      bus.details<SnapshotEventDetail>(DetailType.SnapshotCompleted).map((d) => d.instanceId),
    ).toEqual(['petstore']);
    for (const region of ['us-east-1', 'us-east-2', 'us-west-2']) {
      expect(broken.vault(region).keys()).toEqual([]);
    }
  });

  it('applies retention in the regions that committed when a snapshot commits', async () => {
    const clock = new FakeClock(T0);
    const bus = new RecordingEventBus();
    const a = job('petstore', clock, {
      retention: { last: 1, daily: 0, weekly: 0, gcGraceSeconds: 60 },
    });
    await runSnapshots({ jobs: [a.spec], triggerTime: new Date(T0), force: false, bus, clock });
    a.source.seed('petstore', 'apis/api-0000.json', '{"v":2}');
    clock.advance(DAY);
    a.vault('us-west-2').unreachable = true;

    const summary = await runSnapshots({
      jobs: [a.spec],
      triggerTime: clock.peek(),
      force: false,
      bus,
      clock,
    });

    const outcome = summary.outcomes[0];
    expect(outcome?.status).toBe('committed');
    if (outcome?.status !== 'committed') return;
    expect(outcome.gc.map((g) => g.region)).toEqual(['us-east-1', 'us-east-2']);
    const first = outcome.gc[0];
    expect(first && 'report' in first ? first.report.expiredSnapshots : undefined).toEqual([
      '20261125T060000Z',
    ]);
    expect(await listCommittedSnapshotIds(a.vault('us-east-1'), 'petstore')).toEqual([
      '20261126T060000Z',
    ]);
    // The unreachable region was left alone.
    a.vault('us-west-2').unreachable = false;
    expect(await listCommittedSnapshotIds(a.vault('us-west-2'), 'petstore')).toEqual([
      '20261125T060000Z',
    ]);
  });

  it('still reports a committed snapshot when retention fails afterwards', async () => {
    const clock = new FakeClock(T0);
    const bus = new RecordingEventBus();
    const a = job('petstore', clock);
    // Listing the manifests is only needed by GC (the run hands it the roots it wrote).
    a.vault('us-east-1').failOn('list', /\/snapshots\//);

    const summary = await runSnapshots({
      jobs: [a.spec],
      triggerTime: new Date(T0),
      force: false,
      bus,
      clock,
    });

    const outcome = summary.outcomes[0];
    expect(outcome?.status).toBe('committed');
    if (outcome?.status !== 'committed') return;
    expect(outcome.gc.map((g) => [g.region, 'error' in g])).toEqual([
      ['us-east-1', true],
      ['us-east-2', false],
      ['us-west-2', false],
    ]);
    const failedGc = outcome.gc[0];
    expect(failedGc && 'error' in failedGc ? failedGc.error : '').toContain('injected fault');
    expect(bus.details(DetailType.SnapshotCompleted)).toHaveLength(1);
    expect(a.vault('us-east-1').has(keys.commit('petstore', '20261125T060000Z'))).toBe(true);
  });

  it('passes Object Lock settings through to every write when the job sets them', async () => {
    const clock = new FakeClock(T0);
    const a = job('petstore', clock, { objectLock: { mode: 'GOVERNANCE', days: 7 } });
    await runSnapshots({
      jobs: [a.spec],
      triggerTime: new Date(T0),
      force: true,
      bus: new RecordingEventBus(),
      clock,
    });
    const puts = a.vault('us-east-1').callsOf('put');
    expect(puts.length).toBeGreaterThan(0);
    for (const put of puts) expect(put.options?.retainUntil?.mode).toBe('GOVERNANCE');
  });

  it('keeps snapshotting and reports the unpublished outcome when the bus fails', async () => {
    const clock = new FakeClock(T0);
    const bus = new RecordingEventBus();
    bus.failWith = new EventPublishError(1, 'InternalFailure: try again');
    const a = job('petstore', clock);
    const b = job('orders', clock);

    const summary = await runSnapshots({
      jobs: [a.spec, b.spec],
      triggerTime: new Date(T0),
      force: false,
      bus,
      clock,
    });

    expect(summary.outcomes.map((o) => o.status)).toEqual(['committed', 'committed']);
    expect(summary.unpublished.map((u) => u.instanceId)).toEqual(['petstore', 'orders']);
    expect(summary.unpublished[0]?.reason).toMatch(/InternalFailure/);
    // The snapshots themselves are committed before the events are sent.
    expect(await listCommittedSnapshotIds(a.vault('us-east-1'), 'petstore')).toEqual([
      '20261125T060000Z',
    ]);
    expect(await listCommittedSnapshotIds(b.vault('us-east-1'), 'orders')).toEqual([
      '20261125T060000Z',
    ]);
  });
});

describe('runSnapshots for an active-active instance', () => {
  it('brings every other active region in step with the committed snapshot', async () => {
    const clock = new FakeClock(T0);
    const mirror = new InMemoryInstanceStore({ region: 'us-west-2' });
    mirror.seed('payments', 'apis/stale.json', '{"stale":true}');
    let activations = 0;
    const a = job('payments', clock, {
      mirrors: [
        {
          region: 'us-west-2',
          store: mirror,
          activate: async () => {
            activations += 1;
          },
        },
      ],
    });

    const summary = await runSnapshots({
      jobs: [a.spec],
      triggerTime: new Date(T0),
      force: true,
      bus: new RecordingEventBus(),
      clock,
    });

    const outcome = summary.outcomes[0];
    expect(outcome?.status).toBe('committed');
    expect(outcome && 'mirrored' in outcome ? outcome.mirrored : []).toEqual([
      { region: 'us-west-2', objectsWritten: a.source.contents('payments').size },
    ]);
    expect(mirror.contents('payments')).toEqual(a.source.contents('payments'));
    expect(activations).toBe(1);
  });

  it('reports a mirror that cannot be reached and still commits the snapshot', async () => {
    const clock = new FakeClock(T0);
    const mirror = new InMemoryInstanceStore({ region: 'us-west-2' });
    mirror.unreachable = true;
    const a = job('payments', clock, {
      mirrors: [{ region: 'us-west-2', store: mirror, activate: async () => undefined }],
    });

    const summary = await runSnapshots({
      jobs: [a.spec],
      triggerTime: new Date(T0),
      force: true,
      bus: new RecordingEventBus(),
      clock,
    });

    const outcome = summary.outcomes[0];
    expect(outcome?.status).toBe('committed');
    expect(outcome && 'mirrored' in outcome ? outcome.mirrored[0] : undefined).toMatchObject({
      region: 'us-west-2',
      error: expect.any(String),
    });
  });
});
