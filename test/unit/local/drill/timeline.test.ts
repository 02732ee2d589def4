import { describe, expect, it } from 'vitest';
import {
  type DeliveredEvent,
  ownTime,
  phaseBands,
  recorderOf,
  recordingDns,
  type WeightChange,
} from '../../../../local/drill/timeline.ts';
import type {
  DnsRecordSpec,
  DnsRouting,
  Weights,
} from '../../../../shared/domain/recovery/ports.ts';
import type { RecoveryRun } from '../../../../shared/domain/recovery/run.ts';

const T = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/** A recovery that planned at 8 s, restored at 10, verified at 11 and shifted at 12. */
function recoveryRun(over: Partial<RecoveryRun> = {}): RecoveryRun {
  return {
    runId: 'r1',
    kind: 'recovery',
    instanceId: 'petstore',
    generation: 1,
    from: 'us-east-1',
    claimant: 'c',
    claimSet: ['us-east-2'],
    status: 'completed',
    incident: { confirmedAt: T(7) },
    target: 'us-east-2',
    snapshot: { snapshotId: 's', region: 'us-east-2', configDigest: 'd', takenAt: T(1) },
    metrics: { shiftedAt: T(12) },
    steps: {
      plan: { status: 'done', attempts: 1, at: T(8) },
      restore: { status: 'done', attempts: 2, at: T(10) },
      verify: { status: 'done', attempts: 1, at: T(11) },
      shift: { status: 'done', attempts: 1, at: T(12) },
    },
    seq: 4,
    startedAt: T(7.5),
    updatedAt: T(12),
    ...over,
  };
}

const delivered = (detailType: string, detail: Record<string, unknown>, time?: string) =>
  ({ at: new Date(T(13)), detailType, detail, ...(time ? { time } : {}) }) as DeliveredEvent;

describe('recorderOf', () => {
  it('keeps each delivered event with its detail type, detail and EventBridge time', async () => {
    const delivered: DeliveredEvent[] = [];
    const record = recorderOf(delivered);
    await record({
      'detail-type': 'Recovery Planned',
      time: '2026-11-25T06:00:01Z',
      detail: { runId: 'r' },
    });
    await record({ 'detail-type': 'Snapshot Completed', detail: {} });
    expect(delivered.map((d) => [d.detailType, d.time, d.detail])).toEqual([
      ['Recovery Planned', '2026-11-25T06:00:01Z', { runId: 'r' }],
      ['Snapshot Completed', undefined, {}],
    ]);
    expect(delivered.every((d) => d.at instanceof Date)).toBe(true);
  });
});

describe('ownTime', () => {
  const runs = new Map([['r1', recoveryRun()]]);

  it('takes the recorded time of the step an event announces when its run is known', () => {
    expect(ownTime(delivered('Recovery Planned', { runId: 'r1' }), runs)).toEqual({
      at: new Date(T(8)),
      source: 'step',
    });
    expect(ownTime(delivered('Instance Restored', { runId: 'r1' }), runs).at).toEqual(
      new Date(T(10)),
    );
    expect(ownTime(delivered('Recovery Completed', { runId: 'r1' }), runs).at).toEqual(
      new Date(T(12)),
    );
  });

  it('takes the time the detail carries when the event has no run', () => {
    expect(
      ownTime(delivered('Region Outage Confirmed', { confirmedAt: T(7) }, T(9)), runs),
    ).toEqual({ at: new Date(T(7)), source: 'detail' });
  });

  it("falls back to EventBridge's time, and to delivery only when nothing else exists", () => {
    expect(ownTime(delivered('Region Recovered', {}, T(20)), runs)).toEqual({
      at: new Date(T(20)),
      source: 'eventbridge',
    });
    expect(ownTime(delivered('Region Recovered', {}), runs)).toEqual({
      at: new Date(T(13)),
      source: 'delivered',
    });
  });

  it("takes a failed run's last update for its failure event", () => {
    const failed = recoveryRun({ status: 'failed', updatedAt: T(9) });
    expect(
      ownTime(delivered('Recovery Failed', { runId: 'r1' }), new Map([['r1', failed]])).at,
    ).toEqual(new Date(T(9)));
  });
});

describe('recordingDns', () => {
  it('records every applied change with its time, and none for reads', async () => {
    const inner: DnsRouting = {
      readWeights: async () => ({ a: 1 }),
      applyWeights: async () => ({ changeId: 'c', attempts: 1, insync: true }),
    };
    const changes: WeightChange[] = [];
    let now = 0;
    const dns = recordingDns(
      inner,
      (c) => changes.push(c),
      () => {
        now += 1;
        return new Date(T(now));
      },
    );
    const spec = { instanceId: 'petstore' } as DnsRecordSpec;
    const steps: Weights[] = [
      { home: 10, away: 90 },
      { home: 50, away: 50 },
      { home: 100, away: 0 },
    ];
    for (const w of steps) await dns.applyWeights(spec, w);
    await dns.readWeights(spec);
    expect(changes.map((c) => c.weights)).toEqual(steps);
    expect(changes.map((c) => c.at.toISOString())).toEqual([T(1), T(2), T(3)]);
    expect(changes.every((c) => c.instanceId === 'petstore')).toBe(true);
  });
});

describe('phaseBands', () => {
  it('gives an instance its outage, detection, steps and RPO as bands, and the RTO as a marker', () => {
    const failback = recoveryRun({
      runId: 'f1',
      kind: 'failback',
      startedAt: T(20),
      steps: {
        fence: { status: 'done', attempts: 1, at: T(21) },
        shift: { status: 'done', attempts: 1, at: T(24) },
        release: { status: 'done', attempts: 1, at: T(25) },
      },
    });
    const { bands, markers } = phaseBands({
      instanceId: 'petstore',
      outageAt: new Date(T(5)),
      homeBackAt: new Date(T(19)),
      runs: [failback, recoveryRun()],
    });
    const by = (label: string) => bands.find((b) => b.label.startsWith(label));
    expect(by('outage')).toMatchObject({ from: T(5), to: T(19) });
    expect(by('detection')).toMatchObject({ label: 'detection 2s', from: T(5), to: T(7) });
    expect(by('plan')).toMatchObject({ kind: 'recovery', from: T(7.5), to: T(8) });
    expect(by('restore')).toMatchObject({ label: 'restore (2 attempts)', from: T(8), to: T(10) });
    expect(by('failback shift')).toMatchObject({ kind: 'failback', from: T(21), to: T(24) });
    expect(by('RPO')).toMatchObject({ kind: 'rpo', from: T(1), to: T(5) });
    expect(by('RPO')?.label).toContain('RPO 4s');
    expect(markers).toEqual([{ instanceId: 'petstore', label: 'RTO 7s', at: T(12) }]);
  });

  it('gives an instance that was never in an outage no outage bands', () => {
    expect(phaseBands({ instanceId: 'petstore', runs: [] })).toEqual({ bands: [], markers: [] });
  });
});
