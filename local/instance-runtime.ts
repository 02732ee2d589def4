import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import pLimit from 'p-limit';
import type { InstanceStore } from '../shared/domain/ports.ts';
import { configDigest } from '../shared/domain/snapshot/format.ts';
import { StorageUnavailableError } from '../shared/errors.ts';
import { listenOn } from './listen.ts';

/*
 * The reference API instance of the local world: what lifeboat protects, served for real.
 *
 * It is plain node:http on purpose. The runtime needs a dozen routes, and what matters is
 * control over each zone's listener and its sockets: a zone outage must close the listener
 * and reset the connections in flight (clients see ECONNRESET / ECONNREFUSED, a real fault),
 * then listen again on the same port. A framework would sit between us and exactly that.
 */

/** Largest request body the admin endpoint accepts. */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;
/** Longest config key, in UTF-8 bytes (S3's own key limit). */
export const MAX_KEY_BYTES = 1024;
/** Reads of one (re)load in flight at once. */
const READ_CONCURRENCY = 8;
/** Past this many bytes an oversized body is no longer drained but the connection is dropped. */
const MAX_DRAIN_BYTES = 8 * MAX_BODY_BYTES;

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const API_KEY = /^apis\/(.+)\.json$/;

/** Options of an {@link InstanceRuntime}. */
export interface InstanceRuntimeOptions {
  instanceId: string;
  region: string;
  /** One HTTP server per zone, so a zone can go down while the others answer. */
  zones: string[];
  store: InstanceStore;
  host?: '127.0.0.1';
  /** Fixed port per zone (a restarted process keeps its URLs); absent zones get a free port. */
  ports?: Record<string, number>;
  /** Re-read the store on this period too, so restores and outages show without a write. 0: off. */
  reloadIntervalMs?: number;
  /** Start fenced (a recovered instance that failback already fenced). */
  fenced?: boolean;
  /** Where operational messages go (load failures); default: nowhere. */
  log?: (message: string) => void;
}

/** One object of the loaded configuration. */
interface LoadedObject {
  key: string;
  etag: string;
  size: number;
  sha256: string;
  /** Kept for API definitions only: other objects are hashed and let go. */
  body?: Buffer;
}

/** One operation an OpenAPI document defines. */
interface Route {
  api: string;
  methods: Set<string>;
}

/** A configuration as loaded and indexed for serving. */
interface LoadedConfig {
  objects: Map<string, LoadedObject>;
  digest: string;
  apis: Map<string, Buffer>;
  routes: Map<string, Route>;
  problems: string[];
  loadedAt: Date;
}

/** What a reload did. */
export interface ReloadResult {
  ok: boolean;
  configDigest: string | null;
  objects: number;
  /** Why the reload failed; the last good configuration is still served. */
  error?: string;
}

/** What `/health` reports, less the zone that answers. */
export interface RuntimeStatus {
  status: 'ok';
  instanceId: string;
  region: string;
  /** `configDigest()` of the served objects, as snapshots compute it; null before the first load. */
  configDigest: string | null;
  objects: number;
  apis: number;
  fenced: boolean;
  /** False when the last attempt to read (or write) the store failed. */
  storeReachable: boolean;
  /** When the served configuration was read; null before the first load. */
  loadedAt: string | null;
  lastError?: string;
  /** API definitions that could not be served (not JSON, no `paths`), or clashing paths. */
  problems: string[];
}

interface ZoneServer {
  zone: string;
  port: number;
  server: Server | undefined;
  sockets: Set<Socket>;
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

/** The API name of an `apis/<name>.json` key, or undefined for other objects. */
export function apiNameOf(key: string): string | undefined {
  return API_KEY.exec(key)?.[1];
}

/**
 * Indexes API definitions by path: `paths` keys of each OpenAPI document, matched exactly.
 * Documents are taken in key order, so when two claim one path the first keeps it.
 */
export function buildRoutes(apis: ReadonlyMap<string, Uint8Array>): {
  routes: Map<string, Route>;
  problems: string[];
} {
  const routes = new Map<string, Route>();
  const problems: string[] = [];
  for (const name of [...apis.keys()].sort()) {
    let document: unknown;
    try {
      document = JSON.parse(Buffer.from(apis.get(name) as Uint8Array).toString('utf8'));
    } catch {
      problems.push(`apis/${name}.json: not valid JSON`);
      continue;
    }
    const paths = (document as { paths?: unknown } | null)?.paths;
    if (!paths || typeof paths !== 'object' || Array.isArray(paths)) {
      problems.push(`apis/${name}.json: no "paths" object`);
      continue;
    }
    for (const [path, item] of Object.entries(paths)) {
      if (!item || typeof item !== 'object') continue;
      const methods = new Set(
        Object.keys(item)
          .map((m) => m.toLowerCase())
          .filter((m) => HTTP_METHODS.has(m)),
      );
      if (methods.size === 0) continue;
      const owner = routes.get(path);
      if (owner) {
        problems.push(`apis/${name}.json: path ${path} is already served by ${owner.api}`);
        continue;
      }
      routes.set(path, { api: name, methods });
    }
  }
  return { routes, problems };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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

/**
 * One API-management instance in one region, served over HTTP from its config in the region's
 * instance store: one listener per zone, `/health` with the config digest, the APIs its OpenAPI
 * documents define, and an admin endpoint that writes config back to the store.
 */
export class InstanceRuntime {
  readonly instanceId: string;
  readonly region: string;
  private readonly store: InstanceStore;
  private readonly host: string;
  private readonly zoneServers: Map<string, ZoneServer>;
  private readonly reloadIntervalMs: number;
  private readonly log: (message: string) => void;
  private config: LoadedConfig | undefined;
  private storeReachable = true;
  private lastError: string | undefined;
  private fenced: boolean;
  /** Admin writes that passed the fence check and have not finished, so a fence can wait. */
  private readonly writesInFlight = new Set<Promise<unknown>>();
  private reloadChain: Promise<unknown> = Promise.resolve();
  private queuedReload: Promise<ReloadResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(options: InstanceRuntimeOptions) {
    if (!options.instanceId) throw new RangeError('InstanceRuntime: instanceId is empty');
    if (!options.region) throw new RangeError('InstanceRuntime: region is empty');
    if (options.zones.length === 0) throw new RangeError('InstanceRuntime: no zones given');
    if (new Set(options.zones).size !== options.zones.length) {
      throw new RangeError(`InstanceRuntime: zones repeat: ${options.zones.join(', ')}`);
    }
    for (const zone of Object.keys(options.ports ?? {})) {
      if (!options.zones.includes(zone)) {
        throw new RangeError(`InstanceRuntime: a port is given for unknown zone "${zone}"`);
      }
    }
    this.instanceId = options.instanceId;
    this.region = options.region;
    this.store = options.store;
    this.host = options.host ?? '127.0.0.1';
    this.reloadIntervalMs = options.reloadIntervalMs ?? 0;
    this.fenced = options.fenced ?? false;
    this.log = options.log ?? (() => undefined);
    this.zoneServers = new Map(
      options.zones.map((zone) => [
        zone,
        { zone, port: options.ports?.[zone] ?? 0, server: undefined, sockets: new Set() },
      ]),
    );
  }

  /**
   * Loads the config, then opens one listener per zone. A store that cannot be read does not
   * stop the start: the instance answers, and `/health` says the store is unreachable.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.reload();
    try {
      for (const zone of this.zoneServers.keys()) await this.startZone(zone);
    } catch (error) {
      await this.stop();
      throw error;
    }
    if (this.reloadIntervalMs > 0) {
      this.timer = setInterval(() => void this.reload(), this.reloadIntervalMs);
      this.timer.unref();
    }
  }

  /** Closes every zone's listener and resets its connections. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.zoneServers.keys()].map((zone) => this.stopZone(zone)));
  }

  /** Base URL of each zone's listener, e.g. `{ 'us-east-1a': 'http://127.0.0.1:40123' }`. */
  urls(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const z of this.zoneServers.values()) {
      if (z.port) out[z.zone] = `http://${this.host}:${z.port}`;
    }
    return out;
  }

  /** Takes one zone down for real: closes its listener and resets its open connections. */
  async stopZone(zone: string): Promise<void> {
    const z = this.zoneOf(zone);
    const server = z.server;
    if (!server) return;
    z.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of z.sockets) socket.resetAndDestroy();
    z.sockets.clear();
    await closed;
  }

  /** Opens a zone's listener; after a `stopZone`, on the same port. */
  async startZone(zone: string): Promise<void> {
    const z = this.zoneOf(zone);
    if (z.server) return;
    const server = createServer((req, res) => void this.handle(zone, req, res));
    server.on('connection', (socket) => {
      z.sockets.add(socket);
      socket.once('close', () => z.sockets.delete(socket));
    });
    z.port = await listenOn(
      server,
      z.port,
      `instance runtime ${this.instanceId} (${this.region}): zone ${zone}`,
      this.host,
    );
    z.server = server;
  }

  /** Stops accepting admin writes; resolves once the writes already accepted have landed. */
  async fence(): Promise<void> {
    this.fenced = true;
    await Promise.allSettled([...this.writesInFlight]);
  }

  /** Accepts admin writes again. */
  unfence(): void {
    this.fenced = false;
  }

  /** Digest of the served configuration (null before the first successful load). */
  get configDigest(): string | null {
    return this.config?.digest ?? null;
  }

  /** What `/health` reports, without the zone. */
  status(): RuntimeStatus {
    const config = this.config;
    return {
      status: 'ok',
      instanceId: this.instanceId,
      region: this.region,
      configDigest: config?.digest ?? null,
      objects: config?.objects.size ?? 0,
      apis: config?.apis.size ?? 0,
      fenced: this.fenced,
      storeReachable: this.storeReachable,
      loadedAt: config?.loadedAt.toISOString() ?? null,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      problems: config?.problems ?? [],
    };
  }

  /**
   * Re-reads the config from the store. Reloads run one at a time, and a call joins a reload
   * that is queued but not started (it will see everything written before the call). On
   * failure the last good config stays in service.
   */
  reload(): Promise<ReloadResult> {
    if (this.queuedReload) return this.queuedReload;
    const run = this.reloadChain.then(() => {
      this.queuedReload = undefined;
      return this.loadAndSwap();
    });
    this.queuedReload = run;
    this.reloadChain = run.catch(() => undefined);
    return run;
  }

  private async loadAndSwap(): Promise<ReloadResult> {
    try {
      this.config = await this.load();
      this.storeReachable = true;
      this.lastError = undefined;
      return { ok: true, configDigest: this.config.digest, objects: this.config.objects.size };
    } catch (error) {
      this.storeReachable = false;
      this.lastError = messageOf(error);
      this.log(`instance ${this.instanceId} (${this.region}): reload failed: ${this.lastError}`);
      return {
        ok: false,
        configDigest: this.configDigest,
        objects: this.config?.objects.size ?? 0,
        error: this.lastError,
      };
    }
  }

  private async load(): Promise<LoadedConfig> {
    // A listing can name an object that is gone by the time it is read (a restore or another
    // writer at work); one fresh attempt settles that without calling the store unreachable.
    for (let attempt = 1; ; attempt += 1) {
      const listing = await this.store.list(this.instanceId);
      try {
        return await this.readAll(listing);
      } catch (error) {
        if (attempt >= 2) throw error;
      }
    }
  }

  private async readAll(
    listing: readonly { key: string; etag: string; size: number }[],
  ): Promise<LoadedConfig> {
    const previous = this.config?.objects;
    const limit = pLimit(READ_CONCURRENCY);
    const loaded = await Promise.all(
      listing.map((entry) =>
        limit(async (): Promise<LoadedObject> => {
          const before = previous?.get(entry.key);
          // Same ETag and size: the same bytes, so a reload reads only what changed.
          if (
            before &&
            entry.etag !== '' &&
            before.etag === entry.etag &&
            before.size === entry.size
          ) {
            return before;
          }
          const keep = apiNameOf(entry.key) !== undefined;
          const hash = createHash('sha256');
          const parts: Buffer[] = [];
          let size = 0;
          for await (const part of this.store.read(this.instanceId, entry.key)) {
            hash.update(part);
            size += part.byteLength;
            if (keep) parts.push(Buffer.from(part));
          }
          return {
            key: entry.key,
            etag: entry.etag,
            size,
            sha256: hash.digest('hex'),
            ...(keep ? { body: Buffer.concat(parts) } : {}),
          };
        }),
      ),
    );
    const objects = new Map(loaded.map((o) => [o.key, o]));
    const apis = new Map<string, Buffer>();
    for (const o of loaded) {
      const name = apiNameOf(o.key);
      if (name !== undefined && o.body) apis.set(name, o.body);
    }
    const { routes, problems } = buildRoutes(apis);
    return {
      objects,
      digest: configDigest(loaded),
      apis,
      routes,
      problems,
      loadedAt: new Date(),
    };
  }

  private zoneOf(zone: string): ZoneServer {
    const z = this.zoneServers.get(zone);
    if (!z) {
      throw new RangeError(
        `instance runtime ${this.instanceId} (${this.region}) has no zone "${zone}"; zones: ${[
          ...this.zoneServers.keys(),
        ].join(', ')}`,
      );
    }
    return z;
  }

  private async handle(zone: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-lifeboat-instance', this.instanceId);
    res.setHeader('x-lifeboat-region', this.region);
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
      return sendJson(res, 200, { ...this.status(), zone }, { 'cache-control': 'no-store' });
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
        { ready, instanceId: this.instanceId, configDigest: this.configDigest, zone },
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
      if (rawPath === '/admin/fence') await this.fence();
      else this.unfence();
      return sendJson(res, 200, { fenced: this.fenced, configDigest: this.configDigest });
    }
    if (rawPath === '/admin/reload') {
      if (method !== 'POST') return this.notAllowed(res, 'POST');
      const result = await this.reload();
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
      servedBy: { instanceId: this.instanceId, region: this.region, zone },
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
      for await (const part of this.store.read(this.instanceId, key)) {
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
    if (this.fenced) return sendJson(res, 409, { error: 'fenced', key });
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === 'too-large') {
      return sendJson(res, 413, {
        error: `body too large: the limit is ${MAX_BODY_BYTES} bytes`,
        key,
      });
    }
    // Checked again: a fence may have come while the body was on its way.
    if (this.fenced) return sendJson(res, 409, { error: 'fenced', key });
    const write = this.store.write(this.instanceId, key, body);
    this.writesInFlight.add(write);
    try {
      await write;
    } catch (error) {
      return this.storeFailed(res, error);
    } finally {
      this.writesInFlight.delete(write);
    }
    return this.afterChange(res, { key, size: body.length });
  }

  private async deleteObject(key: string, res: ServerResponse): Promise<void> {
    if (this.fenced) return sendJson(res, 409, { error: 'fenced', key });
    if (!this.config?.objects.has(key)) return sendJson(res, 404, { error: 'no such key', key });
    const removal = this.store.delete(this.instanceId, [key]);
    this.writesInFlight.add(removal);
    try {
      await removal;
    } catch (error) {
      return this.storeFailed(res, error);
    } finally {
      this.writesInFlight.delete(removal);
    }
    return this.afterChange(res, { key, deleted: true });
  }

  /** Answers a change that has landed in the store, with the digest of the reloaded config. */
  private async afterChange(res: ServerResponse, detail: Record<string, unknown>): Promise<void> {
    const result = await this.reload();
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
      if (unreachable) {
        this.storeReachable = false;
        this.lastError = error.message;
      }
      sendJson(res, 503, { error: 'instance store unavailable', detail: error.message });
      return;
    }
    throw error;
  }
}
