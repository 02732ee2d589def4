import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../../../local/drill/html.ts';
import type { DrillReport } from '../../../../local/drill/report.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0, s * 1000)).toISOString();
const w = (t: number, home: number) => ({
  at: at(t),
  tSeconds: t,
  instanceId: 'petstore',
  weights: { 'us-east-1': home, 'us-east-2': 100 - home },
});
const band = (
  kind: DrillReport['bands'][number]['kind'],
  label: string,
  from: number,
  to: number,
) => ({
  instanceId: 'petstore',
  kind,
  label,
  from: at(from),
  to: at(to),
  fromSeconds: from,
  toSeconds: to,
});

/** A region-outage drill as the session reports it: failback moved weights in canary steps. */
const report: DrillReport = {
  scenario: 'region-outage',
  outcome: 'passed',
  seed: 7,
  startedAt: at(0),
  durationSeconds: 30,
  regions: ['us-east-1', 'us-east-2'],
  controlRegion: 'us-east-2',
  recoveries: 1,
  scale: {
    intervalSeconds: 0.5,
    failureThreshold: 3,
    windowSeconds: 1.5,
    realWindowSeconds: 90,
    recoverySeconds: 3,
  },
  estimatedRealRtoSeconds: 97.3,
  instances: [
    {
      id: 'petstore',
      homeRegion: 'us-east-1',
      recoveredTo: 'us-east-2',
      detectionSeconds: 2.1,
      rtoSeconds: 7.3,
      rpoSeconds: 11.4,
      writesDuringOutage: 3,
      writesLostAfterFailback: 0,
    },
  ],
  dns: {},
  weightsOverTime: [w(1, 100), w(13.3, 0), w(22, 10), w(23, 50), w(24, 100)],
  bands: [
    band('outage', 'outage', 6, 20),
    band('detection', 'detection 2.1s', 6, 8.1),
    band('rpo', 'RPO 11.4s (writes after the snapshot)', -5.4, 6),
    band('recovery', 'plan', 8.1, 8.5),
    band('recovery', 'restore', 8.5, 11),
    band('failback', 'failback shift', 21.5, 24),
  ],
  markers: [{ instanceId: 'petstore', label: 'RTO 7.3s', at: at(13.3), tSeconds: 13.3 }],
  invariants: [{ name: 'petstore: recovered exactly once', held: true, detail: '1 run(s)' }],
  timeline: [
    { at: at(6), tSeconds: 6, kind: 'fault', detail: 'us-east-1 stops answering' },
    {
      at: at(8.1),
      tSeconds: 8.1,
      kind: 'Region Outage Confirmed',
      detail: 'us-east-1',
      timeFrom: 'detail',
    },
    {
      at: at(8.5),
      tSeconds: 8.5,
      kind: 'Recovery Planned',
      detail: 'us-east-2 (r1)',
      instanceId: 'petstore',
      timeFrom: 'step',
    },
    {
      at: at(13.3),
      tSeconds: 13.3,
      kind: 'Recovery Completed',
      detail: 'us-east-2 (r1)',
      instanceId: 'petstore',
      timeFrom: 'step',
    },
  ],
};

/** The x coordinate of each element of a class, keyed by one of its data attributes. */
function xs(html: string, cls: string): { x: number; tag: string }[] {
  const pattern = new RegExp(`<(?:g|circle) class="${cls}"([^>]*)>(?:<rect x="([\\d.]+)")?`, 'g');
  return [...html.matchAll(pattern)].map((m) => ({
    tag: m[1] ?? '',
    x: Number(m[2] ?? /cx="([\d.]+)"/.exec(m[1] ?? '')?.[1]),
  }));
}

describe('renderHtml', () => {
  const html = renderHtml(report);

  it('draws a weight segment for every canary step of the failback', () => {
    const home = xs(html, 'weight').filter((s) => s.tag.includes('data-region="us-east-1"'));
    expect(home.map((s) => /data-weight="(\d+)"/.exec(s.tag)?.[1])).toEqual([
      '100',
      '0',
      '10',
      '50',
      '100',
    ]);
    expect(html).toContain('us-east-1=10 us-east-2=90');
    expect(html).toContain('us-east-1=50 us-east-2=50');
  });

  it('draws the outage, detection, RPO, recovery and failback bands and marks the RTO', () => {
    for (const kind of ['outage', 'detection', 'rpo', 'recovery', 'failback'])
      expect(html).toContain(`class="band" data-kind="${kind}"`);
    expect(html).toContain('detection 2.1s');
    expect(html).toContain('RPO 11.4s');
    expect(html).toContain('RTO 7.3s');
    expect(html).toContain('failback shift');
  });

  it('puts events, bands and weights on one time axis when they share a time', () => {
    const completed = xs(html, 'event').find((e) => e.tag.includes('Recovery Completed'));
    const shiftedWeight = xs(html, 'weight').find(
      (s) => s.tag.includes('data-t="13.3"') && s.tag.includes('us-east-1'),
    );
    expect(completed?.x).toBeGreaterThan(0);
    expect(completed?.x).toBeCloseTo(shiftedWeight?.x ?? -1, 1);
    const confirmed = xs(html, 'event').find((e) => e.tag.includes('Region Outage Confirmed'));
    const detection = xs(html, 'band').find((b) => b.tag.includes('"detection"'));
    const outage = xs(html, 'band').find((b) => b.tag.includes('"outage"'));
    const fault = xs(html, 'event').find((e) => e.tag.includes('"fault"'));
    expect(outage?.x).toBeCloseTo(fault?.x ?? -1, 1);
    expect(detection?.x).toBeCloseTo(fault?.x ?? -1, 1);
    // Events at different moments are drawn at different places (no pile-up).
    expect(confirmed?.x).toBeLessThan(completed?.x ?? 0);
  });

  it('lists the numbers and where each event time came from', () => {
    expect(html).toContain('<td>2.1</td><td>7.3</td><td>11.4</td>');
    expect(html).toContain('<td>8.5s</td><td>Recovery Planned</td>');
    expect(html).toContain('<td>step</td>');
    expect(html).toContain('RTO with real intervals ≈ 97.3s');
  });

  it('escapes what it is given when a detail holds markup', () => {
    const page = renderHtml({
      ...report,
      timeline: [{ at: at(1), tSeconds: 1, kind: 'fault', detail: '<script>x</script>' }],
    });
    expect(page).not.toContain('<script>x');
    expect(page).toContain('&lt;script&gt;x');
  });
});
