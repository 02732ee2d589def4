import {
  escapeHtml,
  page,
  type TimelineLane,
  table,
  timelineSvg,
} from '../../shared/domain/recovery/report-page.ts';
import type { DrillReport } from './report.ts';

const weightsText = (w: Record<string, number>) =>
  Object.entries(w)
    .map(([r, v]) => `${r}=${v}`)
    .join(' ');

/**
 * The drill's page, on the renderer every real run's report uses too (report-page.ts): a lane
 * for the world's faults, and for each instance its phases as bands (outage, detection, RPO,
 * each recovery and failback step), its events at their own times, the RTO marked, and its
 * weights per region at every change (each canary step its own segment), on one time axis.
 */
export function renderHtml(report: DrillReport): string {
  const instanceIds = new Set(report.instances.map((i) => i.id));
  const shown = report.timeline.filter((e) => e.kind !== 'dns' && e.kind !== 'world');
  const lanes: TimelineLane[] = [
    {
      id: 'world',
      events: shown.filter((e) => !e.instanceId || !instanceIds.has(e.instanceId)),
    },
    ...report.instances.map((instance) => ({
      id: instance.id,
      events: shown.filter((e) => e.instanceId === instance.id),
      bands: report.bands.filter((b) => b.instanceId === instance.id),
      weights: report.weightsOverTime.filter((w) => w.instanceId === instance.id),
      markers: report.markers.filter((m) => m.instanceId === instance.id),
    })),
  ];
  const instances = table(
    [
      'instance',
      'home',
      'recovered to',
      'detection s',
      'RTO s',
      'RPO s',
      'writes during outage',
      'lost after failback',
    ],
    report.instances.map((i) => [
      escapeHtml(i.id),
      escapeHtml(i.homeRegion),
      escapeHtml(i.recoveredTo ?? '—'),
      String(i.detectionSeconds ?? '—'),
      i.rtoOnAwsSeconds !== undefined
        ? `${i.rtoSeconds ?? '—'} (on AWS ≈ ${i.rtoOnAwsSeconds})`
        : String(i.rtoSeconds ?? '—'),
      String(i.rpoSeconds ?? '—'),
      String(i.writesDuringOutage),
      String(i.writesLostAfterFailback),
    ]),
  );
  const weights = table(
    ['t', 'instance', 'weights'],
    report.weightsOverTime.map((w) => [
      `${w.tSeconds}s`,
      escapeHtml(w.instanceId),
      escapeHtml(weightsText(w.weights)),
    ]),
  );
  const events = table(
    ['t', 'event', 'instance', 'detail', 'time from'],
    report.timeline
      .filter((e) => e.kind !== 'dns')
      .map((e) => [
        `${e.tSeconds}s`,
        escapeHtml(e.kind),
        escapeHtml(e.instanceId ?? ''),
        escapeHtml(e.detail),
        escapeHtml(e.timeFrom ?? 'drill'),
      ]),
  );
  const invariants = table(
    ['', 'invariant', 'detail'],
    report.invariants.map((i) => [
      i.held ? '✔' : '✘',
      escapeHtml(i.name),
      `<code>${escapeHtml(i.detail.split('\n')[0] ?? '')}</code>`,
    ]),
  );
  return page(
    `lifeboat drill: ${report.scenario} ${report.outcome}`,
    `<h1>lifeboat drill: ${escapeHtml(report.scenario)} — ${report.outcome.toUpperCase()}</h1>
<p>Seed ${report.seed}, ${report.durationSeconds}s, regions ${escapeHtml(report.regions.join(', '))}; ${report.recoveries} recovery run(s).
Probes every ${report.scale.intervalSeconds}s, detection window ${report.scale.windowSeconds}s (Route 53: ${report.scale.realWindowSeconds}s)${report.estimatedRealRtoSeconds !== null ? `; RTO with real intervals ≈ ${report.estimatedRealRtoSeconds}s` : ''}.</p>
<h2>Timeline</h2>
<p>Events at their own times (the step's recorded time, the event's own time), weights at every change, on one time axis.</p>
${timelineSvg(lanes, report.durationSeconds)}
<h2>Instances</h2>
${instances}
<h2>Weight changes</h2>
${weights}
<h2>Events</h2>
${events}
${
  report.practice
    ? `<h2>Practice</h2>
${table(
  ['run', 'instance', 'region', 'passed', 'would-be RTO s', 'RPO s', 'DNS', 'home', 'copy'],
  [
    [
      escapeHtml(report.practice.runId),
      escapeHtml(report.practice.instanceId),
      escapeHtml(report.practice.target ?? '—'),
      report.practice.passed ? 'yes' : `no: ${escapeHtml(report.practice.reason ?? '')}`,
      String(report.practice.rtoSeconds ?? '—'),
      String(report.practice.rpoSeconds ?? '—'),
      report.practice.dnsByteIdentical ? 'byte-identical' : 'CHANGED',
      report.practice.homeByteIdentical ? 'byte-identical' : 'CHANGED',
      report.practice.copyRemoved ? 'removed' : 'LEFT',
    ],
  ],
)}`
    : ''
}
<h2>Invariants</h2>
${invariants}`,
  );
}
