/**
 * Cold-start benchmark: for every function, the bundle `serverless package` builds, loaded in a
 * fresh `node` process per sample, then invoked twice with its sample event against moto_server
 * on 127.0.0.1: first (cold) and second (warm). The peer in the same run is
 * bench/bundles/hello-s3.ts, built with the same esbuild options: one S3 client, one call.
 *
 *   npm run bench:coldstart [-- --runs 10]
 *
 * Writes bench/coldstart/results.json and prints the table of docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { LOCAL_CREDENTIALS, provisionAndSeed, useLocalEndpoint } from '../../bin/commands/local.ts';
import { collectOutput } from '../../local/child-output.ts';
import { resetMoto, startMoto } from '../../local/moto.ts';
import { parseConfig, regionBuckets } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import {
  esbuildOptionsFromServerlessYml,
  extract,
  packageService,
  ROOT,
} from '../bundles/package.ts';
import { machine, writeResultsFile } from '../support.ts';

const RESULTS_FILE = join(ROOT, 'bench/coldstart/results.json');
const HARNESS = join(ROOT, 'bench/coldstart/invoke-once.cjs');
const PEER = 'hello-s3 (peer)';
/** Where the functions run: the home of `petstore`, whose snapshot the schedule tick takes. */
const REGION = 'us-east-1';
/** Discard port on loopback: probes are refused at once instead of resolving example.com. */
const CLOSED_ENDPOINT = 'http://127.0.0.1:9';

interface Sample {
  bootMs: number;
  importMs: number;
  first: { ms: number; outcome: string };
  warm: { ms: number; outcome: string };
  /** From spawn to exit, as the parent saw it. */
  processMs: number;
}

function envelope(detailType: string, detail: Record<string, unknown>) {
  return {
    version: '0',
    id: `coldstart-${detailType.toLowerCase().replaceAll(' ', '-')}`,
    'detail-type': detailType,
    source: 'lifeboat',
    account: '123456789012',
    time: new Date().toISOString(),
    region: REGION,
    resources: [],
    detail,
  };
}

/**
 * Each function's event. The first three are the sample events of events/. The recovery chain
 * has none there, so these are built here; on a world with no outage they take the function's
 * no-op path (nothing homed in the region; no such run), which still validates the event, builds
 * the clients and reads the control buckets: the part of a first invocation that is cold.
 */
function eventsFor(): Record<string, unknown> {
  const sample = (name: string) => JSON.parse(readFileSync(join(ROOT, 'events', name), 'utf8'));
  const now = new Date();
  const chain = {
    runId: 'petstore-g1',
    instanceId: 'petstore',
    claimSet: ['us-east-2', 'us-west-2'],
  };
  return {
    snapshot: sample('schedule.json'),
    probe: sample('schedule.json'),
    detectOutage: sample('health-observed.json'),
    planRecovery: envelope('Region Outage Confirmed', {
      eventId: 'us-west-2-coldstart:confirmed',
      region: 'us-west-2',
      incidentId: 'us-west-2-coldstart',
      outageStartedAt: new Date(now.getTime() - 90_000).toISOString(),
      confirmedAt: now.toISOString(),
    }),
    restoreInstance: envelope('Recovery Planned', chain),
    verifyInstance: envelope('Instance Restored', chain),
    shiftTraffic: envelope('Instance Verified', chain),
    failback: envelope('Region Recovered', { region: 'us-west-2', recoveredAt: now.toISOString() }),
    // The sweep over every control bucket's runs/ (none on a fresh world).
    reconcile: sample('reconcile-schedule.json'),
    [PEER]: {},
  };
}

/** The embedded config, with every instance endpoint on a closed loopback port. */
function benchConfig(): { raw: unknown; config: LifeboatConfig } {
  const raw = parseYaml(readFileSync(join(ROOT, 'lifeboat.config.yml'), 'utf8')) as {
    instances: { endpoints: Record<string, { url: string }> }[];
  };
  for (const instance of raw.instances)
    for (const endpoint of Object.values(instance.endpoints)) endpoint.url = CLOSED_ENDPOINT;
  return { raw, config: parseConfig(raw, 'cold-start config') };
}

function runSample(bundle: string, eventFile: string, env: NodeJS.ProcessEnv, cwd: string) {
  return new Promise<Sample>((resolve, reject) => {
    const started = performance.now();
    // process.execPath: the npm `node` package's Node 22, the runtime the functions target.
    const child = spawn(process.execPath, [HARNESS, bundle, eventFile], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collectOutput(child);
    child.on('error', reject);
    child.on('exit', (code) => {
      const processMs = performance.now() - started;
      const line = output.stdout.split('\n').find((l) => l.startsWith('COLDSTART_RESULT '));
      if (!line) {
        reject(
          new Error(`${bundle}: no result (exit ${code})\n${output.stdout}\n${output.stderr}`),
        );
        return;
      }
      resolve({ ...JSON.parse(line.slice('COLDSTART_RESULT '.length)), processMs });
    });
  });
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: with 10 samples p95 is the largest, which is what a reader should assume.
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

function summary(values: number[]) {
  return { median: quantile(values, 0.5), p95: quantile(values, 0.95) };
}

/** Fisher–Yates with a fixed seed, so every run visits the functions in a different order. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  const startedAt = new Date();
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-coldstart-'));
  console.error('serverless package …');
  const service = packageService();
  const moto = await startMoto();
  try {
    const bundles: Record<string, { bundle: string; cwd: string }> = {};
    for (const fn of service.functions) {
      const dir = join(scratch, fn.name);
      extract(fn, dir);
      bundles[fn.name] = { bundle: join(dir, fn.entry.replace(/\.ts$/, '.cjs')), cwd: dir };
    }
    const peerDir = join(scratch, 'hello-s3');
    await build({
      ...esbuildOptionsFromServerlessYml(),
      absWorkingDir: ROOT,
      entryPoints: ['bench/bundles/hello-s3.ts'],
      outfile: join(peerDir, 'handler.cjs'),
      logLevel: 'silent',
    });
    bundles[PEER] = { bundle: join(peerDir, 'handler.cjs'), cwd: peerDir };

    const { raw, config } = benchConfig();
    const configFile = join(scratch, 'lifeboat.config.yml');
    writeFileSync(configFile, stringifyYaml(raw));
    const events = eventsFor();
    const eventFiles: Record<string, string> = {};
    mkdirSync(join(scratch, 'events'));
    for (const [name, event] of Object.entries(events)) {
      eventFiles[name] = join(scratch, 'events', `${name}.json`);
      writeFileSync(eventFiles[name], JSON.stringify(event));
    }
    const home = config.regions.find((r) => r.name === REGION);
    if (!home) throw new Error(`${REGION} is not in the config`);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ...LOCAL_CREDENTIALS,
      AWS_REGION: REGION,
      AWS_ENDPOINT_URL: moto.endpoint,
      LIFEBOAT_REGION: REGION,
      LIFEBOAT_CONFIG: configFile,
      LIFEBOAT_PROBE_INVOCATION_SECONDS: '1',
      POWERTOOLS_SERVICE_NAME: 'lifeboat',
      // Lambda's default; the lines go to a pipe that is read and dropped.
      POWERTOOLS_LOG_LEVEL: 'INFO',
      HELLO_BUCKET: regionBuckets(config, home).control,
      NODE_OPTIONS: '',
    };
    useLocalEndpoint(moto.endpoint);

    const names = Object.keys(bundles);
    const samples: Record<string, Sample[]> = Object.fromEntries(names.map((n) => [n, []]));
    const loads: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      for (const name of shuffled(names, run + 1)) {
        // A fresh world per sample: every first invocation finds the same state.
        await resetMoto(moto.endpoint);
        await provisionAndSeed(config, 20);
        const target = bundles[name];
        const eventFile = eventFiles[name];
        if (!target || !eventFile) throw new Error(`no bundle or event for ${name}`);
        samples[name]?.push(await runSample(target.bundle, eventFile, env, target.cwd));
        loads.push(loadavg()[0] ?? 0);
      }
      console.error(`run ${run + 1}/${runs} done (load ${loadavg()[0]?.toFixed(2)})`);
    }

    const bundleBytes = (name: string) => readFileSync(bundles[name]?.bundle ?? '').length;
    const peerSamples = samples[PEER] ?? [];
    const peer = {
      importMs: summary(peerSamples.map((s) => s.importMs)),
      firstMs: summary(peerSamples.map((s) => s.first.ms)),
    };
    const rows = names.map((name) => {
      const s = samples[name] ?? [];
      const importMs = summary(s.map((x) => x.importMs));
      const firstMs = summary(s.map((x) => x.first.ms));
      return {
        function: name,
        bundleBytes: bundleBytes(name),
        bootMs: summary(s.map((x) => x.bootMs)),
        importMs,
        firstMs,
        warmMs: summary(s.map((x) => x.warm.ms)),
        // Import plus first invocation: what a caller waits for beyond node's own boot.
        coldMs: summary(s.map((x) => x.importMs + x.first.ms)),
        processMs: summary(s.map((x) => x.processMs)),
        outcomes: [...new Set(s.map((x) => `${x.first.outcome}/${x.warm.outcome}`))],
        ratioToPeer: {
          importMedian: importMs.median / peer.importMs.median,
          firstMedian: firstMs.median / peer.firstMs.median,
        },
        samples: s,
      };
    });
    const results = {
      benchmark: 'coldstart',
      generatedAt: startedAt.toISOString(),
      command: `npm run bench:coldstart -- --runs ${runs}`,
      runs,
      machine: {
        ...machine(),
        loadAverage1m: { min: Math.min(...loads), max: Math.max(...loads) },
      },
      events: Object.fromEntries(
        Object.entries(events).map(([k, v]) => [
          k,
          (v as { 'detail-type'?: string })['detail-type'] ?? 'none',
        ]),
      ),
      rows,
    };
    writeResultsFile(RESULTS_FILE, results);

    const ms = (v: { median: number; p95: number }) =>
      `${v.median.toFixed(0)} / ${v.p95.toFixed(0)}`;
    const lines = [
      `${runs} samples per function, each in a fresh node process; median / p95 in ms.`,
      '',
      '| function | bundle | node boot | import | first invocation | warm invocation | import + first | import ÷ peer | first ÷ peer | outcome (first/warm) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...rows.map(
        (r) =>
          `| ${r.function} | ${(r.bundleBytes / 1024).toFixed(0)} KiB | ${ms(r.bootMs)} | ${ms(r.importMs)} | ${ms(r.firstMs)} | ${ms(r.warmMs)} | ${ms(r.coldMs)} | ${r.ratioToPeer.importMedian.toFixed(2)} | ${r.ratioToPeer.firstMedian.toFixed(2)} | ${r.outcomes.join(', ')} |`,
      ),
      '',
      `Load average (1 min) during the run: ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}.`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await moto.stop();
    service.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
