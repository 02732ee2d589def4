import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { InstanceStore } from '../shared/domain/ports.ts';
import { configDigest } from '../shared/domain/snapshot/format.ts';

/** Reloading the instance runtime's config from its store: read, hash, index, swap. */

/** Reads of one (re)load in flight at once. */
const READ_CONCURRENCY = 8;

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const API_KEY = /^apis\/(.+)\.json$/;

/** One object of the loaded configuration. */
export interface LoadedObject {
  key: string;
  etag: string;
  size: number;
  sha256: string;
  /** Kept for API definitions only: other objects are hashed and let go. */
  body?: Buffer;
}

/** One operation an OpenAPI document defines. */
export interface Route {
  api: string;
  methods: Set<string>;
}

/** A configuration as loaded and indexed for serving. */
export interface LoadedConfig {
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

/** The API name of an `apis/<name>.json` key, or undefined for other objects. */
export function apiNameOf(key: string): string | undefined {
  return API_KEY.exec(key)?.[1];
}

/**
 * The paths of an API Gateway REST API document (the apigateway kind's canonical form), as
 * the stand-in for execute-api serves them: `/<api name><resource path>`, one per resource
 * with methods. moto cannot invoke execute-api, so this is what drill traffic reaches.
 */
function restApiPaths(
  name: string,
  document: unknown,
): Record<string, Record<string, unknown>> | undefined {
  const doc = document as {
    kind?: unknown;
    resources?: Record<string, { methods?: Record<string, unknown> }>;
  } | null;
  if (doc?.kind !== 'rest-api' || !doc.resources || typeof doc.resources !== 'object')
    return undefined;
  const apiName = decodeURIComponent(name);
  return Object.fromEntries(
    Object.entries(doc.resources).map(([path, resource]) => [
      `/${apiName}${path === '/' ? '' : path}`,
      Object.fromEntries(
        Object.keys(resource?.methods ?? {}).map((verb) => [verb.toLowerCase(), {}]),
      ),
    ]),
  );
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
    const paths = (document as { paths?: unknown } | null)?.paths ?? restApiPaths(name, document);
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
/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The served configuration and how the last read of the store went. Reloads run one at a time,
 * and a call joins a reload that is queued but not started (it will see everything written
 * before the call). On failure the last good config stays in service.
 */
export class ConfigReloader {
  config: LoadedConfig | undefined;
  /** False when the last attempt to read (or write) the store failed. */
  storeReachable = true;
  lastError: string | undefined;
  private reloadChain: Promise<unknown> = Promise.resolve();
  private queuedReload: Promise<ReloadResult> | undefined;

  constructor(
    private readonly store: InstanceStore,
    private readonly instanceId: string,
    private readonly region: string,
    private readonly log: (message: string) => void,
  ) {}

  /** Digest of the served configuration (null before the first successful load). */
  get digest(): string | null {
    return this.config?.digest ?? null;
  }

  /** Re-reads the config from the store (see the class comment). */
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

  /** A write or read of the store failed as unreachable: `/health` says so until a reload works. */
  markUnreachable(message: string): void {
    this.storeReachable = false;
    this.lastError = message;
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
        configDigest: this.digest,
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
}
