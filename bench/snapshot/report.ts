/** One measured phase of one tool in one run; also the shape of a median row. */
export interface Row {
  phase: 'full' | 'incremental' | 'restore';
  tool: string;
  /** Regions the tool wrote (backups) or restored from. */
  regions: number;
  wallMs: number;
  /** Every S3 request moto logged in the phase (retries included). */
  s3Requests: number;
  puts: number;
  gets: number;
  lists: number;
  otherS3: number;
  /** S3 requests that touched the backup buckets (for lifeboat: packs, manifests, commits, GC). */
  backupRequests: number;
  /** HTTP errors (4xx/5xx) among them; restic and the SDK probe for absent keys on purpose. */
  errorResponses: number;
  /** Requests to moto that were not S3 (lifeboat's "Snapshot Completed" event). */
  nonS3Requests: number;
  /** Sum of the sizes of the objects PUT or copied (bucket listing afterwards). */
  bytesWritten: number;
  /** Peak RSS of the measured process(es), MiB; summed over concurrent processes. */
  peakRssMiB: number;
  /** CPU seconds moto_server spent serving the phase. */
  motoCpuS: number;
  /** The machine's 1-minute load average when the phase ended: others may share the cores. */
  load1: number;
  byOperation: Record<string, number>;
  /** Tool-specific detail (lifeboat's result counters, SDK tallies, restic's summary). */
  detail: Record<string, number | string | boolean>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const NUMERIC: (keyof Row)[] = [
  'regions',
  'wallMs',
  's3Requests',
  'puts',
  'gets',
  'lists',
  'otherS3',
  'backupRequests',
  'errorResponses',
  'nonS3Requests',
  'bytesWritten',
  'peakRssMiB',
  'motoCpuS',
  'load1',
];

/** Median of every numeric field, each field on its own, across runs of the same phase and tool. */
export function medianRows(runs: readonly (readonly Row[])[]): Row[] {
  const first = runs[0] ?? [];
  return first.map((template, index) => {
    const same = runs.map((r) => r[index]).filter((r): r is Row => r !== undefined);
    const row: Row = { ...template, byOperation: {}, detail: {} };
    for (const field of NUMERIC) {
      (row as unknown as Record<string, number>)[field] = median(
        same.map((r) => r[field] as number),
      );
    }
    const ops = new Set(same.flatMap((r) => Object.keys(r.byOperation)));
    for (const op of [...ops].sort())
      row.byOperation[op] = median(same.map((r) => r.byOperation[op] ?? 0));
    for (const [key, value] of Object.entries(template.detail)) {
      row.detail[key] =
        typeof value === 'number'
          ? median(same.map((r) => Number(r.detail[key] ?? Number.NaN)))
          : value;
    }
    return row;
  });
}

function kib(bytes: number): string {
  return (bytes / 1024).toLocaleString('en-US', { maximumFractionDigits: 0 });
}

/** The results as a Markdown table, for the terminal and docs/benchmarks.md alike. */
export function markdownTable(rows: readonly Row[]): string {
  const header = [
    'phase',
    'tool',
    'regions',
    'wall s',
    'S3 requests',
    'PUT/COPY',
    'GET',
    'LIST',
    'other S3',
    'to backup buckets',
    'written KiB',
    'peak RSS MiB',
    'moto CPU s',
  ];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
  ];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.phase,
        r.tool,
        String(r.regions),
        (r.wallMs / 1000).toFixed(2),
        String(Math.round(r.s3Requests)),
        String(Math.round(r.puts)),
        String(Math.round(r.gets)),
        String(Math.round(r.lists)),
        String(Math.round(r.otherS3)),
        String(Math.round(r.backupRequests)),
        kib(r.bytesWritten),
        r.peakRssMiB.toFixed(0),
        r.motoCpuS.toFixed(1),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** lifeboat ÷ peer for one metric; <1 means lifeboat used less. */
export interface Ratio {
  phase: Row['phase'];
  peer: string;
  wall: number;
  requests: number;
  bytesWritten: number;
  /** Requests to backup buckets per region written (or read, for a restore). */
  backupRequestsPerRegion: number;
  bytesWrittenPerRegion: number;
}

export function ratios(rows: readonly Row[]): Ratio[] {
  const out: Ratio[] = [];
  for (const phase of ['full', 'incremental', 'restore'] as const) {
    const mine = rows.find((r) => r.phase === phase && r.tool.startsWith('lifeboat'));
    if (!mine) continue;
    for (const peer of rows.filter((r) => r.phase === phase && !r.tool.startsWith('lifeboat'))) {
      out.push({
        phase,
        peer: peer.tool,
        wall: mine.wallMs / peer.wallMs,
        requests: mine.s3Requests / peer.s3Requests,
        bytesWritten: mine.bytesWritten / peer.bytesWritten,
        backupRequestsPerRegion:
          mine.backupRequests / mine.regions / (peer.backupRequests / peer.regions),
        bytesWrittenPerRegion:
          mine.bytesWritten / mine.regions / (peer.bytesWritten / peer.regions),
      });
    }
  }
  return out;
}

function times(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (x >= 10) return `${x.toFixed(0)}×`;
  if (x >= 1) return `${x.toFixed(1)}×`;
  if (x >= 0.1) return `${x.toFixed(2)}×`;
  return `${x.toPrecision(2)}×`;
}

export function markdownRatios(list: readonly Ratio[]): string {
  const lines = [
    '| phase | lifeboat ÷ … | wall time | S3 requests | bytes written | backup-bucket requests per region | bytes written per region |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of list) {
    lines.push(
      `| ${r.phase} | ${r.peer} | ${times(r.wall)} | ${times(r.requests)} | ${times(r.bytesWritten)} | ${times(r.backupRequestsPerRegion)} | ${times(r.bytesWrittenPerRegion)} |`,
    );
  }
  return lines.join('\n');
}
