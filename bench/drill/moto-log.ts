import { readFileSync } from 'node:fs';

/**
 * moto_server's access log (werkzeug, one line per HTTP request) cut into the drill's phases
 * at marker requests. The drill's own code is not touched: the benchmark sends a marker from
 * the drill's progress log when a phase starts, so a count can be off by the few requests in
 * flight at that moment.
 */

const LINE = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3})/;
/** A path no bucket can have (bucket names cannot contain `_`), so no lifeboat request matches. */
export const MARKER_PREFIX = '/bench_drill_marker/';

/** Requests of one phase, by the kind of AWS call (the log shows the path, not the API name). */
export interface RequestCounts {
  total: number;
  /** Path-style S3 calls: `/<bucket>/...`. */
  s3: number;
  /** S3 GETs of capacity slot documents (`capacity/<region>/slot-NNNN.json`). */
  s3CapacitySlotGets: number;
  /** S3 answers 4xx (mostly 404: absent documents such as free slots). */
  s3Errors: number;
  /** Route 53 control-plane calls: `/2013-04-01/...`. */
  route53: number;
  /** `POST /`: the JSON protocols, SQS (the pump) and EventBridge (PutEvents, rules). */
  jsonProtocol: number;
}

/** No request yet: the counts of a phase moto logged nothing for. */
export const emptyCounts = (): RequestCounts => ({
  total: 0,
  s3: 0,
  s3CapacitySlotGets: 0,
  s3Errors: 0,
  route53: 0,
  jsonProtocol: 0,
});

function count(counts: RequestCounts, method: string, path: string, status: number): void {
  counts.total += 1;
  if (path.startsWith('/2013-04-01/')) {
    counts.route53 += 1;
    return;
  }
  const [rawPath = ''] = path.split('?', 1);
  if (rawPath === '/' || rawPath === '') {
    counts.jsonProtocol += 1;
    return;
  }
  counts.s3 += 1;
  if (status >= 400) counts.s3Errors += 1;
  if (method === 'GET' && /\/capacity\/[^/]+\/slot-\d+\.json$/.test(decodeURIComponent(rawPath)))
    counts.s3CapacitySlotGets += 1;
}

/**
 * Counts every request in the log, split at markers: the result maps each marker label to the
 * requests logged after it (and before the next marker); requests before the first marker go
 * under `before`.
 */
export function requestsByPhase(file: string): Record<string, RequestCounts> {
  const out: Record<string, RequestCounts> = { before: emptyCounts() };
  let current = out.before as RequestCounts;
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, method = '', path = '', status = '0'] = m;
    if (path.startsWith(MARKER_PREFIX)) {
      const label = path.slice(MARKER_PREFIX.length);
      current = out[label] ?? emptyCounts();
      out[label] = current;
      continue;
    }
    if (path.startsWith('/moto-api')) continue;
    count(current, method, path, Number(status));
  }
  return out;
}

/** Sums phase counts. */
export function sumCounts(parts: readonly RequestCounts[]): RequestCounts {
  const total = emptyCounts();
  for (const p of parts)
    for (const k of Object.keys(total) as (keyof RequestCounts)[]) total[k] += p[k];
  return total;
}
