import { readFileSync } from 'node:fs';

/**
 * moto_server's own access log (werkzeug writes one line per HTTP request) is the one request
 * counter that sees every client alike: the AWS SDK, awscli and restic. The benchmark brackets
 * each phase with marker requests and counts the lines between them.
 */

/** One HTTP request moto answered, classified as the S3 operation it was. */
export interface LoggedRequest {
  method: string;
  bucket: string;
  key: string;
  query: string;
  status: number;
  operation: string;
}

const LINE = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3})/;
const MARKER_PREFIX = '/bench-marker-';

/** Names the S3 operation of a path-style request; non-S3 (EventBridge's POST /) is `other:`. */
export function classify(method: string, path: string): Omit<LoggedRequest, 'status'> {
  const [rawPath = '', query = ''] = path.split('?', 2);
  const params = new URLSearchParams(query);
  const slash = rawPath.indexOf('/', 1);
  const bucket = decodeURIComponent(slash === -1 ? rawPath.slice(1) : rawPath.slice(1, slash));
  const key = slash === -1 ? '' : decodeURIComponent(rawPath.slice(slash + 1));
  const base = { method, bucket, key, query };
  if (bucket === '') return { ...base, operation: `other:${method} /` };
  if (key === '') {
    if (method === 'GET' && params.get('list-type') === '2')
      return { ...base, operation: 'ListObjectsV2' };
    if (method === 'GET' && params.has('versions'))
      return { ...base, operation: 'ListObjectVersions' };
    if (method === 'GET' && params.has('location'))
      return { ...base, operation: 'GetBucketLocation' };
    if (method === 'GET') return { ...base, operation: 'ListObjects' };
    if (method === 'HEAD') return { ...base, operation: 'HeadBucket' };
    if (method === 'POST' && params.has('delete')) return { ...base, operation: 'DeleteObjects' };
    return { ...base, operation: `${method}Bucket` };
  }
  if (params.has('uploadId') || params.has('uploads'))
    return { ...base, operation: `Multipart${method}` };
  switch (method) {
    case 'GET':
      return { ...base, operation: 'GetObject' };
    case 'HEAD':
      return { ...base, operation: 'HeadObject' };
    case 'PUT':
      // awscli's bucket-to-bucket sync sends CopyObject, which is also a PUT; callers rename it.
      return { ...base, operation: 'PutObject' };
    case 'DELETE':
      return { ...base, operation: 'DeleteObject' };
    default:
      return { ...base, operation: `${method}Object` };
  }
}

/** Reads moto's log file and cuts it into phases at marker requests. */
export class RequestLog {
  private sequence = 0;

  constructor(
    private readonly file: string,
    private readonly endpoint: string,
  ) {}

  /**
   * Sends a marker request and waits until moto has logged it. werkzeug logs a request when it
   * starts the response, so every request a client saw finish before the marker is above it.
   */
  async mark(): Promise<string> {
    this.sequence += 1;
    const label = `${MARKER_PREFIX}${this.sequence}-${Date.now()}`;
    await fetch(`${this.endpoint}${label}/x`).then((r) => r.arrayBuffer());
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (readFileSync(this.file, 'latin1').includes(label)) return label;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`moto never logged the marker ${label}: is its log going to ${this.file}?`);
  }

  /** Every request logged strictly between two markers. */
  between(begin: string, end: string): LoggedRequest[] {
    const text = readFileSync(this.file, 'latin1');
    const from = text.indexOf(begin);
    const to = text.indexOf(end, from);
    if (from === -1 || to === -1)
      throw new Error(`markers ${begin}..${end} not both in the moto log`);
    const out: LoggedRequest[] = [];
    for (const line of text
      .slice(text.indexOf('\n', from) + 1, text.lastIndexOf('\n', to))
      .split('\n')) {
      const m = LINE.exec(line);
      if (!m) continue;
      const [, method = '', path = '', status = '0'] = m;
      if (path.startsWith(MARKER_PREFIX) || path.startsWith('/moto-api')) continue;
      out.push({ ...classify(method, path), status: Number(status) });
    }
    return out;
  }
}

/** Counts requests by operation name, sorted for stable output. */
export function countByOperation(requests: readonly LoggedRequest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of requests) counts[r.operation] = (counts[r.operation] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}
