/**
 * Drill benchmark: the region-outage drill with 1, 10 and 50 instances, each drill in a
 * process of its own against a moto_server of its own, measured from the drill's report, the
 * recovery runs it recorded, moto's access log and the process's own rusage.
 *
 *   npx tsx bench/drill/run.ts [--instances 1,10,50] [--runs 1] [--seed 1] [--capacity 100]
 *                              [--results bench/drill/results.json] [--keep-scratch]
 *   npx tsx bench/drill/run.ts --tables-from bench/drill/results.json   (print the tables again)
 *
 * Method and caveats: docs/benchmarks.md ("Drill"). Everything stays on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSecondsOf } from '../snapshot/processes.ts';
import { codeVersion, machine, motoVersion, writeResultsFile } from '../support.ts';
import {
  type DrillMeasurement,
  measureDrill,
  median,
  round,
  SOURCE_RTO_SECONDS,
  type Stats,
  stats,
} from './measure.ts';
import { emptyCounts, MARKER_PREFIX, type RequestCounts, requestsByPhase } from './moto-log.ts';

// Powertools reads its level when a logger is constructed, at module load: set it before any
// lifeboat module is imported (they are imported dynamically below, in the child only).
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPT = fileURLToPath(import.meta.url);
const RESULT_PREFIX = 'DRILL-BENCH-RESULT ';
/** A drill is two 40 s phases plus setup; 50 instances take longer. Beyond this, something hangs. */
const CHILD_TIMEOUT_MS = 20 * 60_000;

interface Options {
  instances: number[];
  runs: number;
  seed: number;
  capacity: number;
  results: string;
  keepScratch: boolean;
  one?: number;
  scratch?: string;
  tablesFrom?: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '1,10,50' },
      runs: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      capacity: { type: 'string', default: '100' },
      results: { type: 'string', default: join(HERE, 'results.json') },
      'keep-scratch': { type: 'boolean', default: false },
      one: { type: 'string' },
      scratch: { type: 'string' },
      'tables-from': { type: 'string' },
    },
  });
  const instances = String(values.instances)
    .split(',')
    .map((s) => Number(s.trim()));
  if (instances.some((n) => !Number.isInteger(n) || n < 1 || n > 200))
    throw new Error('--instances: a comma-separated list of whole numbers from 1 to 200');
  const runs = Number(values.runs);
  const seed = Number(values.seed);
  const capacity = Number(values.capacity);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  if (!Number.isInteger(seed) || seed < 0) throw new Error('--seed must be a whole number');
  if (!Number.isInteger(capacity) || capacity < 1)
    throw new Error('--capacity must be a positive integer');
  return {
    instances,
    runs,
    seed,
    capacity,
    results: resolve(String(values.results)),
    keepScratch: values['keep-scratch'] ?? false,
    ...(values.one !== undefined ? { one: Number(values.one) } : {}),
    ...(values.scratch !== undefined ? { scratch: String(values.scratch) } : {}),
    ...(values['tables-from'] !== undefined ? { tablesFrom: String(values['tables-from']) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The child: one drill, in this process, against its own moto.

/** Phase boundaries, recognised in the drill's progress log (its `mark` lines). */
const BOUNDARIES: { label: string; line: RegExp }[] = [
  { label: 'snapshot+quiet', line: /\] world: / },
  { label: 'recovery', line: /\] fault: .*stops answering/ },
  { label: 'outage-checks', line: /\] dns: after recovery:/ },
  { label: 'failback', line: /\] fault: .*answers again/ },
  { label: 'final-checks+teardown', line: /\] dns: after failback:/ },
];

async function oneDrill(n: number, options: Options, scratch: string): Promise<DrillMeasurement> {
  const processStart = performance.now();
  const { startMoto } = await import('../../local/moto.ts');
  const { useLocalEndpoint } = await import('../../bin/commands/local.ts');
  const { runDrill } = await import('../../local/drill/run-drill.ts');
  const { summarize, timelineText } = await import('../../local/drill/report.ts');
  const { DEFAULT_CONFIG_PATH, loadConfig, parseConfig } = await import(
    '../../shared/config/load.ts'
  );
  const { readDetectorView, readRecordedRuns } = await import('./runs.ts');
  const rssAfterImports = process.memoryUsage().rss;

  const motoLog = join(scratch, `moto-${n}.log`);
  const logFd = openSync(motoLog, 'w');
  const moto = await startMoto({ logFile: logFd });
  const stopMoto = () => moto.stop().catch(() => undefined);
  process.once('SIGTERM', () => {
    void stopMoto().finally(() => process.exit(143));
  });
  try {
    useLocalEndpoint(moto.endpoint);
    const embedded = loadConfig(DEFAULT_CONFIG_PATH);
    // The embedded regions hold 2 + 4 + 4 recovered instances: not 50. Same regions, more room.
    const config = parseConfig(
      {
        ...embedded,
        regions: embedded.regions.map((r) => ({ ...r, capacity: options.capacity })),
      },
      `embedded config, every region's capacity ${options.capacity}`,
    );
    const drillLog: string[] = [];
    const cost: { label: string; at: number; moto: number; node: number }[] = [];
    const boundary = (label: string) => {
      const usage = process.cpuUsage();
      cost.push({
        label,
        at: performance.now(),
        moto: cpuSecondsOf(moto.pid),
        node: (usage.user + usage.system) / 1e6,
      });
      // A marker request in moto's log: requests before it belong to the previous phase.
      fetch(`${moto.endpoint}${MARKER_PREFIX}${label}`)
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
    };
    const seen = new Set<string>();
    const log = (line: string) => {
      drillLog.push(line);
      for (const b of BOUNDARIES) {
        if (seen.has(b.label) || !b.line.test(line)) continue;
        seen.add(b.label);
        boundary(b.label);
        process.stderr.write(`  [N=${n}] ${line.trim()}\n`);
      }
    };
    const scenario = n > 1 ? 'multi' : 'region-outage';
    const load1AtStart = loadavg()[0] ?? 0;
    boundary('setup');
    const started = performance.now();
    const report = await runDrill(config, {
      scenario,
      regions: 4,
      instances: n,
      seed: options.seed,
      endpoint: moto.endpoint,
      log,
    });
    const wallSeconds = (performance.now() - started) / 1000;
    boundary('after');
    const maxRssKiB = process.resourceUsage().maxRSS;
    const heapUsed = process.memoryUsage().heapUsed;
    const runs = await readRecordedRuns(moto.endpoint);
    const motoServing = motoVersion(moto.pid);
    const home = report.regions[0] as string;
    const detectorView = await readDetectorView(moto.endpoint, report.controlRegion, home);

    writeFileSync(join(scratch, `drill-${n}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(scratch, `drill-${n}.timeline.txt`), `${timelineText(report)}\n`);
    writeFileSync(join(scratch, `drill-${n}.log`), `${drillLog.join('\n')}\n`);
    writeFileSync(join(scratch, `drill-${n}.runs.json`), `${JSON.stringify(runs, null, 2)}\n`);
    process.stderr.write(`${summarize(report).split('\n').slice(0, 3).join('\n')}\n`);

    // Let the last marker reach the log before it is read.
    await new Promise((r) => setTimeout(r, 300));
    const byPhase = requestsByPhase(motoLog);
    const requests: Record<string, RequestCounts> = {};
    const phaseCost: DrillMeasurement['phaseCost'] = {};
    for (const [index, c] of cost.entries()) {
      const next = cost[index + 1];
      if (!next) break;
      requests[c.label] = byPhase[c.label] ?? emptyCounts();
      phaseCost[c.label] = {
        seconds: round((next.at - c.at) / 1000),
        motoCpu: round(next.moto - c.moto),
        nodeCpu: round(next.node - c.node),
      };
    }
    const first = cost[0] as (typeof cost)[number];
    const last = cost.at(-1) as (typeof cost)[number];
    const timelineAt = (kind: string, match: (d: string) => boolean) =>
      report.timeline.find((e) => e.kind === kind && match(e.detail))?.tSeconds ?? null;
    const measured = measureDrill(report, runs);
    const { faultAt: _f, homeBackAt: _h, ...rest } = measured;
    return {
      instances: report.instances.length,
      scenario,
      seed: options.seed,
      capacityPerRegion: options.capacity,
      ...rest,
      wallSeconds: round(wallSeconds),
      processSeconds: round((performance.now() - processStart) / 1000),
      phases: {
        worldUp: timelineAt('world', () => true),
        fault: timelineAt('fault', (d) => d.includes('stops answering')),
        recoveryDone: timelineAt('dns', (d) => d.startsWith('after recovery')),
        homeBack: timelineAt('fault', (d) => d.includes('answers again')),
        failbackDone: timelineAt('dns', (d) => d.startsWith('after failback')),
        end: report.durationSeconds,
      },
      memory: {
        rssAfterImportsMiB: round(rssAfterImports / 1024 ** 2, 1),
        maxRssMiB: round(maxRssKiB / 1024, 1),
        heapUsedAtEndMiB: round(heapUsed / 1024 ** 2, 1),
      },
      cpu: {
        nodeSeconds: round(last.node - first.node),
        motoSeconds: round(last.moto - first.moto),
      },
      requests,
      phaseCost,
      load1AtStart: round(load1AtStart),
      motoVersion: motoServing,
      detector: {
        homeStatusAtEnd: detectorView?.status ?? null,
        regionRecoveredEvents: report.timeline.filter((e) => e.kind === 'Region Recovered').length,
        // As detectorSettings derives it from the drill's scaled policy.
        staleSeconds: Math.max(2 * report.scale.windowSeconds, 3 * report.scale.intervalSeconds),
        probeRoundGapSeconds: stats(Object.values(detectorView?.roundGaps ?? {}).flat()),
      },
    };
  } finally {
    await stopMoto();
    closeSync(logFd);
  }
}

// ---------------------------------------------------------------------------------------------
// The parent: one child per drill, then the tables.

interface ChildOutcome {
  instances: number;
  run: number;
  measurement?: DrillMeasurement;
  error?: string;
  childExit: number | null;
}

async function spawnDrill(
  n: number,
  run: number,
  options: Options,
  scratch: string,
): Promise<ChildOutcome> {
  const dir = join(scratch, `run-${run}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const args = [
    ...process.execArgv,
    SCRIPT,
    '--one',
    String(n),
    '--seed',
    String(options.seed),
    '--capacity',
    String(options.capacity),
    '--scratch',
    dir,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), CHILD_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolveExit) =>
    child.once('close', (c) => resolveExit(c)),
  );
  clearTimeout(timer);
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (!line)
    return {
      instances: n,
      run,
      childExit: code,
      error: `no result (exit ${code}): ${stdout.slice(-1500)}`,
    };
  const parsed = JSON.parse(line.slice(RESULT_PREFIX.length)) as
    | { ok: true; measurement: DrillMeasurement }
    | { ok: false; error: string };
  return parsed.ok
    ? { instances: n, run, childExit: code, measurement: parsed.measurement }
    : { instances: n, run, childExit: code, error: parsed.error };
}

const med = (xs: readonly (number | null | undefined)[]) => {
  const v = xs.filter((x): x is number => typeof x === 'number');
  const m = median(v);
  return m === null ? null : round(m);
};
const fmt = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined ? '—' : x.toFixed(digits);
const range = (xs: readonly (number | null | undefined)[], digits = 1) => {
  const v = xs.filter((x): x is number => typeof x === 'number');
  if (v.length === 0) return '—';
  const m = median(v) as number;
  if (v.length === 1) return fmt(m, digits);
  return `${fmt(m, digits)} (${fmt(Math.min(...v), digits)}–${fmt(Math.max(...v), digits)})`;
};
const ratio = (x: number | null) =>
  x === null
    ? '—'
    : `${(x / SOURCE_RTO_SECONDS).toExponential(1)}× (1/${Math.round(SOURCE_RTO_SECONDS / x)})`;

/** The summary: one column per N, median over runs (range when there are several). */
function summaryTable(byN: Map<number, DrillMeasurement[]>): string {
  const ns = [...byN.keys()];
  const rows: [string, (ms: DrillMeasurement[]) => string][] = [
    [
      'runs (passed / all)',
      (ms) => `${ms.filter((m) => m.outcome === 'passed').length} / ${ms.length}`,
    ],
    ['drill wall s (runDrill, start to end)', (ms) => range(ms.map((m) => m.wallSeconds))],
    ['world up s (before the fault)', (ms) => range(ms.map((m) => m.phases.worldUp))],
    [
      'detection s, median of instances',
      (ms) =>
        range(
          ms.map((m) => m.detection.median),
          2,
        ),
    ],
    [
      'RTO s, fastest instance',
      (ms) =>
        range(
          ms.map((m) => m.rto.min),
          2,
        ),
    ],
    [
      'RTO s, median instance',
      (ms) =>
        range(
          ms.map((m) => m.rto.median),
          2,
        ),
    ],
    [
      'RTO s, slowest instance (all recovered)',
      (ms) =>
        range(
          ms.map((m) => m.rto.max),
          2,
        ),
    ],
    [
      'overhead s (RTO − detection), median',
      (ms) =>
        range(
          ms.map((m) => m.overhead.median),
          2,
        ),
    ],
    [
      'overhead s (RTO − detection), max',
      (ms) =>
        range(
          ms.map((m) => m.overhead.max),
          2,
        ),
    ],
    [
      's per extra instance (slowest RTO − slowest RTO at the smallest N) ÷ ΔN',
      (ms) => {
        const base = byN.get(ns[0] as number) ?? [];
        const n0 = ns[0] as number;
        const n = ms[0]?.instances ?? n0;
        const b = med(base.map((m) => m.rto.max));
        const x = med(ms.map((m) => m.rto.max));
        return n === n0 || b === null || x === null ? '—' : fmt((x - b) / (n - n0), 2);
      },
    ],
    ...['plan', 'restore', 'verify', 'shift'].map(
      (step): [string, (ms: DrillMeasurement[]) => string] => [
        `step \`${step}\`: s per instance`,
        (ms) =>
          range(
            ms.map((m) => m.stepSecondsPerInstance[step]),
            2,
          ),
      ],
    ),
    ['estimated real-interval RTO s', (ms) => range(ms.map((m) => m.estimatedRealRtoSeconds))],
    ['slowest RTO ÷ 24 h (source promise)', (ms) => ratio(med(ms.map((m) => m.rto.max)))],
    ['real-interval RTO ÷ 24 h', (ms) => ratio(med(ms.map((m) => m.estimatedRealRtoSeconds)))],
    [
      'failback: home answers → first failback run s',
      (ms) => range(ms.map((m) => m.failback.firstStarted)),
    ],
    [
      'failback: home answers → last completed s',
      (ms) => range(ms.map((m) => m.failback.lastCompleted)),
    ],
    [
      'failback s per instance',
      (ms) =>
        range(
          ms.map((m) => m.failback.secondsPerInstance),
          2,
        ),
    ],
    [
      'failbacks completed / rolled back / failed',
      (ms) =>
        ms
          .map((m) => `${m.failback.completed}/${m.failback.rolledBack}/${m.failback.failed}`)
          .join(', '),
    ],
    [
      '"Region Recovered" events / home status at end',
      (ms) =>
        ms
          .map((m) => `${m.detector.regionRecoveredEvents} / ${m.detector.homeStatusAtEnd ?? '—'}`)
          .join(', '),
    ],
    [
      'probe round gap s at the end, median / max (stale after 3 s)',
      (ms) =>
        ms
          .map(
            (m) =>
              `${fmt(m.detector.probeRoundGapSeconds.median, 2)} / ${fmt(m.detector.probeRoundGapSeconds.max, 2)}`,
          )
          .join(', '),
    ],
    [
      'writes during outage / lost',
      (ms) => ms.map((m) => `${m.writesDuringOutage}/${m.writesLost}`).join(', '),
    ],
    [
      'recovered to',
      (ms) =>
        [
          ...new Set(
            ms.map((m) =>
              Object.entries(m.recoveredTo)
                .map(([r, c]) => `${r}×${c}`)
                .join(' '),
            ),
          ),
        ].join('; ') || '—',
    ],
    [
      'peak RSS MiB (drill process)',
      (ms) =>
        range(
          ms.map((m) => m.memory.maxRssMiB),
          0,
        ),
    ],
    [
      'node CPU s / moto CPU s',
      (ms) =>
        `${range(ms.map((m) => m.cpu.nodeSeconds))} / ${range(ms.map((m) => m.cpu.motoSeconds))}`,
    ],
    [
      'moto requests, whole drill',
      (ms) =>
        range(
          ms.map((m) => Object.values(m.requests).reduce((s, r) => s + r.total, 0)),
          0,
        ),
    ],
    [
      'moto requests, fault → all recovered',
      (ms) =>
        range(
          ms.map((m) => m.requests.recovery?.total),
          0,
        ),
    ],
    [
      '… of which capacity-slot GETs',
      (ms) =>
        range(
          ms.map((m) => m.requests.recovery?.s3CapacitySlotGets),
          0,
        ),
    ],
    [
      'moto requests, home answers → failback done',
      (ms) =>
        range(
          ms.map((m) => m.requests.failback?.total),
          0,
        ),
    ],
    ['load average (1 min) at start', (ms) => range(ms.map((m) => m.load1AtStart))],
  ];
  const header = `| metric | ${ns.map((n) => `N = ${n}`).join(' | ')} |`;
  const rule = `| --- | ${ns.map(() => '---:').join(' | ')} |`;
  const body = rows.map(
    ([name, f]) => `| ${name} | ${ns.map((n) => f(byN.get(n) ?? [])).join(' | ')} |`,
  );
  return [header, rule, ...body].join('\n');
}

/** "api-02: traffic is home…" ×50 → "traffic is home… (50 instances)". */
function groupInvariants(failed: readonly { name: string }[]): string {
  const counts = new Map<string, number>();
  for (const f of failed) {
    const name = f.name.replace(/^[a-z0-9-]+: /, '');
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([name, c]) => (c > 1 ? `${name} (×${c})` : name)).join('; ');
}

/** Where the recovery's time went, per N: each step's completion after the fault, and per phase cost. */
function perNTable(m: DrillMeasurement): string {
  const s = (x: Stats) => `${fmt(x.min, 2)} / ${fmt(x.median, 2)} / ${fmt(x.max, 2)}`;
  const lines = [
    `N = ${m.instances} (seed ${m.seed}, ${m.outcome}${m.failedInvariants.length ? `; failed: ${groupInvariants(m.failedInvariants)}` : ''})`,
    '',
    '| recovery, seconds after the fault | first / median / last instance |',
    '| --- | ---: |',
    `| outage confirmed (detection) | ${s(m.detection)} |`,
    ...Object.entries(m.recoverySteps).map(
      ([step, st]) => `| step \`${step}\` recorded done | ${s(st)} |`,
    ),
    `| weights shifted (RTO) | ${s(m.rto)} |`,
    '',
    '| phase | wall s | moto requests | S3 | of which capacity-slot GETs | S3 4xx | Route 53 | SQS + EventBridge | moto CPU s | node CPU s | requests/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(m.phaseCost).map(([phase, c]) => {
      const r = m.requests[phase];
      return `| ${phase} | ${fmt(c.seconds)} | ${r?.total ?? '—'} | ${r?.s3 ?? '—'} | ${r?.s3CapacitySlotGets ?? '—'} | ${r?.s3Errors ?? '—'} | ${r?.route53 ?? '—'} | ${r?.jsonProtocol ?? '—'} | ${fmt(c.motoCpu)} | ${fmt(c.nodeCpu)} | ${r && c.seconds > 0 ? Math.round(r.total / c.seconds) : '—'} |`;
    }),
  ];
  return lines.join('\n');
}

function groupByN(
  outcomes: readonly ChildOutcome[],
  instances: readonly number[],
): Map<number, DrillMeasurement[]> {
  const byN = new Map<number, DrillMeasurement[]>();
  for (const n of instances)
    byN.set(
      n,
      outcomes
        .filter((o) => o.instances === n && o.measurement)
        .map((o) => o.measurement as DrillMeasurement),
    );
  return byN;
}

/** Every table of the docs section: the summary, then one breakdown per N (its first run). */
function markdown(byN: Map<number, DrillMeasurement[]>, instances: readonly number[]): string {
  const details = instances
    .map((n) => byN.get(n)?.[0])
    .filter((m): m is DrillMeasurement => !!m)
    .map(perNTable);
  return [summaryTable(byN), ...details].join('\n\n');
}

/** `--tables-from results.json`: prints the tables of an earlier run again, without running. */
function tablesFrom(file: string): void {
  const results = JSON.parse(readFileSync(file, 'utf8')) as {
    parameters: { instances: number[] };
    runs: ChildOutcome[];
  };
  console.log(
    markdown(groupByN(results.runs, results.parameters.instances), results.parameters.instances),
  );
}

async function parent(options: Options): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-drill-bench-'));
  console.log(
    `drill benchmark: N = ${options.instances.join(', ')}, ${options.runs} run(s), seed ${options.seed}, capacity ${options.capacity} per region; scratch ${scratch}`,
  );
  const outcomes: ChildOutcome[] = [];
  try {
    for (let run = 1; run <= options.runs; run += 1) {
      for (const n of options.instances) {
        console.log(`run ${run}, N = ${n}: load ${loadavg()[0]?.toFixed(2)}`);
        const outcome = await spawnDrill(n, run, options, join(scratch, `n${n}`));
        outcomes.push(outcome);
        const m = outcome.measurement;
        console.log(
          m
            ? `run ${run}, N = ${n}: ${m.outcome} in ${m.wallSeconds.toFixed(1)} s; RTO ${fmt(m.rto.min, 2)}–${fmt(m.rto.max, 2)} s; failback done after ${fmt(m.failback.lastCompleted)} s; peak RSS ${m.memory.maxRssMiB} MiB`
            : `run ${run}, N = ${n}: ERROR ${outcome.error}`,
        );
      }
    }
    const byN = groupByN(outcomes, options.instances);
    const tables = markdown(byN, options.instances);
    const results = {
      benchmark: 'drill',
      generatedAt: startedAt.toISOString(),
      command: `npx tsx bench/drill/run.ts --instances ${options.instances.join(',')} --runs ${options.runs} --seed ${options.seed} --capacity ${options.capacity}`,
      totalSeconds: round((performance.now() - t0) / 1000),
      machine: {
        ...machine(),
        moto: outcomes.find((o) => o.measurement)?.measurement?.motoVersion ?? 'unknown',
      },
      code: codeVersion(['shared', 'local', 'functions', 'bin']),
      parameters: {
        instances: options.instances,
        runs: options.runs,
        seed: options.seed,
        regions: 4,
        capacityPerRegion: options.capacity,
        scenario: "'region-outage' for N = 1, 'multi' for N > 1 (the same code path)",
      },
      peer: {
        name: 'the source document’s promise for a region failure',
        quote: 'This is typically completed within 24 hours of failure.',
        rtoSeconds: SOURCE_RTO_SECONDS,
      },
      notes: [
        'Each drill runs in a child process of its own (so peak RSS is per drill) against a moto_server of its own.',
        'Times of recovery steps come from the run records lifeboat wrote (steps[step].at), read back from moto after the drill.',
        'Request counts are moto’s access log between marker requests the benchmark sends when the drill logs a phase boundary; a few requests in flight at a boundary may land on either side.',
        'stepSecondsPerInstance: the pump delivers each step for every instance before the next step, so (last completion of the step − last completion of the step before, or outage confirmation for plan) ÷ instances.',
      ],
      summary: Object.fromEntries(
        [...byN].map(([n, ms]) => [
          n,
          {
            runs: ms.length,
            passed: ms.filter((m) => m.outcome === 'passed').length,
            wallSeconds: med(ms.map((m) => m.wallSeconds)),
            detectionMedian: med(ms.map((m) => m.detection.median)),
            rtoMin: med(ms.map((m) => m.rto.min)),
            rtoMedian: med(ms.map((m) => m.rto.median)),
            rtoMax: med(ms.map((m) => m.rto.max)),
            overheadMedian: med(ms.map((m) => m.overhead.median)),
            overheadMax: med(ms.map((m) => m.overhead.max)),
            stepSecondsPerInstance: Object.fromEntries(
              ['plan', 'restore', 'verify', 'shift'].map((step) => [
                step,
                med(ms.map((m) => m.stepSecondsPerInstance[step])),
              ]),
            ),
            estimatedRealRtoSeconds: med(ms.map((m) => m.estimatedRealRtoSeconds)),
            slowestRtoOverSourcePromise: (() => {
              const x = med(ms.map((m) => m.rto.max));
              return x === null ? null : x / SOURCE_RTO_SECONDS;
            })(),
            realRtoOverSourcePromise: (() => {
              const x = med(ms.map((m) => m.estimatedRealRtoSeconds));
              return x === null ? null : x / SOURCE_RTO_SECONDS;
            })(),
            failbackLastCompleted: med(ms.map((m) => m.failback.lastCompleted)),
            failbackSecondsPerInstance: med(ms.map((m) => m.failback.secondsPerInstance)),
            maxRssMiB: med(ms.map((m) => m.memory.maxRssMiB)),
          },
        ]),
      ),
      errors: outcomes
        .filter((o) => o.error)
        .map((o) => ({ instances: o.instances, run: o.run, error: o.error })),
      runs: outcomes,
    };
    writeResultsFile(options.results, results);
    console.log(`\n${tables}\n`);
    console.log(`wrote ${options.results} (${results.totalSeconds.toFixed(0)} s in all)`);
    if (options.keepScratch) console.log(`reports, timelines and moto logs kept in ${scratch}`);
  } finally {
    if (!options.keepScratch) rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.tablesFrom !== undefined) {
    tablesFrom(options.tablesFrom);
    return;
  }
  if (options.one === undefined) {
    await parent(options);
    return;
  }
  const scratch = options.scratch ?? mkdtempSync(join(tmpdir(), 'lifeboat-drill-one-'));
  try {
    const measurement = await oneDrill(options.one, options, scratch);
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ ok: true, measurement })}\n`);
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ ok: false, error: text })}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
