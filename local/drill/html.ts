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

const BAND_COLORS: Record<string, string> = {
  outage: '#e74c3c',
  detection: '#e67e22',
  rpo: '#9b59b6',
  recovery: '#3498db',
  failback: '#1abc9c',
};

/** Which row of an instance's phases each band kind takes (detection and RPO never overlap). */
const BAND_ROW: Record<string, number> = {
  outage: 0,
  detection: 1,
  rpo: 1,
  recovery: 2,
  failback: 3,
};
const BAND_ROWS = ['outage', 'detection · RPO', 'recovery steps', 'failback steps'];

const ROW = 22;
const WIDTH = 1000;
const LEFT = 170;

const n = (x: number) => x.toFixed(1);

/**
 * A self-contained HTML page (no scripts, no external assets). One SVG with one time axis for
 * everything: a lane for the world's faults, and for each instance its phases as bands
 * (outage, detection, RPO, each recovery and failback step), its events at their own times,
 * the RTO marked, and its weights per region at every change (each canary step its own segment).
 */
export function renderHtml(report: DrillReport): string {
  const times = [
    0,
    report.durationSeconds,
    ...report.timeline.map((e) => e.tSeconds),
    ...report.weightsOverTime.map((w) => w.tSeconds),
    ...report.bands.flatMap((b) => [b.fromSeconds, b.toSeconds]),
  ];
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const span = Math.max(1, t1 - t0);
  const x = (s: number) => LEFT + ((WIDTH - LEFT - 20) * (s - t0)) / span;
  const parts: string[] = [];
  let y = 20;
  const label = (text: string, yy: number, size = 12, weight = 'normal') =>
    `<text x="8" y="${yy + 15}" font-size="${size}" font-weight="${weight}">${escapeHtml(text)}</text>`;
  const dots = (entries: DrillReport['timeline'], yy: number) =>
    entries
      .filter((e) => e.kind !== 'dns' && e.kind !== 'world')
      .map((e) => {
        const color = COLORS[e.kind] ?? '#95a5a6';
        return `<circle class="event" data-kind="${escapeHtml(e.kind)}" data-t="${e.tSeconds}" cx="${n(x(e.tSeconds))}" cy="${yy + ROW / 2}" r="6" fill="${color}"><title>${escapeHtml(`${e.tSeconds}s ${e.kind} ${e.detail}`)}</title></circle>`;
      })
      .join('');

  // The world: the faults the drill injected and events about no one instance.
  const instanceIds = new Set(report.instances.map((i) => i.id));
  parts.push(label('world', y, 12, 'bold'));
  parts.push(
    dots(
      report.timeline.filter((e) => !e.instanceId || !instanceIds.has(e.instanceId)),
      y,
    ),
  );
  y += ROW + 10;

  for (const instance of report.instances) {
    const top = y;
    parts.push(label(instance.id, y, 13, 'bold'));
    y += ROW;
    const bands = report.bands.filter((b) => b.instanceId === instance.id);
    BAND_ROWS.forEach((name, row) => {
      const rowY = y + row * ROW;
      parts.push(label(name, rowY, 11));
      for (const b of bands.filter((band) => BAND_ROW[band.kind] === row)) {
        const bx = x(b.fromSeconds);
        const bw = Math.max(2, x(b.toSeconds) - bx);
        parts.push(
          `<g class="band" data-kind="${b.kind}"><rect x="${n(bx)}" y="${rowY + 2}" width="${n(bw)}" height="${ROW - 4}" fill="${BAND_COLORS[b.kind] ?? '#999'}" fill-opacity="0.35" stroke="${BAND_COLORS[b.kind] ?? '#999'}"><title>${escapeHtml(`${b.label}: ${b.fromSeconds}s → ${b.toSeconds}s`)}</title></rect>` +
            `<text x="${n(bx + 3)}" y="${rowY + 15}" font-size="10">${escapeHtml(b.label)}</text></g>`,
        );
      }
    });
    y += BAND_ROWS.length * ROW;
    parts.push(label('events', y, 11));
    parts.push(
      dots(
        report.timeline.filter((e) => e.instanceId === instance.id),
        y,
      ),
    );
    y += ROW;

    const points = report.weightsOverTime.filter((w) => w.instanceId === instance.id);
    const regions = [...new Set(points.flatMap((p) => Object.keys(p.weights)))];
    for (const region of regions) {
      parts.push(label(`weight ${region}`, y, 11));
      points.forEach((p, pi) => {
        const end = points[pi + 1]?.tSeconds ?? t1;
        const w = p.weights[region] ?? 0;
        const sx = x(p.tSeconds);
        const sw = Math.max(1, x(end) - sx);
        parts.push(
          `<g class="weight" data-region="${escapeHtml(region)}" data-weight="${w}" data-t="${p.tSeconds}"><rect x="${n(sx)}" y="${y + 2}" width="${n(sw)}" height="${ROW - 4}" fill="#27ae60" fill-opacity="${(Math.min(w, 100) / 100).toFixed(2)}" stroke="#bbb"><title>${escapeHtml(`${region} = ${w} from ${p.tSeconds}s`)}</title></rect>` +
            (sw > 14 ? `<text x="${n(sx + 2)}" y="${y + 15}" font-size="10">${w}</text>` : '') +
            '</g>',
        );
      });
      y += ROW;
    }
    for (const m of report.markers.filter((mk) => mk.instanceId === instance.id)) {
      parts.push(
        `<g class="marker"><line x1="${n(x(m.tSeconds))}" x2="${n(x(m.tSeconds))}" y1="${top}" y2="${y}" stroke="#27ae60" stroke-width="2" stroke-dasharray="4 3"/><text x="${n(x(m.tSeconds) + 3)}" y="${top + 12}" font-size="11" font-weight="bold" fill="#1e8449">${escapeHtml(m.label)}</text></g>`,
      );
    }
    y += 10;
  }

  // One axis under everything, with grid lines through every lane.
  const ticks = Array.from({ length: 11 }, (_, i) => t0 + (span * i) / 10)
    .map(
      (s) =>
        `<line x1="${n(x(s))}" x2="${n(x(s))}" y1="10" y2="${y}" stroke="#eee"/><text x="${n(x(s))}" y="${y + 14}" font-size="10" text-anchor="middle">${s.toFixed(1)}s</text>`,
    )
    .join('');
  const height = y + 24;

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
  const weightRows = report.weightsOverTime
    .map(
      (w) =>
        `<tr><td>${w.tSeconds}s</td><td>${escapeHtml(w.instanceId)}</td><td>${escapeHtml(
          Object.entries(w.weights)
            .map(([r, v]) => `${r}=${v}`)
            .join(' '),
        )}</td></tr>`,
    )
    .join('');
  const timelineRows = report.timeline
    .filter((e) => e.kind !== 'dns')
    .map(
      (e) =>
        `<tr><td>${e.tSeconds}s</td><td>${escapeHtml(e.kind)}</td><td>${escapeHtml(e.instanceId ?? '')}</td><td>${escapeHtml(e.detail)}</td><td>${escapeHtml(e.timeFrom ?? 'drill')}</td></tr>`,
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
<p>Events at their own times (the step's recorded time, the event's own time), weights at every change, on one time axis.</p>
<svg width="${WIDTH}" height="${height}" role="img" aria-label="drill timeline">${ticks}${parts.join('\n')}</svg>
<p>${legend}</p>
<h2>Instances</h2>
<table><tr><th>instance</th><th>home</th><th>recovered to</th><th>detection s</th><th>RTO s</th><th>RPO s</th><th>writes during outage</th><th>lost after failback</th></tr>${instances}</table>
<h2>Weight changes</h2>
<table><tr><th>t</th><th>instance</th><th>weights</th></tr>${weightRows}</table>
<h2>Events</h2>
<table><tr><th>t</th><th>event</th><th>instance</th><th>detail</th><th>time from</th></tr>${timelineRows}</table>
<h2>Invariants</h2>
<table>${invariants}</table>
</body></html>
`;
}
