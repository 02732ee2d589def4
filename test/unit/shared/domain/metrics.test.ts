import { describe, expect, it } from 'vitest';
import { detectionPoints, probePoints, snapshotPoints } from '../../../../shared/domain/metrics.ts';

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
