/**
 * Snapshot benchmark: lifeboat's full and incremental snapshot (and restore) against
 * `aws s3 sync` and restic, all against one local moto_server, in the same run.
 *
 *   npm run bench:snapshot -- --objects 2000 [--change-percent 1] [--runs 3] [--keep-scratch]
 *     [--large N --large-mib M]   N large objects of M MiB besides the small ones (scale runs)
 *     [--peers all|none]          none: lifeboat alone (the memory runs of bench/scale)
 *     [--results FILE]            where results go (default bench/snapshot/results.json)
 *
 * Method and caveats: docs/benchmarks.md. Everything stays on 127.0.0.1.
 */
import { createCipheriv, createHash } from 'node:crypto';
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
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import { useLocalEndpoint } from '../../bin/commands/local.ts';
import { type MotoServer, startMoto } from '../../local/moto.ts';
import { provisionWorld } from '../../local/provision.ts';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { s3ClientFor } from '../../shared/adapters/aws-clients.ts';
import { backupVault, instanceStore } from '../../shared/composition.ts';
import { DEFAULT_CONFIG_PATH, loadConfig, regionBuckets } from '../../shared/config/load.ts';
import type { InstanceConfig, LifeboatConfig } from '../../shared/config/schema.ts';
import type { RestoreResult } from '../../shared/domain/snapshot/restore.ts';
import type { SnapshotOutcome } from '../../shared/domain/snapshot/run.ts';
import { codeVersion, machine, motoVersion, toolVersion, writeResultsFile } from '../support.ts';
import { type PhaseReport, type PhaseRequest, RESULT_PREFIX } from './phase-protocol.ts';
import { cpuSecondsOf, runTimed, type TimedRun } from './processes.ts';
import { markdownRatios, markdownTable, medianRows, type Row, ratios } from './report.ts';
import { countByOperation, type LoggedRequest, RequestLog } from './request-log.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS_FILE = join(HERE, 'results.json');
const RESTIC_PASSWORD = 'lifeboat-bench';

interface Options {
  objects: number;
  changePercent: number;
  runs: number;
  keepScratch: boolean;
  /** Large objects (exports, bundles) besides the small documents. */
  large: number;
  largeMiB: number;
  /** `none`: lifeboat alone, for the memory runs. */
  peers: 'all' | 'none';
  results: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      objects: { type: 'string', default: '2000' },
      'change-percent': { type: 'string', default: '1' },
      runs: { type: 'string', default: '3' },
      'keep-scratch': { type: 'boolean', default: false },
      large: { type: 'string', default: '0' },
      'large-mib': { type: 'string', default: '25' },
      peers: { type: 'string', default: 'all' },
      results: { type: 'string', default: RESULTS_FILE },
    },
  });
  const large = Number(values.large);
  const largeMiB = Number(values['large-mib']);
  if (!Number.isInteger(large) || large < 0) throw new Error('--large must be an integer ≥ 0');
  if (!(largeMiB > 0 && largeMiB <= 1024)) throw new Error('--large-mib must be in (0, 1024]');
  if (values.peers !== 'all' && values.peers !== 'none')
    throw new Error('--peers must be all or none');
  const objects = Number(values.objects);
  const changePercent = Number(values['change-percent']);
  const runs = Number(values.runs);
  if (!Number.isInteger(objects) || objects < 8)
    throw new Error('--objects must be an integer ≥ 8');
  if (!(changePercent > 0 && changePercent <= 100))
    throw new Error('--change-percent must be in (0, 100]');
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  return {
    objects,
    changePercent,
    runs,
    keepScratch: values['keep-scratch'] ?? false,
    large,
    largeMiB,
    peers: values.peers,
    results: values.results ?? RESULTS_FILE,
  };
}

/**
 * Large objects as a real instance has them (an OpenAPI bundle, an export): JSON lines whose
 * values are a deterministic AES-CTR key stream in hex, so no two MiB are alike (nothing
 * dedups) and gzip and zstd get about 2:1, as on text.
 */
function largeObjects(count: number, mib: number): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let n = 0; n < count; n += 1) {
    const key = Buffer.alloc(16, 7);
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(n, 0);
    const cipher = createCipheriv('aes-128-ctr', key, iv);
    const size = Math.round(mib * 1024 * 1024);
    // Each 64-byte line: `{"i":NNNNNNNN,"v":"<40 hex>"}` padded with a newline.
    const lines = Math.ceil(size / 64);
    const stream = cipher.update(Buffer.alloc(lines * 20));
    const body = Buffer.alloc(lines * 64);
    for (let i = 0; i < lines; i += 1) {
      const line = `{"i":${String(i).padStart(8, '0')},"v":"${stream.toString('hex', i * 20, i * 20 + 20)}"}`;
      body.write(line.padEnd(63, ' '), i * 64, 'latin1');
      body[i * 64 + 63] = 0x0a;
    }
    out.set(`exports/export-${String(n).padStart(3, '0')}.jsonl`, body.subarray(0, size));
  }
  return out;
}

/** sampleInstanceObjects makes one object per API plus three per five APIs; find the API count for N. */
function apisFor(objects: number): number {
  const count = (apis: number) => apis + 3 * Math.max(1, Math.floor(apis / 5));
  let apis = 1;
  while (count(apis) < objects) apis += 1;
  return apis;
}

/**
 * Objects to change: `percent` of all of them, spread evenly over the sorted keys of the
 * documents (`keys`); large objects stay as they are.
 */
function changeSet(keys: readonly string[], total: number, percent: number): string[] {
  const count = Math.max(1, Math.round((total * percent) / 100));
  const step = keys.length / count;
  return Array.from({ length: count }, (_, i) => keys[Math.floor(i * step)] as string);
}

/** A realistic edit: one field of the document changes, the rest stays byte-identical. */
function revise(body: Buffer, revision: number): Buffer {
  const doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  doc['x-bench-revision'] = revision;
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
}

/** Which lifeboat was measured: others edit the tree while benchmarks run, so say exactly. */
function measuredCode(bundle: string): Record<string, unknown> {
  return {
    ...codeVersion(['shared', 'local']),
    lifeboatBundleSha256: createHash('sha256').update(readFileSync(bundle)).digest('hex'),
  };
}

/** The world the benchmark runs in, built once. */
interface Bench {
  config: LifeboatConfig;
  instance: InstanceConfig;
  moto: MotoServer;
  log: RequestLog;
  /** lifeboat-phase.ts bundled for plain Node. */
  bundle: string;
  scratch: string;
  dataDir: string;
  childEnv: NodeJS.ProcessEnv;
  /** bucket → which of lifeboat's buckets it is, and its region. */
  buckets: Map<string, { kind: 'backup' | 'instanceStore' | 'control'; region: string }>;
  restoreFrom: string;
  restoreInto: string;
  current: Map<string, Buffer>;
  changed: string[];
  peers: Options['peers'];
}

function bucketOf(bench: Bench, region: string, kind: 'backup' | 'instanceStore'): string {
  const r = bench.config.regions.find((x) => x.name === region);
  if (!r) throw new Error(`no region ${region}`);
  return regionBuckets(bench.config, r)[kind];
}

async function listSizes(
  bench: Bench,
  bucket: string,
  prefix: string,
): Promise<Map<string, number>> {
  const region = bench.buckets.get(bucket)?.region ?? 'us-east-1';
  const out = new Map<string, number>();
  for await (const page of paginateListObjectsV2(
    { client: s3ClientFor({ region }) },
    { Bucket: bucket, Prefix: prefix },
  )) {
    for (const o of page.Contents ?? []) if (o.Key) out.set(o.Key, o.Size ?? 0);
  }
  return out;
}

function commonPrefix(keys: readonly string[]): string {
  let prefix = keys[0] ?? '';
  for (const key of keys) while (!key.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix.slice(0, prefix.lastIndexOf('/') + 1);
}

/** Sizes of what the phase PUT or copied, from a listing afterwards (objects deleted since count 0). */
async function bytesWrittenBy(bench: Bench, requests: readonly LoggedRequest[]): Promise<number> {
  // PUTs and copies, and multipart uploads or copies (awscli's, above 8 MiB), each key once.
  const puts = requests.filter(
    (r) => (r.operation === 'PutObject' || r.operation === 'MultipartPOST') && r.status < 300,
  );
  const byBucket = new Map<string, string[]>();
  for (const p of puts) {
    const keys = byBucket.get(p.bucket) ?? [];
    if (!keys.includes(p.key)) keys.push(p.key);
    byBucket.set(p.bucket, keys);
  }
  let total = 0;
  for (const [bucket, keys] of byBucket) {
    const sizes = await listSizes(bench, bucket, commonPrefix(keys));
    for (const key of keys) total += sizes.get(key) ?? 0;
  }
  return total;
}

interface Captured<T> {
  value: T;
  ms: number;
  requests: LoggedRequest[];
  motoCpuS: number;
  load1: number;
}

/** Runs one phase between two log markers and measures moto's CPU across it. */
async function capture<T>(bench: Bench, fn: () => Promise<T>): Promise<Captured<T>> {
  const begin = await bench.log.mark();
  const cpu0 = cpuSecondsOf(bench.moto.pid);
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const motoCpuS = cpuSecondsOf(bench.moto.pid) - cpu0;
  const load1 = loadavg()[0] ?? 0;
  const end = await bench.log.mark();
  return { value, ms, requests: bench.log.between(begin, end), motoCpuS, load1 };
}

async function toRow(
  bench: Bench,
  base: Pick<Row, 'phase' | 'tool' | 'regions'>,
  captured: Captured<unknown>,
  peakRssMiB: number,
  detail: Row['detail'],
  putsAreCopies = false,
): Promise<Row> {
  const s3 = captured.requests.filter((r) => !r.operation.startsWith('other:'));
  const byOperation = countByOperation(s3);
  if (putsAreCopies && byOperation.PutObject) {
    byOperation.CopyObject = byOperation.PutObject;
    delete byOperation.PutObject;
  }
  const lists = s3.filter((r) => r.operation.startsWith('List')).length;
  const puts = s3.filter((r) => r.operation === 'PutObject').length;
  const gets = s3.filter((r) => r.operation === 'GetObject').length;
  return {
    ...base,
    wallMs: captured.ms,
    s3Requests: s3.length,
    puts,
    gets,
    lists,
    otherS3: s3.length - puts - gets - lists,
    backupRequests: s3.filter((r) => bench.buckets.get(r.bucket)?.kind === 'backup').length,
    errorResponses: s3.filter((r) => r.status >= 400).length,
    nonS3Requests: captured.requests.length - s3.length,
    bytesWritten: await bytesWrittenBy(bench, s3),
    peakRssMiB,
    motoCpuS: captured.motoCpuS,
    load1: captured.load1,
    byOperation,
    detail,
  };
}

/** Runs one lifeboat operation in its own bundled Node process (see lifeboat-phase.ts). */
async function runLifeboat(
  bench: Bench,
  request: PhaseRequest,
): Promise<{ run: TimedRun; report: PhaseReport }> {
  const run = await runTimed(process.execPath, [bench.bundle, JSON.stringify(request)], {
    // As serverless.yml's provider.environment sets it for every function (the peers keep
    // their own allocators' defaults).
    env: { ...bench.childEnv, MALLOC_MMAP_THRESHOLD_: '131072' },
    scratch: bench.scratch,
  });
  const line = run.stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (!line)
    throw new Error(
      `lifeboat ${request.mode} printed no result:\n${run.stdout.slice(-1000)}${run.stderr.slice(-1000)}`,
    );
  return { run, report: JSON.parse(line.slice(RESULT_PREFIX.length)) as PhaseReport };
}

function lifeboatDetail(bench: Bench, run: TimedRun, report: PhaseReport): Row['detail'] {
  const { tally } = report;
  // What the backup side read, per region (each region has one backup bucket).
  const backupDown = Object.entries(tally.bytesDownByBucket ?? {})
    .filter(([bucket]) => bench.buckets.get(bucket)?.kind === 'backup')
    .map(([bucket, bytes]) => [bench.buckets.get(bucket)?.region ?? bucket, bytes] as const);
  return {
    backupBytesRead: backupDown.reduce((sum, [, bytes]) => sum + bytes, 0),
    ...Object.fromEntries(
      backupDown.map(([region, bytes]) => [`backupBytesRead:${region}`, bytes]),
    ),
    phaseMs: report.phaseMs,
    processMs: run.ms,
    startRssMiB: report.startRssKiB / 1024,
    sdkCommands: Object.values(tally.commands).reduce((a, b) => a + b, 0),
    sdkAttempts: tally.attempts,
    sdkBytesUp: tally.bytesUp,
    sdkBytesDown: tally.bytesDown,
    ...(report.memory
      ? {
          peakHeapUsedMiB: report.memory.heapUsed,
          peakExternalMiB: report.memory.external,
          peakArrayBuffersMiB: report.memory.arrayBuffers,
        }
      : {}),
  };
}

/** lifeboat's scheduled path (runSnapshots: snapshot, retention, event), as the Lambda runs it. */
async function lifeboatSnapshot(
  bench: Bench,
  phase: 'full' | 'incremental',
  tool = 'lifeboat',
): Promise<Row> {
  const { instance } = bench;
  const captured = await capture(bench, () =>
    runLifeboat(bench, {
      mode: 'snapshot',
      configPath: DEFAULT_CONFIG_PATH,
      instanceId: instance.id,
    }),
  );
  const { run, report } = captured.value;
  const outcome = report.result as SnapshotOutcome | undefined;
  if (outcome?.status !== 'committed') {
    throw new Error(
      `lifeboat ${phase} snapshot did not commit: ${JSON.stringify(outcome).slice(0, 400)}`,
    );
  }
  const result = outcome.result;
  const expectUnchanged = phase === 'full' ? 0 : bench.current.size - bench.changed.length;
  if (
    result.objectsUnchanged !== expectUnchanged ||
    result.regionsCommitted.length !== instance.replicaRegions.length
  ) {
    throw new Error(
      `lifeboat ${phase}: ${result.objectsUnchanged} unchanged (expected ${expectUnchanged}), committed in ${result.regionsCommitted.join(',')}`,
    );
  }
  return toRow(
    bench,
    { phase, tool, regions: instance.replicaRegions.length },
    captured,
    run.maxRssKb / 1024,
    {
      snapshotId: result.snapshotId,
      takeSnapshotMs: result.durationMs,
      objectCount: result.objectCount,
      objectsUnchanged: result.objectsUnchanged,
      bytesRead: result.bytesRead,
      packBytesUploaded: result.bytesUploaded,
      packsUploaded: result.packsUploaded,
      ...lifeboatDetail(bench, run, report),
    },
  );
}

function awsArgs(
  bench: Bench,
  from: string,
  to: string,
  region: string,
  sourceRegion: string,
): string[] {
  return [
    's3',
    'sync',
    from,
    to,
    '--endpoint-url',
    bench.moto.endpoint,
    '--region',
    region,
    '--source-region',
    sourceRegion,
    '--only-show-errors',
    '--no-progress',
  ];
}

/** `aws s3 sync` of the instance's prefix into every replica region's backup bucket, concurrently. */
async function awsSyncBackup(
  bench: Bench,
  phase: 'full' | 'incremental',
  run: number,
): Promise<Row> {
  const { instance } = bench;
  const source = `s3://${bucketOf(bench, instance.homeRegion, 'instanceStore')}/${instance.id}/`;
  const captured = await capture(bench, () =>
    Promise.all(
      instance.replicaRegions.map((region) =>
        runTimed(
          'aws',
          awsArgs(
            bench,
            source,
            `s3://${bucketOf(bench, region, 'backup')}/s3sync/run-${run}/`,
            region,
            instance.homeRegion,
          ),
          { env: bench.childEnv, scratch: bench.scratch },
        ),
      ),
    ),
  );
  // awscli copies objects above its 8 MiB multipart threshold in parts: a create and a
  // complete POST per object, around the part copies.
  const copies =
    captured.requests.filter((r) => r.operation === 'PutObject').length +
    captured.requests.filter((r) => r.operation === 'MultipartPOST').length / 2;
  const expected =
    (phase === 'full' ? bench.current.size : bench.changed.length) * instance.replicaRegions.length;
  if (copies !== expected)
    throw new Error(`aws s3 sync ${phase}: ${copies} copies, expected ${expected}`);
  return toRow(
    bench,
    {
      phase,
      tool: `aws s3 sync ×${instance.replicaRegions.length}`,
      regions: instance.replicaRegions.length,
    },
    captured,
    sumRss(captured.value),
    {
      processes: captured.value.length,
      maxRssPerProcessMiB: Math.max(...captured.value.map((r) => r.maxRssKb)) / 1024,
    },
    true,
  );
}

function sumRss(runs: readonly TimedRun[]): number {
  return runs.reduce((sum, r) => sum + r.maxRssKb, 0) / 1024;
}

function resticEnv(bench: Bench, run: number): NodeJS.ProcessEnv {
  return {
    ...bench.childEnv,
    RESTIC_REPOSITORY: `s3:${bench.moto.endpoint}/${bucketOf(bench, bench.instance.homeRegion, 'backup')}/restic/run-${run}`,
    RESTIC_PASSWORD,
    RESTIC_CACHE_DIR: join(bench.scratch, `restic-cache-${run}`),
  };
}

function resticSummary(stdout: string): Record<string, number> {
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const message = JSON.parse(line) as Record<string, unknown>;
      if (message.message_type === 'summary') {
        return Object.fromEntries(
          [
            'files_new',
            'files_changed',
            'files_unmodified',
            'data_added',
            'total_bytes_processed',
          ].map((k) => [k, Number(message[k] ?? 0)]),
        );
      }
    } catch {
      // Status lines that are not JSON.
    }
  }
  return {};
}

/** restic backing up a local copy of the same objects into one region's backup bucket. */
async function resticBackup(
  bench: Bench,
  phase: 'full' | 'incremental',
  run: number,
): Promise<Row> {
  const env = resticEnv(bench, run);
  const captured = await capture(bench, () =>
    runTimed('restic', ['backup', '--json', '--host', 'bench', '-o', 's3.region=us-east-1', '.'], {
      env,
      cwd: bench.dataDir,
      scratch: bench.scratch,
    }),
  );
  const summary = resticSummary(captured.value.stdout);
  return toRow(
    bench,
    { phase, tool: 'restic (1 region)', regions: 1 },
    captured,
    captured.value.maxRssKb / 1024,
    summary,
  );
}

async function lifeboatRestore(bench: Bench): Promise<Row> {
  const { instance } = bench;
  const captured = await capture(bench, () =>
    runLifeboat(bench, {
      mode: 'restore',
      configPath: DEFAULT_CONFIG_PATH,
      instanceId: instance.id,
      from: bench.restoreFrom,
      into: bench.restoreInto,
    }),
  );
  const { run, report } = captured.value;
  const result = report.result as RestoreResult;
  if (result.objectsWritten !== bench.current.size) {
    throw new Error(
      `lifeboat restore wrote ${result.objectsWritten} of ${bench.current.size} objects`,
    );
  }
  await expectSameAsSource(
    bench,
    bucketOf(bench, bench.restoreInto, 'instanceStore'),
    `${instance.id}/`,
  );
  return toRow(
    bench,
    { phase: 'restore', tool: 'lifeboat', regions: 1 },
    captured,
    run.maxRssKb / 1024,
    {
      snapshotId: result.snapshotId,
      objectsWritten: result.objectsWritten,
      ...lifeboatDetail(bench, run, report),
    },
  );
}

async function awsSyncRestore(bench: Bench, run: number): Promise<Row> {
  const from = `s3://${bucketOf(bench, bench.restoreFrom, 'backup')}/s3sync/run-${run}/`;
  const intoBucket = bucketOf(bench, bench.restoreInto, 'instanceStore');
  const captured = await capture(bench, () =>
    runTimed(
      'aws',
      awsArgs(
        bench,
        from,
        `s3://${intoBucket}/s3sync-restore/run-${run}/`,
        bench.restoreInto,
        bench.restoreFrom,
      ),
      {
        env: bench.childEnv,
        scratch: bench.scratch,
      },
    ),
  );
  await expectSameAsSource(bench, intoBucket, `s3sync-restore/run-${run}/`);
  return toRow(
    bench,
    { phase: 'restore', tool: 'aws s3 sync', regions: 1 },
    captured,
    captured.value.maxRssKb / 1024,
    {},
    true,
  );
}

async function resticRestore(bench: Bench, run: number): Promise<Row> {
  const target = join(bench.scratch, `restic-restore-${run}`);
  const captured = await capture(bench, () =>
    runTimed('restic', ['restore', 'latest', '--target', target, '-o', 's3.region=us-east-1'], {
      env: resticEnv(bench, run),
      scratch: bench.scratch,
    }),
  );
  let mismatched = 0;
  for (const [key, body] of bench.current) {
    let restored: Buffer | undefined;
    try {
      restored = readFileSync(join(target, key));
    } catch {
      restored = undefined;
    }
    if (!restored?.equals(body)) mismatched += 1;
  }
  if (mismatched > 0)
    throw new Error(`restic restore: ${mismatched} file(s) differ from the source`);
  rmSync(target, { recursive: true, force: true });
  return toRow(
    bench,
    { phase: 'restore', tool: 'restic (to local disk)', regions: 1 },
    captured,
    captured.value.maxRssKb / 1024,
    {},
  );
}

/** Checks a restored prefix against the source by listing: same keys, sizes and ETags (MD5). */
async function expectSameAsSource(bench: Bench, bucket: string, prefix: string): Promise<void> {
  const client = (region: string) => s3ClientFor({ region });
  const list = async (b: string, p: string, region: string) => {
    const out = new Map<string, string>();
    for await (const page of paginateListObjectsV2(
      { client: client(region) },
      { Bucket: b, Prefix: p },
    )) {
      for (const o of page.Contents ?? [])
        if (o.Key) out.set(o.Key.slice(p.length), `${o.Size}:${o.ETag}`);
    }
    return out;
  };
  const { instance } = bench;
  const source = await list(
    bucketOf(bench, instance.homeRegion, 'instanceStore'),
    `${instance.id}/`,
    instance.homeRegion,
  );
  const copy = await list(bucket, prefix, bench.restoreInto);
  // A multipart copy (awscli above 8 MiB) has an ETag of its own (`…-N`): compare sizes there.
  const same = (a: string | undefined, b: string) =>
    a === b ||
    (a !== undefined &&
      (a.includes('-') || b.includes('-')) &&
      a.split(':')[0] === b.split(':')[0]);
  const differ = [...source].filter(([k, v]) => !same(copy.get(k), v)).length;
  if (differ > 0 || copy.size !== source.size) {
    throw new Error(
      `restore into s3://${bucket}/${prefix}: ${differ} object(s) differ, ${copy.size}/${source.size} present`,
    );
  }
}

/** Empties what a previous run left where lifeboat writes, so each run's "full" is really full. */
async function resetLifeboatState(bench: Bench): Promise<void> {
  const { config, instance } = bench;
  for (const region of instance.replicaRegions) {
    const vault = backupVault(config, region);
    const keys = (await vault.list(`instances/${instance.id}/`)).map((b) => b.key);
    if (keys.length) await vault.delete(keys);
  }
  const target = instanceStore(config, bench.restoreInto);
  const keys = (await target.list(instance.id)).map((e) => e.key);
  if (keys.length) await target.delete(instance.id, keys);
}

async function applyChange(bench: Bench, run: number): Promise<void> {
  const store = instanceStore(bench.config, bench.instance.homeRegion);
  for (const key of bench.changed) {
    const body = revise(bench.current.get(key) as Buffer, run);
    bench.current.set(key, body);
    await store.write(bench.instance.id, key, body);
    writeFileSync(join(bench.dataDir, key), body);
  }
}

async function oneRun(bench: Bench, run: number): Promise<Row[]> {
  const say = (s: string) => console.log(`  run ${run}: ${s}`);
  await resetLifeboatState(bench);
  // lifeboat's metadata cache (the Lambda's /tmp), fresh per run as restic's cache is.
  bench.childEnv.LIFEBOAT_CACHE_DIR = join(bench.scratch, `lifeboat-cache-${run}`);
  const peers = bench.peers === 'all';
  if (peers)
    await runTimed('restic', ['init', '-o', 's3.region=us-east-1'], {
      env: resticEnv(bench, run),
      scratch: bench.scratch,
    });
  const rows: Row[] = [];
  const note = (row: Row) => {
    rows.push(row);
    say(
      `${row.phase.padEnd(11)} ${row.tool.padEnd(22)} ${(row.wallMs / 1000).toFixed(2).padStart(7)} s ${String(row.s3Requests).padStart(6)} req`,
    );
  };
  note(await lifeboatSnapshot(bench, 'full'));
  if (peers) note(await awsSyncBackup(bench, 'full', run));
  if (peers) note(await resticBackup(bench, 'full', run));
  // s3 sync compares sizes and modification times at one-second resolution.
  await new Promise((r) => setTimeout(r, 1100));
  await applyChange(bench, run);
  note(await lifeboatSnapshot(bench, 'incremental'));
  if (peers) note(await awsSyncBackup(bench, 'incremental', run));
  if (peers) note(await resticBackup(bench, 'incremental', run));
  note(await lifeboatRestore(bench));
  if (peers) note(await awsSyncRestore(bench, run));
  if (peers) note(await resticRestore(bench, run));
  // A cold start (a Lambda whose /tmp is new): the same change size again, on an empty
  // metadata cache. Last, so the restores above restore the state every tool backed up.
  await applyChange(bench, run + 1000);
  const warm = bench.childEnv.LIFEBOAT_CACHE_DIR;
  bench.childEnv.LIFEBOAT_CACHE_DIR = join(bench.scratch, `lifeboat-cache-${run}-cold`);
  note(await lifeboatSnapshot(bench, 'incremental', 'lifeboat, cold cache'));
  bench.childEnv.LIFEBOAT_CACHE_DIR = warm;
  return rows;
}

async function main(): Promise<void> {
  const options = parseOptions();
  const startedAt = new Date();
  const t0 = performance.now();
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-bench-'));
  const logFile = join(scratch, 'moto.log');
  const logFd = openSync(logFile, 'w');
  const moto = await startMoto({ logFile: logFd });
  try {
    useLocalEndpoint(moto.endpoint);
    const config = loadConfig(DEFAULT_CONFIG_PATH);
    const instance = config.instances.find((i) => i.replicaRegions.length >= 3);
    if (!instance)
      throw new Error('the embedded config has no instance with three replica regions');
    const restoreInto = config.regions.find((r) => !instance.replicaRegions.includes(r.name))?.name;
    const restoreFrom = instance.replicaRegions.filter((r) => r !== instance.homeRegion).at(-1);
    if (!restoreInto || !restoreFrom)
      throw new Error('need a region outside the replica set to restore into');

    const buckets: Bench['buckets'] = new Map();
    for (const region of config.regions) {
      const b = regionBuckets(config, region);
      buckets.set(b.backup, { kind: 'backup', region: region.name });
      buckets.set(b.instanceStore, { kind: 'instanceStore', region: region.name });
      buckets.set(b.control, { kind: 'control', region: region.name });
    }
    const bundle = join(scratch, 'lifeboat-phase.cjs');
    // The same shape as the Lambda bundles (serverless-esbuild: bundle, node22, CommonJS).
    await build({
      entryPoints: [join(HERE, 'lifeboat-phase.ts')],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      logLevel: 'error',
    });

    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_CONFIG_FILE: join(scratch, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    };
    delete childEnv.AWS_PROFILE;
    delete childEnv.AWS_SESSION_TOKEN;

    console.log(`moto_server at ${moto.endpoint} (pid ${moto.pid}); scratch ${scratch}`);
    await provisionWorld(config);
    const apis = apisFor(options.objects);
    const documents = sampleInstanceObjects({ apis, seed: 7 });
    const keys = [...documents.keys()].sort();
    const objects = new Map([...documents, ...largeObjects(options.large, options.largeMiB)]);
    const dataDir = join(scratch, 'data');
    for (const [key, body] of objects) {
      mkdirSync(dirname(join(dataDir, key)), { recursive: true });
      writeFileSync(join(dataDir, key), body);
    }
    await seedInstance(instanceStore(config, instance.homeRegion), instance.id, objects);
    const bytesTotal = [...objects.values()].reduce((s, b) => s + b.length, 0);
    const changed = changeSet(keys, objects.size, options.changePercent);
    console.log(
      `seeded ${instance.id} in ${instance.homeRegion}: ${objects.size} objects, ${(bytesTotal / 1024).toFixed(0)} KiB; ${changed.length} change per run`,
    );

    const bench: Bench = {
      config,
      instance,
      moto,
      log: new RequestLog(logFile, moto.endpoint),
      bundle,
      scratch,
      dataDir,
      childEnv,
      buckets,
      restoreFrom,
      restoreInto,
      current: new Map(objects),
      changed,
      peers: options.peers,
    };
    const code = measuredCode(bundle);
    const awsStartMs = (await runTimed('aws', ['--version'], { env: childEnv, scratch })).ms;

    const runs: Row[][] = [];
    for (let run = 1; run <= options.runs; run += 1) runs.push(await oneRun(bench, run));
    const med = medianRows(runs);
    const ratioList = ratios(med);

    const results = {
      benchmark: 'snapshot',
      generatedAt: startedAt.toISOString(),
      command: `npm run bench:snapshot -- --objects ${options.objects} --change-percent ${options.changePercent} --runs ${options.runs}${options.large ? ` --large ${options.large} --large-mib ${options.largeMiB}` : ''}${options.peers === 'none' ? ' --peers none' : ''}`,
      totalSeconds: (performance.now() - t0) / 1000,
      machine: {
        ...machine(),
        moto: motoVersion(moto.pid),
        awscli: toolVersion('aws', ['--version']),
        restic: toolVersion('restic', ['version']),
        awsCliStartupMs: awsStartMs,
      },
      code,
      parameters: {
        instance: instance.id,
        sourceRegion: instance.homeRegion,
        replicaRegions: instance.replicaRegions,
        restoreFrom,
        restoreInto,
        objects: objects.size,
        sampleApis: apis,
        largeObjects: options.large,
        largeObjectMiB: options.largeMiB,
        peers: options.peers,
        bytesTotal,
        changePercent: options.changePercent,
        changedObjects: changed.length,
        runs: options.runs,
      },
      notes: [
        'Every number is the median of the runs, each field on its own.',
        'S3 requests are counted from moto_server’s access log between marker requests (every client alike, retries included).',
        'aws s3 sync copies bucket to bucket (CopyObject, server side); its PUTs are CopyObject.',
        'restic backs up a local directory holding the same objects, into one region only; lifeboat and aws s3 sync read the source from S3 and write three regions.',
        'restic restore writes to local disk, not to S3.',
      ],
      median: med,
      ratios: ratioList,
      runs,
    };
    writeResultsFile(options.results, results);
    console.log(
      `\n${objects.size} objects (${(bytesTotal / 1024).toFixed(0)} KiB), ${changed.length} changed, median of ${options.runs} run(s):\n`,
    );
    console.log(markdownTable(med));
    console.log(`\nlifeboat ÷ peer (below 1: lifeboat used less):\n`);
    console.log(markdownRatios(ratioList));
    console.log(`\nwrote ${options.results} (${results.totalSeconds.toFixed(0)} s in all)`);
  } finally {
    await moto.stop();
    closeSync(logFd);
    if (!options.keepScratch) rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
