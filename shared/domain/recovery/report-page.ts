import type { Weights } from './ports.ts';

/**
 * The timeline chart of a report page, shared by the drill's page (local/drill/html.ts) and the
 * report of every real run (run-report.ts): pure string building, no scripts, no assets.
 * Everything sits on one time axis: each lane's phases as bands, its events as dots, its RTO as
 * a dashed line, and its weights per region as a strip with one segment per change.
 */

/** A span on a lane (outage, detection, a step, the RPO). */
export interface ViewBand {
  kind: string;
  label: string;
  fromSeconds: number;
  toSeconds: number;
}

/** One lane of the chart: an instance, or the world's faults (events only). */
export interface TimelineLane {
  id: string;
  events: { kind: string; tSeconds: number; detail: string }[];
  bands?: ViewBand[];
  weights?: { tSeconds: number; weights: Weights }[];
  markers?: { label: string; tSeconds: number }[];
}

/** HTML-escapes text for element content and attribute values. */
export const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** Dot colors of the events and the fault marks. */
export const EVENT_COLORS: Record<string, string> = {
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

/** Which row of a lane each band kind takes (detection and RPO never overlap). */
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

/** The chart as one SVG; `endSeconds` stretches the axis to the end of what it reports. */
export function timelineSvg(lanes: readonly TimelineLane[], endSeconds = 0): string {
  const times = [
    0,
    endSeconds,
    ...lanes.flatMap((l) => [
      ...l.events.map((e) => e.tSeconds),
      ...(l.weights ?? []).map((w) => w.tSeconds),
      ...(l.bands ?? []).flatMap((b) => [b.fromSeconds, b.toSeconds]),
    ]),
  ];
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const span = Math.max(1, t1 - t0);
  const x = (s: number) => LEFT + ((WIDTH - LEFT - 20) * (s - t0)) / span;
  const parts: string[] = [];
  let y = 20;
  const label = (text: string, yy: number, size = 12, weight = 'normal') =>
    `<text x="8" y="${yy + 15}" font-size="${size}" font-weight="${weight}">${escapeHtml(text)}</text>`;
  const dots = (events: TimelineLane['events'], yy: number) =>
    events
      .map((e) => {
        const color = EVENT_COLORS[e.kind] ?? '#95a5a6';
        return `<circle class="event" data-kind="${escapeHtml(e.kind)}" data-t="${e.tSeconds}" cx="${n(x(e.tSeconds))}" cy="${yy + ROW / 2}" r="6" fill="${color}"><title>${escapeHtml(`${e.tSeconds}s ${e.kind} ${e.detail}`)}</title></circle>`;
      })
      .join('');

  for (const lane of lanes) {
    const top = y;
    const eventsOnly = !lane.bands && !lane.weights && !lane.markers;
    if (eventsOnly) {
      parts.push(label(lane.id, y, 12, 'bold'));
      parts.push(dots(lane.events, y));
      y += ROW + 10;
      continue;
    }
    parts.push(label(lane.id, y, 13, 'bold'));
    y += ROW;
    BAND_ROWS.forEach((name, row) => {
      const rowY = y + row * ROW;
      parts.push(label(name, rowY, 11));
      for (const b of (lane.bands ?? []).filter((band) => BAND_ROW[band.kind] === row)) {
        const bx = x(b.fromSeconds);
        const bw = Math.max(2, x(b.toSeconds) - bx);
        const color = BAND_COLORS[b.kind] ?? '#999';
        parts.push(
          `<g class="band" data-kind="${escapeHtml(b.kind)}"><rect x="${n(bx)}" y="${rowY + 2}" width="${n(bw)}" height="${ROW - 4}" fill="${color}" fill-opacity="0.35" stroke="${color}"><title>${escapeHtml(`${b.label}: ${b.fromSeconds}s → ${b.toSeconds}s`)}</title></rect>` +
            `<text x="${n(bx + 3)}" y="${rowY + 15}" font-size="10">${escapeHtml(b.label)}</text></g>`,
        );
      }
    });
    y += BAND_ROWS.length * ROW;
    parts.push(label('events', y, 11));
    parts.push(dots(lane.events, y));
    y += ROW;

    const points = lane.weights ?? [];
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
    for (const m of lane.markers ?? []) {
      const mx = n(x(m.tSeconds));
      parts.push(
        `<g class="marker"><line x1="${mx}" x2="${mx}" y1="${top}" y2="${y}" stroke="#27ae60" stroke-width="2" stroke-dasharray="4 3"/><text x="${n(x(m.tSeconds) + 3)}" y="${top + 12}" font-size="11" font-weight="bold" fill="#1e8449">${escapeHtml(m.label)}</text></g>`,
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
  const legend = Object.entries(EVENT_COLORS)
    .map(
      ([k, c]) =>
        `<span style="margin-right:12px"><span style="color:${c}">●</span> ${escapeHtml(k)}</span>`,
    )
    .join('');
  return `<svg width="${WIDTH}" height="${y + 24}" role="img" aria-label="timeline">${ticks}${parts.join('\n')}</svg>\n<p>${legend}</p>`;
}

/** A table of rows of cells (already-escaped HTML). */
export const table = (head: readonly string[], rows: readonly (readonly string[])[]) =>
  `<table><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</table>`;

/** The page around the sections: self-contained, readable on a phone at 3 a.m. */
export const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;font-size:13px}code{font-size:12px}</style></head>
<body>
${body}
</body></html>
`;
