import { describe, expect, it } from 'vitest';
import {
  confirmedOutagePoints,
  detectionPoints,
  observationPoints,
  probePoints,
  reportedStallPoints,
  runEndedPoints,
  runStalledPoints,
  snapshotAgePoints,
  snapshotPoints,
} from '../../../../shared/domain/metrics.ts';
import type { RunReport } from '../../../../shared/domain/recovery/run-report.ts';

describe('detectionPoints', () => {
  it('measures fault start to confirmation in seconds for the failed region', () => {
    expect(
      detectionPoints({
        region: 'us-east-1',
        outageStartedAt: '2026-11-25T06:00:00.000Z',
        confirmedAt: '2026-11-25T06:01:30.500Z',
      }),
    ).toEqual([
      { name: 'DetectionTime', unit: 'Seconds', value: 90.5, dimensions: { region: 'us-east-1' } },
    ]);
  });
});

describe('confirmedOutagePoints', () => {
  it('measures each confirmed outage in its own region and nothing else the detection published', () => {
    const points = confirmedOutagePoints([
      {
        region: 'us-east-1',
        published: [
          { detailType: 'Zone Degraded', detail: { confirmedAt: '2026-11-25T06:01:00.000Z' } },
          {
            detailType: 'Region Outage Confirmed',
            detail: {
              outageStartedAt: '2026-11-25T06:00:00.000Z',
              confirmedAt: '2026-11-25T06:01:30.500Z',
            },
          },
        ],
      },
      {
        region: 'eu-west-1',
        published: [
          {
            detailType: 'Region Outage Confirmed',
            detail: {
              outageStartedAt: '2026-11-25T06:00:00.000Z',
              confirmedAt: '2026-11-25T06:00:45.000Z',
            },
          },
        ],
      },
    ]);
    expect(points.map((p) => [p.name, p.dimensions.region, p.value])).toEqual([
      ['DetectionTime', 'us-east-1', 90.5],
      ['DetectionTime', 'eu-west-1', 45],
    ]);
  });

  it('measures nothing when a confirmation lacks its timestamps', () => {
    expect(
      confirmedOutagePoints([
        {
          region: 'us-east-1',
          published: [{ detailType: 'Region Outage Confirmed', detail: { confirmedAt: 7 } }],
        },
      ]),
    ).toEqual([]);
  });
});

describe('probePoints', () => {
  it('averages latency and counts failures per instance and region when checks repeat', () => {
    const points = probePoints('us-west-2', [
      { instanceId: 'a', region: 'r1', latencyMs: 10, ok: true },
      { instanceId: 'a', region: 'r1', latencyMs: 30, ok: false },
      { instanceId: 'a', region: 'r2', latencyMs: 5, ok: true },
    ]);
    expect(points).toContainEqual({
      name: 'ProbeLatency',
      unit: 'Milliseconds',
      value: 20,
      dimensions: { instance: 'a', region: 'r1', vantage: 'us-west-2' },
    });
    expect(
      points.find((p) => p.name === 'ProbeFailures' && p.dimensions.region === 'r2')?.value,
    ).toBe(0);
  });
});

describe('snapshotPoints', () => {
  it('counts a failure and measures nothing else when a snapshot fails', () => {
    expect(snapshotPoints({ instanceId: 'a', status: 'failed' }, 'r1').map((p) => p.name)).toEqual([
      'SnapshotFailed',
    ]);
    expect(snapshotPoints({ instanceId: 'a', status: 'skipped' }, 'r1')).toEqual([]);
  });
});

describe('runStalledPoints', () => {
  it('counts the stall per instance and for the whole region when a run stalls', () => {
    expect(runStalledPoints({ instanceId: 'a', kind: 'failback' }, 'r1')).toEqual([
      {
        name: 'RunsStalled',
        unit: 'Count',
        value: 1,
        dimensions: { instance: 'a', region: 'r1', kind: 'failback' },
        alsoBy: [['region']],
      },
    ]);
  });
});

describe('reportedStallPoints', () => {
  it('counts only the reported runs, by the instance and kind their event carries', () => {
    const points = reportedStallPoints(
      [
        { action: 'none' },
        { action: 'nudge', event: { detail: { instanceId: 'a', kind: 'recovery' } } },
        { action: 'report', event: { detail: { instanceId: 'b', kind: 'failback' } } },
        { action: 'report', event: { detail: 'not an object' } },
      ],
      'r1',
    );
    expect(points.map((p) => [p.name, p.dimensions])).toEqual([
      ['RunsStalled', { instance: 'b', region: 'r1', kind: 'failback' }],
      ['RunsStalled', { instance: 'unknown', region: 'r1', kind: 'unknown' }],
    ]);
  });
});

describe('runEndedPoints', () => {
  it('adds the region-wide view to a failure only when a run fails', () => {
    const report = { instanceId: 'a', kind: 'recovery', steps: [] } as unknown as RunReport;
    const failed = runEndedPoints({ ...report, status: 'failed' } as RunReport, 'r1');
    expect(failed[0]).toMatchObject({ name: 'RunsFailed', alsoBy: [['region']] });
    const done = runEndedPoints({ ...report, status: 'completed' } as RunReport, 'r1');
    expect(done[0]?.name).toBe('RunsCompleted');
    expect(done[0]?.alsoBy).toBeUndefined();
  });
});

describe('snapshotAgePoints', () => {
  it('publishes whole seconds per instance and nothing for an instance without a snapshot', () => {
    expect(
      snapshotAgePoints([{ instanceId: 'a', ageSeconds: 90.6 }, { instanceId: 'b' }], 'r1'),
    ).toEqual([
      {
        name: 'NewestSnapshotAge',
        unit: 'Seconds',
        value: 91,
        dimensions: { instance: 'a', region: 'r1' },
      },
    ]);
  });
});

describe('observationPoints', () => {
  it('counts observations per vantage in the receiving region when several arrive', () => {
    expect(observationPoints(['v1', 'v2', 'v1'], 'r1')).toEqual([
      {
        name: 'ObservationsReceived',
        unit: 'Count',
        value: 2,
        dimensions: { vantage: 'v1', region: 'r1' },
      },
      {
        name: 'ObservationsReceived',
        unit: 'Count',
        value: 1,
        dimensions: { vantage: 'v2', region: 'r1' },
      },
    ]);
  });
});
