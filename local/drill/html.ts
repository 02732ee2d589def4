import type { DrillReport } from './report.ts';

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const COLORS: Record<string, string> = {
  fault: '#c0392b',
  'Region Outage Confirmed': '#e67e22',
  'Zone Degraded': '#f1c40f',
  'Recovery Planned': '#8e44ad',
  'Instance Restored': '#2980b9',
  'Instance Verified': '#16a085',
  'Recovery Completed': '#27ae60',
  'Region Recovered': '#7f8c8d',
  'Failback Completed': '#2c3e50',
  'Recovery Failed': '#000000',
  'Failback Failed': '#000000',
};

/**
 * A self-contained HTML page (no scripts, no external assets): the timeline as an SVG chart,
 * one lane per instance plus a lane for the world, and each instance's weights over time.
 */
export function renderHtml(report: DrillReport): string {
  const width = 960;
  const left = 150;
  const span = Math.max(1, report.durationSeconds);
  const x = (s: number) => left + ((width - left - 20) * s) / span;
  const lanes = ['world', ...report.instances.map((i) => i.id)];
  const laneY = (lane: string) => 40 + lanes.indexOf(lane) * 40;
  const marks = report.timeline
    .filter((e) => e.kind !== 'dns' && e.kind !== 'world')
    .map((e) => {
      const lane = e.instanceId && lanes.includes(e.instanceId) ? e.instanceId : 'world';
      const color = COLORS[e.kind] ?? '#95a5a6';
      return `<g><circle cx="${x(e.tSeconds).toFixed(1)}" cy="${laneY(lane)}" r="6" fill="${color}"><title>${escapeHtml(`${e.tSeconds}s ${e.kind} ${e.detail}`)}</title></circle></g>`;
    })
    .join('\n');
  const axis = Array.from({ length: 11 }, (_, i) => (span * i) / 10)
    .map(
      (s) =>
        `<text x="${x(s).toFixed(1)}" y="${laneY(lanes.at(-1) as string) + 30}" font-size="10" text-anchor="middle">${s.toFixed(0)}s</text>`,
    )
    .join('');
  const laneLabels = lanes
    .map(
      (l) =>
        `<text x="10" y="${laneY(l) + 4}" font-size="12">${escapeHtml(l)}</text><line x1="${left}" x2="${width - 20}" y1="${laneY(l)}" y2="${laneY(l)}" stroke="#ddd"/>`,
    )
    .join('');
  const chartHeight = laneY(lanes.at(-1) as string) + 50;
  const weightCharts = report.instances
    .map((instance) => {
      const points = report.weightsOverTime.filter((w) => w.instanceId === instance.id);
      const regions = [...new Set(points.flatMap((p) => Object.keys(p.weights)))];
      const rows = regions
        .map((region, ri) => {
          const y0 = 20 + ri * 30;
          const bars = points
            .map((p, pi) => {
              const end = points[pi + 1]?.tSeconds ?? span;
              const w = p.weights[region] ?? 0;
              return `<rect x="${x(p.tSeconds).toFixed(1)}" y="${y0}" width="${Math.max(1, x(end) - x(p.tSeconds)).toFixed(1)}" height="20" fill="#27ae60" fill-opacity="${(w / 100).toFixed(2)}" stroke="#ccc"><title>${escapeHtml(`${region} = ${w} from ${p.tSeconds}s`)}</title></rect>`;
            })
            .join('');
          return `<text x="10" y="${y0 + 14}" font-size="12">${escapeHtml(region)}</text>${bars}`;
        })
        .join('');
      return `<h3>Weights of ${escapeHtml(instance.id)} over time</h3><svg width="${width}" height="${30 + regions.length * 30}" role="img">${rows}</svg>`;
    })
    .join('\n');
  const legend = Object.entries(COLORS)
    .map(
      ([k, c]) =>
        `<span style="margin-right:12px"><span style="color:${c}">●</span> ${escapeHtml(k)}</span>`,
    )
    .join('');
  const invariants = report.invariants
    .map(
      (i) =>
        `<tr><td>${i.held ? '✔' : '✘'}</td><td>${escapeHtml(i.name)}</td><td><code>${escapeHtml(i.detail.split('\n')[0] ?? '')}</code></td></tr>`,
    )
    .join('');
  const instances = report.instances
    .map(
      (i) =>
        `<tr><td>${escapeHtml(i.id)}</td><td>${escapeHtml(i.homeRegion)}</td><td>${escapeHtml(i.recoveredTo ?? '—')}</td><td>${i.detectionSeconds ?? '—'}</td><td>${i.rtoSeconds ?? '—'}</td><td>${i.rpoSeconds ?? '—'}</td><td>${i.writesDuringOutage}</td><td>${i.writesLostAfterFailback}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lifeboat drill: ${escapeHtml(report.scenario)} ${report.outcome}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;font-size:13px}code{font-size:12px}</style></head>
<body>
<h1>lifeboat drill: ${escapeHtml(report.scenario)} — ${report.outcome.toUpperCase()}</h1>
<p>Seed ${report.seed}, ${report.durationSeconds}s, regions ${escapeHtml(report.regions.join(', '))}; ${report.recoveries} recovery run(s).
Probes every ${report.scale.intervalSeconds}s, detection window ${report.scale.windowSeconds}s (Route 53: ${report.scale.realWindowSeconds}s)${report.estimatedRealRtoSeconds !== null ? `; RTO with real intervals ≈ ${report.estimatedRealRtoSeconds}s` : ''}.</p>
<h2>Timeline</h2>
<svg width="${width}" height="${chartHeight}" role="img" aria-label="drill timeline">${laneLabels}${marks}${axis}</svg>
<p>${legend}</p>
${weightCharts}
<h2>Instances</h2>
<table><tr><th>instance</th><th>home</th><th>recovered to</th><th>detection s</th><th>RTO s</th><th>RPO s</th><th>writes during outage</th><th>lost after failback</th></tr>${instances}</table>
<h2>Invariants</h2>
<table>${invariants}</table>
</body></html>
`;
}
