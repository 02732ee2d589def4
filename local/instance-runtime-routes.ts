import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { InstanceStore } from '../shared/domain/ports.ts';
import { StorageUnavailableError } from '../shared/errors.ts';
import type { ConfigReloader, RuntimeStatus } from './instance-runtime-reload.ts';
import { messageOf } from './instance-runtime-reload.ts';

/** The instance runtime's HTTP routes: health, readiness, the APIs it serves, and the admin API. */

/** Largest request body the admin endpoint accepts. */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;
/** Longest config key, in UTF-8 bytes (S3's own key limit). */
export const MAX_KEY_BYTES = 1024;
/** Past this many bytes an oversized body is no longer drained but the connection is dropped. */
const MAX_DRAIN_BYTES = 8 * MAX_BODY_BYTES;

/** What the routes need of the runtime that serves them. */
export interface RouteHost {
  readonly instanceId: string;
  readonly region: string;
  readonly store: InstanceStore;
  readonly loaded: ConfigReloader;
  readonly fenced: boolean;
  fence(): Promise<void>;
  unfence(): void;
  status(): RuntimeStatus;
  /** Runs an admin write the fence must wait for. */
  track(change: Promise<unknown>): Promise<void>;
}

/**
 * Why a config key is refused, or undefined when it is fine. Keys are relative to the instance,
 * so a leading `/`, a `.`/`..` segment or an empty segment could only name something else.
 */
export function configKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'the key is empty';
  if (key.startsWith('/')) return 'the key must not start with "/"';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    return `the key is ${bytes} bytes long; the limit is ${MAX_KEY_BYTES}`;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'the key contains a control character';
  for (const segment of key.split('/')) {
    if (segment === '..') return 'the key must not contain a ".." segment';
    if (segment === '.') return 'the key must not contain a "." segment';
    if (segment === '') return 'the key must not contain an empty segment ("//" or a trailing "/")';
  }
  return undefined;
}
function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  const bytes = Buffer.from(`${JSON.stringify(body)}\n`);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': bytes.length,
    ...headers,
  });
  res.end(bytes);
}

/** Reads a request body, up to `limit` bytes; 'too-large' once it is clear the body is bigger. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const parts: Buffer[] = [];
    let received = 0;
    let over = Number.isFinite(declared) && declared > limit;
    if (over) resolve('too-large');
    req.on('data', (part: Buffer) => {
      received += part.length;
      if (received > MAX_DRAIN_BYTES) {
        // Beyond a sane drain the client is not going to stop: cut it off.
        req.socket.destroy();
        return;
      }
      if (over) return;
      if (received > limit) {
        over = true;
        parts.length = 0;
        resolve('too-large');
        return;
      }
      parts.push(part);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(parts));
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away before sending the whole body'));
    });
  });
}

/** The path of a request target, still percent-encoded, without its query. */
function rawPathOf(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

function decode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
/** Answers one zone's requests for the runtime `host`. */
export class RuntimeRoutes {
  constructor(private readonly host: RouteHost) {}

  private get configDigest(): string | null {
    return this.host.loaded.digest;
  }

  private get config() {
    return this.host.loaded.config;
  }

  async handle(zone: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-lifeboat-instance', this.host.instanceId);
    res.setHeader('x-lifeboat-region', this.host.region);
    res.setHeader('x-lifeboat-zone', zone);
    try {
      await this.route(zone, req, res);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, 500, { error: 'internal error', detail: messageOf(error) });
    }
  }

  private async route(zone: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    // HEAD is answered as GET; node:http leaves the body out.
    const method = (req.method ?? 'GET').toUpperCase();
    const read = method === 'GET' || method === 'HEAD';
    const rawPath = rawPathOf(req.url);

    if (rawPath === '/health') {
      if (!read) return this.notAllowed(res, 'GET');
      return sendJson(res, 200, { ...this.host.status(), zone }, { 'cache-control': 'no-store' });
    }
    // Readiness, for the Route 53 check the DNS record is tied to: 200 only while this region
    // serves the instance's config. A standby without it must fail, or Route 53 would send
    // clients here once the weighted records are unhealthy (deploy/lifeboat.cjs).
    if (rawPath === '/ready') {
      if (!read) return this.notAllowed(res, 'GET');
      // An empty store is a standby, not an instance: it has nothing to serve.
      const ready = (this.config?.objects.size ?? 0) > 0;
      return sendJson(
        res,
        ready ? 200 : 503,
        { ready, instanceId: this.host.instanceId, configDigest: this.configDigest, zone },
        { 'cache-control': 'no-store' },
      );
    }
    if (rawPath === '/apis') {
      if (!read) return this.notAllowed(res, 'GET');
      return sendJson(res, 200, { apis: [...(this.config?.apis.keys() ?? [])].sort() });
    }
    if (rawPath.startsWith('/apis/')) {
      if (!read) return this.notAllowed(res, 'GET');
      const name = decode(rawPath.slice('/apis/'.length));
      const body = name === undefined ? undefined : this.config?.apis.get(name);
      if (!body) return sendJson(res, 404, { error: 'no such API', name: name ?? rawPath });
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': body.length,
      });
      res.end(body);
      return;
    }
    if (rawPath === '/admin/config' || rawPath.startsWith('/admin/config/')) {
      return this.adminConfig(method, rawPath, req, res);
    }
    if (rawPath === '/admin/fence' || rawPath === '/admin/unfence') {
      if (method !== 'POST') return this.notAllowed(res, 'POST');
      if (rawPath === '/admin/fence') await this.host.fence();
      else this.host.unfence();
      return sendJson(res, 200, { fenced: this.host.fenced, configDigest: this.configDigest });
    }
    if (rawPath === '/admin/reload') {
      if (method !== 'POST') return this.notAllowed(res, 'POST');
      const result = await this.host.loaded.reload();
      return sendJson(res, result.ok ? 200 : 503, result);
    }
    if (rawPath.startsWith('/admin/')) {
      return sendJson(res, 404, { error: 'no such admin route', path: rawPath });
    }

    const path = decode(rawPath) ?? rawPath;
    const route = this.config?.routes.get(path);
    if (!route) return sendJson(res, 404, { error: 'no API serves this path', path });
    const operation =
      method === 'HEAD' && !route.methods.has('head') ? 'get' : method.toLowerCase();
    if (!route.methods.has(operation)) {
      return this.notAllowed(
        res,
        [...route.methods].map((m) => m.toUpperCase()).join(', '),
        `${route.api} does not define ${method} ${path}`,
      );
    }
    return sendJson(res, 200, {
      api: route.api,
      path,
      method,
      servedBy: { instanceId: this.host.instanceId, region: this.host.region, zone },
      configDigest: this.configDigest,
    });
  }

  private notAllowed(res: ServerResponse, allow: string, detail?: string): void {
    sendJson(
      res,
      405,
      { error: 'method not allowed', allow, ...(detail ? { detail } : {}) },
      { allow },
    );
  }

  private async adminConfig(
    method: string,
    rawPath: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    if (rawPath === '/admin/config') {
      if (method !== 'GET' && method !== 'HEAD') return this.notAllowed(res, 'GET');
      return sendJson(res, 200, {
        keys: [...(this.config?.objects.keys() ?? [])].sort(),
        configDigest: this.configDigest,
      });
    }
    const key = decode(rawPath.slice('/admin/config/'.length));
    if (key === undefined) {
      return sendJson(res, 400, { error: 'bad key: not valid percent-encoding', key: rawPath });
    }
    const problem = configKeyProblem(key);
    if (problem) return sendJson(res, 400, { error: `bad key: ${problem}`, key });

    switch (method) {
      case 'GET':
      case 'HEAD':
        return this.readObject(key, res);
      case 'PUT':
        return this.writeObject(key, req, res);
      case 'DELETE':
        return this.deleteObject(key, res);
      default:
        return this.notAllowed(res, 'GET, PUT, DELETE');
    }
  }

  private async readObject(key: string, res: ServerResponse): Promise<void> {
    const known = this.config?.objects.get(key);
    if (!known) return sendJson(res, 404, { error: 'no such key', key });
    let started = false;
    try {
      for await (const part of this.host.store.read(this.host.instanceId, key)) {
        if (!started) {
          res.writeHead(200, {
            'content-type': 'application/octet-stream',
            'x-content-sha256': known.sha256,
          });
          started = true;
        }
        res.write(part);
      }
    } catch (error) {
      if (started) throw error;
      // Not evidence of an unreachable store: the adapter cannot tell a vanished key apart.
      return this.storeFailed(res, error, false);
    }
    if (!started) res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end();
  }

  private async writeObject(key: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.host.fenced) return sendJson(res, 409, { error: 'fenced', key });
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === 'too-large') {
      return sendJson(res, 413, {
        error: `body too large: the limit is ${MAX_BODY_BYTES} bytes`,
        key,
      });
    }
    // Checked again: a fence may have come while the body was on its way.
    if (this.host.fenced) return sendJson(res, 409, { error: 'fenced', key });
    const write = this.host.store.write(this.host.instanceId, key, body);
    try {
      await this.host.track(write);
    } catch (error) {
      return this.storeFailed(res, error);
    }
    return this.afterChange(res, { key, size: body.length });
  }

  private async deleteObject(key: string, res: ServerResponse): Promise<void> {
    if (this.host.fenced) return sendJson(res, 409, { error: 'fenced', key });
    if (!this.config?.objects.has(key)) return sendJson(res, 404, { error: 'no such key', key });
    const removal = this.host.store.delete(this.host.instanceId, [key]);
    try {
      await this.host.track(removal);
    } catch (error) {
      return this.storeFailed(res, error);
    }
    return this.afterChange(res, { key, deleted: true });
  }

  private async afterChange(res: ServerResponse, detail: Record<string, unknown>): Promise<void> {
    const result = await this.host.loaded.reload();
    sendJson(res, 200, {
      ...detail,
      configDigest: result.configDigest,
      // The change landed either way; a failed reload only means the digest may be stale.
      reloaded: result.ok,
      ...(result.error ? { reloadError: result.error } : {}),
    });
  }

  private storeFailed(res: ServerResponse, error: unknown, unreachable = true): void {
    if (error instanceof StorageUnavailableError) {
      if (unreachable) this.host.loaded.markUnreachable(error.message);
      sendJson(res, 503, { error: 'instance store unavailable', detail: error.message });
      return;
    }
    throw error;
  }
}
