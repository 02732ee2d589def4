import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../local/drill/html.ts';
import type { DrillReport } from '../../local/drill/report.ts';
import { phaseBands } from '../../local/drill/timeline.ts';
import { FAILBACK_STEPS } from '../../shared/domain/recovery/failback-run.ts';
import type { RecoveryRun } from '../../shared/domain/recovery/run.ts';
import { buildRunReport, renderRunReport } from '../../shared/domain/recovery/run-report.ts';

/*
 * The report pages (the drill's, and every real run's) opened in headless Chromium: they must
 * render, and show what they claim: each phase as a band, each canary step as its own weight
 * segment in time order, the RTO mark where traffic moved, on one time axis, and the numbers.
 * Chromium is a Debian package (`apt-get install -y chromium`; .ci/run installs it). Without it
 * this test fails and says so: a report nobody has seen render is not a tested report.
 */

const CANDIDATES = [
  process.env.CHROMIUM_PATH,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];

function chromiumPath(): string {
  for (const candidate of CANDIDATES) if (candidate && existsSync(candidate)) return candidate;
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      `headless Chromium not found (looked at ${CANDIDATES.filter(Boolean).join(', ')} and PATH): install it with \`apt-get install -y chromium\` or set CHROMIUM_PATH`,
    );
  }
}

const START = Date.UTC(2026, 10, 25, 6, 0, 0);
const T = (s: number) => new Date(START + s * 1000).toISOString();
const HOME = { 'us-east-1': 100, 'us-east-2': 0 };
const AWAY = { 'us-east-1': 0, 'us-east-2': 100 };
const CANARY = [
  { 'us-east-1': 10, 'us-east-2': 90 },
  { 'us-east-1': 50, 'us-east-2': 50 },
  { 'us-east-1': 100, 'us-east-2': 0 },
];

/** Outage at 6 s, confirmed at 9, recovered by 25 (RTO 19 s); home back at 30; failback to 48. */
const recovery: RecoveryRun = {
  runId: 'petstore-g1',
  kind: 'recovery',
  instanceId: 'petstore',
  generation: 1,
  from: 'us-east-1',
  claimant: 'delivery-a',
  claimSet: ['eu-west-1', 'us-east-2', 'us-west-2'],
  status: 'completed',
  incident: { incidentId: 'i1', outageStartedAt: T(6), confirmedAt: T(9) },
  target: 'us-east-2',
  snapshot: { snapshotId: 'snap-1', region: 'us-east-2', configDigest: 'd1', takenAt: T(-7) },
  weights: { before: HOME, after: AWAY },
  approval: { requestedAt: T(10), decision: 'approved', by: 'alice', at: T(12) },
  metrics: { shiftedAt: T(25), rtoFromOutageStartSeconds: 19, rpoSeconds: 13 },
  steps: {
    plan: { status: 'done', attempts: 1, at: T(10) },
    restore: { status: 'done', attempts: 2, at: T(20) },
    verify: { status: 'done', attempts: 1, at: T(22) },
    shift: { status: 'done', attempts: 1, at: T(25) },
  },
  seq: 6,
  startedAt: T(9),
  updatedAt: T(25),
};

const failback: RecoveryRun = {
  runId: 'petstore-g2',
  kind: 'failback',
  instanceId: 'petstore',
  generation: 2,
  from: 'us-east-2',
  claimant: 'recovered-a',
  claimSet: ['eu-west-1', 'us-east-1', 'us-west-2'],
  status: 'completed',
  incident: {},
  target: 'us-east-1',
  recoveryRunId: 'petstore-g1',
  snapshot: { snapshotId: 'snap-2', region: 'us-east-1', configDigest: 'd2', takenAt: T(36) },
  weights: { before: AWAY, after: HOME },
  canary: CANARY,
  canaryAt: [T(41), T(44), T(47)],
  steps: {
    fence: { status: 'done', attempts: 1, at: T(35) },
    snapshot: { status: 'done', attempts: 1, at: T(37) },
    restore: { status: 'done', attempts: 1, at: T(39) },
    verify: { status: 'done', attempts: 1, at: T(40) },
    shift: { status: 'done', attempts: 1, at: T(47.5) },
    release: { status: 'done', attempts: 1, at: T(48) },
  },
  seq: 9,
  startedAt: T(34),
  updatedAt: T(48),
};

/** The drill report those two runs make, built the way the drill builds it. */
function drillReport(): DrillReport {
  const t = (iso: string) => (Date.parse(iso) - START) / 1000;
  const phases = phaseBands({
    instanceId: 'petstore',
    outageAt: new Date(T(6)),
    homeBackAt: new Date(T(30)),
    confirmedAt: T(9),
    runs: [recovery, failback],
  });
  const weights: [string, Record<string, number>][] = [
    [T(5), HOME],
    [T(25), AWAY],
    ...CANARY.map((w, i): [string, Record<string, number>] => [T(41 + 3 * i), w]),
  ];
  const events: [number, string, string | undefined][] = [
    [6, 'fault', undefined],
    [9, 'Region Outage Confirmed', undefined],
    [10, 'Recovery Planned', 'petstore'],
    [20, 'Instance Restored', 'petstore'],
    [22, 'Instance Verified', 'petstore'],
    [25, 'Recovery Completed', 'petstore'],
    [30, 'fault', undefined],
    [33, 'Region Recovered', undefined],
    [48, 'Failback Completed', 'petstore'],
  ];
  return {
    scenario: 'region-outage',
    outcome: 'passed',
    seed: 1,
    startedAt: T(0),
    durationSeconds: 50,
    regions: ['us-east-1', 'us-east-2'],
    controlRegion: 'us-east-2',
    recoveries: 1,
    scale: {
      intervalSeconds: 0.5,
      failureThreshold: 3,
      windowSeconds: 1.5,
      realWindowSeconds: 90,
      recoverySeconds: 5,
    },
    estimatedRealRtoSeconds: 106,
    instances: [
      {
        id: 'petstore',
        homeRegion: 'us-east-1',
        recoveredTo: 'us-east-2',
        detectionSeconds: 3,
        rtoSeconds: 19,
        rpoSeconds: 13,
        writesDuringOutage: 3,
        writesLostAfterFailback: 0,
      },
    ],
    dns: { petstore: { before: HOME, afterRecovery: AWAY, afterFailback: HOME } },
    weightsOverTime: weights.map(([at, w]) => ({
      at,
      tSeconds: t(at),
      instanceId: 'petstore',
      weights: w,
    })),
    bands: phases.bands.map((b) => ({ ...b, fromSeconds: t(b.from), toSeconds: t(b.to) })),
    markers: phases.markers.map((m) => ({ ...m, tSeconds: t(m.at) })),
    invariants: [{ name: 'recovered exactly once', held: true, detail: '1 run(s)' }],
    timeline: events.map(([s, kind, instanceId]) => ({
      at: T(s),
      tSeconds: s,
      kind,
      detail: '',
      ...(instanceId ? { instanceId } : {}),
    })),
  };
}

/** What the page shows, measured by the browser that drew it. */
interface Drawn {
  title: string;
  bands: { kind: string; label: string; x: number; width: number }[];
  weights: { region: string; weight: number; t: number; x: number; width: number }[];
  events: { kind: string; t: number; x: number }[];
  markers: { label: string; x: number }[];
  cells: string[];
}

/**
 * Runs in the page (plain JavaScript, so the project needs no DOM types): each band, weight
 * segment, event dot and marker with where Chromium laid it out, and every table cell.
 */
const MEASURE = `(() => {
  const box = (el) => el.getBBox();
  const all = (selector) => [...document.querySelectorAll(selector)];
  return {
    title: document.title,
    bands: all('g.band').map((g) => {
      const rect = box(g.querySelector('rect'));
      return { kind: g.getAttribute('data-kind'), label: g.querySelector('text').textContent, x: rect.x, width: rect.width };
    }),
    weights: all('g.weight').map((g) => {
      const rect = box(g.querySelector('rect'));
      return { region: g.getAttribute('data-region'), weight: Number(g.getAttribute('data-weight')), t: Number(g.getAttribute('data-t')), x: rect.x, width: rect.width };
    }),
    events: all('circle.event').map((c) => ({ kind: c.getAttribute('data-kind'), t: Number(c.getAttribute('data-t')), x: c.getBBox().x + c.getBBox().width / 2 })),
    markers: all('g.marker').map((g) => ({ label: g.querySelector('text').textContent, x: box(g.querySelector('line')).x })),
    cells: all('td').map((td) => td.textContent),
  };
})()`;

async function draw(html: string): Promise<Drawn> {
  const file = join(dir, `page-${Math.random().toString(36).slice(2)}.html`);
  writeFileSync(file, html);
  const page: Page = await browser.newPage();
  try {
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    return (await page.evaluate(MEASURE)) as Drawn;
  } finally {
    await page.close();
  }
}

let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-report-page-'));
  browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in CI containers: Chromium's sandbox needs a user namespace it may not get.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the drill report page in headless Chromium', () => {
  it('draws every phase as a band of its own width on the lane', async () => {
    const drawn = await draw(renderHtml(drillReport()));
    expect(drawn.title).toBe('lifeboat drill: region-outage passed');
    const kinds = new Set(drawn.bands.map((b) => b.kind));
    expect(kinds).toEqual(new Set(['outage', 'detection', 'rpo', 'recovery', 'failback']));
    for (const band of drawn.bands) expect(band.width, band.label).toBeGreaterThan(1);
    const labels = drawn.bands.map((b) => b.label);
    expect(labels).toEqual(
      expect.arrayContaining([
        'outage',
        'detection 3s',
        'RPO 13s (writes after the snapshot)',
        'plan',
        'restore (2 attempts)',
        'verify',
        'shift',
        'failback shift',
      ]),
    );
    // Steps follow each other left to right, as they ran.
    const steps = drawn.bands.filter((b) => b.kind === 'recovery');
    expect(steps.map((b) => b.x)).toEqual([...steps.map((b) => b.x)].sort((a, b) => a - b));
  });

  it('shows each canary step (10, 50, 100 %) as its own weight segment, in time order', async () => {
    const drawn = await draw(renderHtml(drillReport()));
    const home = drawn.weights.filter((w) => w.region === 'us-east-1');
    expect(home.map((w) => w.weight)).toEqual([100, 0, 10, 50, 100]);
    for (let i = 1; i < home.length; i += 1)
      expect(home[i]?.x).toBeGreaterThan(home[i - 1]?.x as number);
    for (const w of home) expect(w.width).toBeGreaterThan(1);
  });

  it('puts events, weights and the RTO mark on one time axis', async () => {
    const drawn = await draw(renderHtml(drillReport()));
    const completed = drawn.events.find((e) => e.kind === 'Recovery Completed');
    const shift = drawn.weights.find((w) => w.region === 'us-east-2' && w.weight === 100);
    const rto = drawn.markers.find((m) => m.label.startsWith('RTO'));
    expect(rto?.label).toBe('RTO 19s');
    expect(completed?.t).toBe(25);
    // The same moment (25 s) lands on the same pixel column in all three.
    expect(Math.abs((rto?.x ?? 0) - (completed?.x ?? -99))).toBeLessThan(0.5);
    expect(Math.abs((shift?.x ?? 0) - (completed?.x ?? -99))).toBeLessThan(0.5);
    const fault = drawn.events.find((e) => e.kind === 'fault');
    const outage = drawn.bands.find((b) => b.kind === 'outage');
    expect(Math.abs((outage?.x ?? 0) - (fault?.x ?? -99))).toBeLessThan(0.5);
  });

  it('prints the numbers: detection, RTO, RPO and the writes', async () => {
    const drawn = await draw(renderHtml(drillReport()));
    const row = drawn.cells.slice(
      drawn.cells.indexOf('petstore'),
      drawn.cells.indexOf('petstore') + 8,
    );
    expect(row).toEqual(['petstore', 'us-east-1', 'us-east-2', '3', '19', '13', '3', '0']);
  });
});

describe('a real run report page in headless Chromium', () => {
  it('shows the failback canary steps at their own times and the steps as bands', async () => {
    const drawn = await draw(renderRunReport(buildRunReport(failback)));
    expect(drawn.title).toContain('lifeboat failback petstore-g2');
    const home = drawn.weights.filter((w) => w.region === 'us-east-1');
    expect(home.map((w) => w.weight)).toEqual([0, 10, 50, 100, 100]);
    for (let i = 1; i < home.length; i += 1)
      expect(home[i]?.x).toBeGreaterThanOrEqual(home[i - 1]?.x as number);
    expect(new Set(home.slice(1, 4).map((w) => w.x)).size).toBe(3);
    // One band per failback step, in the order the run takes them.
    expect(drawn.bands.filter((b) => b.kind === 'failback').map((b) => b.label)).toEqual([
      ...FAILBACK_STEPS,
    ]);
  });

  it('shows detection, RPO, the steps, the RTO mark and who approved for a recovery', async () => {
    const drawn = await draw(renderRunReport(buildRunReport(recovery)));
    expect(drawn.bands.map((b) => b.kind)).toEqual(
      expect.arrayContaining(['detection', 'rpo', 'recovery']),
    );
    const rto = drawn.markers.find((m) => m.label.startsWith('RTO'));
    const shifted = drawn.events.find((e) => e.kind === 'traffic shifted');
    expect(rto?.label).toBe('RTO 19.0s');
    expect(Math.abs((rto?.x ?? 0) - (shifted?.x ?? -99))).toBeLessThan(0.5);
    expect(drawn.events.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['approval requested', 'run approved']),
    );
  });
});
