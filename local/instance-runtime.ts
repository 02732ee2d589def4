import type { InstanceStore } from '../shared/domain/ports.ts';
import { ZoneListeners } from './instance-runtime-listeners.ts';
import {
  ConfigReloader,
  type ReloadResult,
  type RuntimeStatus,
} from './instance-runtime-reload.ts';
import { RuntimeRoutes } from './instance-runtime-routes.ts';

/*
 * The reference API instance of the local world: what lifeboat protects, served for real.
 *
 * It is plain node:http on purpose. The runtime needs a dozen routes, and what matters is
 * control over each zone's listener and its sockets: a zone outage must close the listener
 * and reset the connections in flight (clients see ECONNRESET / ECONNREFUSED, a real fault),
 * then listen again on the same port. A framework would sit between us and exactly that.
 *
 * Split by responsibility: the routes (`instance-runtime-routes.ts`), the zone listeners
 * (`instance-runtime-listeners.ts`) and the config reload (`instance-runtime-reload.ts`).
 */

export {
  apiNameOf,
  buildRoutes,
  type ReloadResult,
  type RuntimeStatus,
} from './instance-runtime-reload.ts';
export { configKeyProblem, MAX_BODY_BYTES, MAX_KEY_BYTES } from './instance-runtime-routes.ts';

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
/**
 * One API-management instance in one region, served over HTTP from its config in the region's
 * instance store: one listener per zone, `/health` with the config digest, the APIs its OpenAPI
 * documents define, and an admin endpoint that writes config back to the store.
 */
export class InstanceRuntime {
  readonly instanceId: string;
  readonly region: string;
  readonly store: InstanceStore;
  /** The served config and the state of the store, as the last reload left them. */
  readonly loaded: ConfigReloader;
  private readonly listeners: ZoneListeners;
  private readonly reloadIntervalMs: number;
  private fencedNow: boolean;
  /** Admin writes that passed the fence check and have not finished, so a fence can wait. */
  private readonly writesInFlight = new Set<Promise<unknown>>();
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
    this.reloadIntervalMs = options.reloadIntervalMs ?? 0;
    this.fencedNow = options.fenced ?? false;
    this.loaded = new ConfigReloader(
      options.store,
      options.instanceId,
      options.region,
      options.log ?? (() => undefined),
    );
    const routes = new RuntimeRoutes(this);
    this.listeners = new ZoneListeners(
      options.zones,
      options.ports,
      options.host ?? '127.0.0.1',
      `instance runtime ${this.instanceId} (${this.region})`,
      (zone, req, res) => void routes.handle(zone, req, res),
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
      for (const zone of this.listeners.zones()) await this.startZone(zone);
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
    await Promise.all(this.listeners.zones().map((zone) => this.stopZone(zone)));
  }

  /** Base URL of each zone's listener, e.g. `{ 'us-east-1a': 'http://127.0.0.1:40123' }`. */
  urls(): Record<string, string> {
    return this.listeners.urls();
  }

  /** Takes one zone down for real: closes its listener and resets its open connections. */
  stopZone(zone: string): Promise<void> {
    return this.listeners.stopZone(zone);
  }

  /** Opens a zone's listener; after a `stopZone`, on the same port. */
  startZone(zone: string): Promise<void> {
    return this.listeners.startZone(zone);
  }

  /** Whether admin writes are refused. */
  get fenced(): boolean {
    return this.fencedNow;
  }

  /** Stops accepting admin writes; resolves once the writes already accepted have landed. */
  async fence(): Promise<void> {
    this.fencedNow = true;
    await Promise.allSettled([...this.writesInFlight]);
  }

  /** Accepts admin writes again. */
  unfence(): void {
    this.fencedNow = false;
  }

  /** Runs an admin write that a fence waits for. */
  async track(change: Promise<unknown>): Promise<void> {
    this.writesInFlight.add(change);
    try {
      await change;
    } finally {
      this.writesInFlight.delete(change);
    }
  }

  /** Digest of the served configuration (null before the first successful load). */
  get configDigest(): string | null {
    return this.loaded.digest;
  }

  /** What `/health` reports, without the zone. */
  status(): RuntimeStatus {
    const config = this.loaded.config;
    return {
      status: 'ok',
      instanceId: this.instanceId,
      region: this.region,
      configDigest: config?.digest ?? null,
      objects: config?.objects.size ?? 0,
      apis: config?.apis.size ?? 0,
      fenced: this.fencedNow,
      storeReachable: this.loaded.storeReachable,
      loadedAt: config?.loadedAt.toISOString() ?? null,
      ...(this.loaded.lastError ? { lastError: this.loaded.lastError } : {}),
      problems: config?.problems ?? [],
    };
  }

  /** Re-reads the config from the store (one at a time; the last good config stays on failure). */
  reload(): Promise<ReloadResult> {
    return this.loaded.reload();
  }
}
