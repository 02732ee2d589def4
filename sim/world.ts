import { createHash } from 'node:crypto';
import type { LifeboatConfig } from '../shared/config/schema.ts';
import type { HealthProbe, ProbeResponse } from '../shared/domain/detection/probe.ts';
import type {
  BlobStore,
  DocumentStore,
  EventBus,
  InstanceStore,
  LifeboatEvent,
  ObjectEntry,
  PutOptions,
  StoredBlob,
  VersionedDocument,
} from '../shared/domain/ports.ts';
import type {
  DnsChangeResult,
  DnsRecordSpec,
  DnsRouting,
  InstanceControl,
  InstanceHealth,
  Weights,
} from '../shared/domain/recovery/ports.ts';
import type { RecoveryRun } from '../shared/domain/recovery/run-store.ts';
import { weightsProblem } from '../shared/domain/recovery/weights.ts';
import { configDigest, sha256Hex, keys as snapshotKeys } from '../shared/domain/snapshot/format.ts';
import {
  AlreadyExistsError,
  DnsChangeError,
  EventPublishError,
  InvalidWeightsError,
  StorageUnavailableError,
  WriteConflictError,
} from '../shared/errors.ts';
import type { Rng } from '../shared/random.ts';
import type { Scheduler } from './scheduler.ts';
import type { TraceEntry } from './trace.ts';

/**
 * The simulated AWS: every region's buckets, instance stores and instance runtimes, Route 53,
 * and the ground truth of which region, zone or vantage link is down. Code under test reaches it
 * only through port objects bound to one invocation (`portsFor`), and every port call passes
 * one gate that adds latency, injects the seeded faults, and can crash the invocation.
 */

/** Thrown into the code under test to stand for its process dying (timeout, OOM, kill). */
export class SimulatedCrash extends Error {
  constructor(where: string) {
    super(`simulated crash ${where}`);
    this.name = 'SimulatedCrash';
  }
}

/** Seeded fault rates, per port call. */
export interface FaultRates {
  s3Error: number;
  s3Timeout: number;
  dnsError: number;
  busError: number;
  /** Probability that an invocation crashes at some call. */
  crash: number;
}

/** One Lambda invocation (or operator command): where it runs, and whether and where it dies. */
export interface Invocation {
  id: string;
  fn: string;
  region: string;
  calls: number;
  crashAt?: number;
  crashAfterEffect: boolean;
  dead: boolean;
}

type Service = 's3' | 'route53' | 'events' | 'runtime';

interface StoredDoc {
  json: string;
  version: string;
}

interface RuntimeState {
  activated: boolean;
  digest?: string;
  fenced: boolean;
}

const SLOT_KEY = /^capacity\/([^/]+)\/slot-(\d+)\.json$/;
const RUN_KEY = /^runs\/(.+)\.json$/;

/** The simulated world of one seed. */
export class SimWorld {
  readonly regions: string[];
  /** Ground truth: regions that do not answer at all. */
  readonly regionDown = new Set<string>();
  /** Ground truth: `region/zone` whose endpoints do not answer. */
  readonly zoneDown = new Set<string>();
  /** Ground truth: `vantage>target` links on which probes fail. */
  readonly cut = new Set<string>();
  /** Fault injection stops (the drain at the end of a run). */
  faultsOn = true;
  /** A broken runtime (for mutation tests) reports itself fenced but still accepts writes. */
  fenceHonoured = true;
  readonly docs = new Map<string, Map<string, StoredDoc>>();
  readonly vaults = new Map<string, Map<string, { body: Buffer; lastModified: Date }>>();
  readonly stores = new Map<string, Map<string, Map<string, Buffer>>>();
  readonly dnsRecords = new Map<string, Weights>();
  readonly runtime = new Map<string, RuntimeState>();
  /** The best run record written so far, per run id (what a reader taking the highest seq sees). */
  readonly runs = new Map<string, RecoveryRun>();
  private versions = 0;
  private invocations = 0;
  private readonly endpointOf = new Map<
    string,
    { instanceId: string; region: string; zone: string }
  >();

  constructor(
    readonly config: LifeboatConfig,
    readonly sched: Scheduler,
    private readonly rng: Rng,
    readonly faults: FaultRates,
    private readonly record: (entry: TraceEntry) => void,
  ) {
    this.regions = config.regions.map((r) => r.name);
    for (const region of this.regions) {
      this.docs.set(region, new Map());
      this.vaults.set(region, new Map());
      this.stores.set(region, new Map());
    }
    for (const instance of config.instances) {
      for (const [region, endpoint] of Object.entries(instance.endpoints)) {
        for (const [zone, url] of Object.entries(endpoint.zones))
          this.endpointOf.set(`${url.replace(/\/+$/, '')}/health`, {
            instanceId: instance.id,
            region,
            zone,
          });
      }
    }
  }

  /** A new invocation in `region`, with a seeded crash point when the dice say so. */
  invocation(fn: string, region: string): Invocation {
    this.invocations += 1;
    const crashes = this.faultsOn && this.rng.chance(this.faults.crash);
    return {
      id: `${fn}-${this.invocations}`,
      fn,
      region,
      calls: 0,
      ...(crashes ? { crashAt: this.rng.int(1, 30) } : {}),
      crashAfterEffect: this.rng.chance(0.5),
      dead: false,
    };
  }

  /** Whether a port in `target` answers a caller in `from`. */
  reachable(target: string): boolean {
    return !this.regionDown.has(target);
  }

  /**
   * The gate every port call passes: the invocation may already be dead or die here, the call
   * takes seeded time, the target may not answer, a seeded fault may fail it, and a timeout may
   * fail it after its effect took place (the reply was lost, not the request).
   */
  async call<T>(
    inv: Invocation,
    service: Service,
    target: string,
    what: string,
    effect: () => T,
    options: { mutates: boolean } = { mutates: false },
  ): Promise<T> {
    if (inv.dead) throw new SimulatedCrash(`(${inv.id} already dead) at ${what}`);
    inv.calls += 1;
    const dies = inv.crashAt === inv.calls;
    if (dies && !inv.crashAfterEffect) {
      inv.dead = true;
      throw new SimulatedCrash(`${inv.id} before ${what}`);
    }
    await this.sched.sleep(this.latency(service));
    if (inv.dead) throw new SimulatedCrash(`(${inv.id} died meanwhile) at ${what}`);
    if (!this.reachable(target)) throw this.unreachable(service, target, what);
    const rate = this.faultsOn ? this.errorRate(service) : 0;
    if (this.rng.chance(rate)) throw this.serviceError(service, what, 'injected error');
    const timesOut = this.faultsOn && service === 's3' && this.rng.chance(this.faults.s3Timeout);
    if (timesOut && !options.mutates) {
      await this.sched.sleep(3000);
      throw this.serviceError(service, what, 'timeout');
    }
    const result = effect();
    if (timesOut) {
      await this.sched.sleep(3000);
      throw this.serviceError(service, what, 'timeout after the write took effect');
    }
    if (dies) {
      inv.dead = true;
      throw new SimulatedCrash(`${inv.id} after ${what}`);
    }
    return result;
  }

  private latency(service: Service): number {
    switch (service) {
      case 's3':
        return this.rng.int(5, 60);
      case 'route53':
        return this.rng.int(50, 400);
      case 'events':
        return this.rng.int(5, 40);
      case 'runtime':
        return this.rng.int(2, 30);
    }
  }

  private errorRate(service: Service): number {
    switch (service) {
      case 's3':
        return this.faults.s3Error;
      case 'route53':
        return this.faults.dnsError;
      case 'events':
        return this.faults.busError;
      case 'runtime':
        return 0;
    }
  }

  private unreachable(service: Service, target: string, what: string): Error {
    if (service === 's3')
      return new StorageUnavailableError(`${what} in ${target}: connect ECONNREFUSED`);
    if (service === 'events')
      return new EventPublishError(1, `bus in ${target}: connect ECONNREFUSED`);
    return new Error(`${what} in ${target}: connect ECONNREFUSED`);
  }

  private serviceError(service: Service, what: string, detail: string): Error {
    if (service === 's3') return new StorageUnavailableError(`${what}: ${detail} (SlowDown)`);
    if (service === 'events') return new EventPublishError(1, `${what}: ${detail} (Throttling)`);
    // The Route 53 adapter retries throttling itself; this is what it raises when it gives up.
    return new DnsChangeError('(sim)', what, 5, {
      cause: Object.assign(new Error(`Rate exceeded (${detail})`), { name: 'Throttling' }),
    });
  }

  // ---- control buckets (compare-and-swap documents) ----

  private bucket(region: string): Map<string, StoredDoc> {
    return this.docs.get(region) as Map<string, StoredDoc>;
  }

  private saveDoc(region: string, key: string, value: unknown, expected: string | undefined) {
    const bucket = this.bucket(region);
    const current = bucket.get(key);
    if (current?.version !== expected) throw new WriteConflictError(key);
    this.versions += 1;
    const version = `"v${this.versions}"`;
    bucket.set(key, { json: JSON.stringify(value), version });
    this.afterDocWrite(region, key, value);
    return version;
  }

  private afterDocWrite(region: string, key: string, value: unknown): void {
    const slot = SLOT_KEY.exec(key);
    if (slot) {
      const holder = (value as { runId?: string }).runId;
      this.record({
        kind: 'slot',
        t: this.sched.now,
        region,
        slot: Number(slot[2]),
        ...(holder ? { runId: holder } : {}),
      });
      return;
    }
    if (RUN_KEY.test(key)) this.observeRun(value as RecoveryRun);
  }

  /** A run record landed somewhere: trace it if it is the newest, and check a finished restore. */
  private observeRun(run: RecoveryRun): void {
    const previous = this.runs.get(run.runId);
    if (previous && previous.seq >= run.seq) return;
    this.runs.set(run.runId, run);
    const done = Object.entries(run.steps)
      .filter(([, s]) => s.status === 'done')
      .map(([name]) => name);
    this.record({
      kind: 'run',
      t: this.sched.now,
      runId: run.runId,
      runKind: run.kind,
      instanceId: run.instanceId,
      from: run.from,
      ...(run.target ? { target: run.target } : {}),
      status: run.status,
      ...(run.reason ? { reason: run.reason } : {}),
      ...(run.failedStep ? { failedStep: run.failedStep } : {}),
      seq: run.seq,
      stepsDone: done,
      ...(run.reservation ? { reservation: run.reservation } : {}),
      ...(run.recoveryRunId ? { recoveryRunId: run.recoveryRunId } : {}),
      ...(run.rolledBack ? { rolledBack: true } : {}),
    });
    const restoredNow =
      run.steps.restore?.status === 'done' && previous?.steps.restore?.status !== 'done';
    if (restoredNow && run.target && run.snapshot) {
      this.record({
        kind: 'restored',
        t: this.sched.now,
        runId: run.runId,
        region: run.target,
        snapshotId: run.snapshot.snapshotId,
        storeDigest: this.storeDigest(run.target, run.instanceId),
        manifestDigest: this.manifestDigest(
          run.snapshot.region,
          run.instanceId,
          run.snapshot.snapshotId,
        ),
      });
    }
  }

  /** The digest of what a region's store holds for an instance, straight from the truth. */
  storeDigest(region: string, instanceId: string): string {
    const objects = [...(this.stores.get(region)?.get(instanceId) ?? new Map<string, Buffer>())]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, body]) => ({ key, sha256: sha256Hex(body) }));
    return configDigest(objects);
  }

  /** The digest of the objects a stored manifest lists, read straight from the vault. */
  manifestDigest(region: string, instanceId: string, snapshotId: string): string {
    const stored = this.vaults.get(region)?.get(snapshotKeys.manifest(instanceId, snapshotId));
    if (!stored) return `no manifest ${snapshotId} in ${region}`;
    const manifest = JSON.parse(stored.body.toString('utf8')) as {
      objects: { key: string; sha256: string }[];
    };
    return configDigest(manifest.objects.map((o) => ({ key: o.key, sha256: o.sha256 })));
  }

  /** Deletes a control key (capacity release), as S3 does: a missing key is not an error. */
  private deleteDoc(region: string, key: string): void {
    if (!this.bucket(region).delete(key)) return;
    const slot = SLOT_KEY.exec(key);
    if (slot) this.record({ kind: 'slot', t: this.sched.now, region, slot: Number(slot[2]) });
  }

  // ---- ports bound to one invocation ----

  /** The ports one invocation sees. */
  portsFor(inv: Invocation) {
    const documents = (region: string): DocumentStore => ({
      location: `sim://control (${region})`,
      load: (key) =>
        this.call(inv, 's3', region, `GET ${key}`, (): VersionedDocument | undefined => {
          const doc = this.bucket(region).get(key);
          return doc ? { value: JSON.parse(doc.json), version: doc.version } : undefined;
        }),
      save: (key, value, expected) =>
        this.call(
          inv,
          's3',
          region,
          `PUT ${key}`,
          () => this.saveDoc(region, key, value, expected),
          {
            mutates: true,
          },
        ),
      list: (prefix) =>
        this.call(inv, 's3', region, `LIST ${prefix}`, () =>
          [...this.bucket(region).keys()].filter((key) => key.startsWith(prefix)).sort(),
        ),
    });
    const deleteControlKey = (region: string, key: string) =>
      this.call(inv, 's3', region, `DELETE ${key}`, () => this.deleteDoc(region, key), {
        mutates: true,
      });
    const vault = (region: string): BlobStore => this.vaultPort(inv, region);
    const instanceStore = (region: string): InstanceStore => this.storePort(inv, region);
    const dns: DnsRouting = {
      readWeights: (spec) =>
        this.call(inv, 'route53', 'us-east-1', 'ListResourceRecordSets', () =>
          this.readWeights(spec),
        ),
      applyWeights: (spec, weights) =>
        this.call(
          inv,
          'route53',
          'us-east-1',
          'ChangeResourceRecordSets',
          () => this.applyWeights(spec, weights),
          { mutates: true },
        ),
    };
    const instances: InstanceControl = {
      activate: (id, region) =>
        this.call(inv, 'runtime', region, `activate ${id}`, () => this.activate(id, region), {
          mutates: true,
        }),
      health: async (id, region) => {
        try {
          return await this.call(inv, 'runtime', region, `health ${id}`, () =>
            this.health(id, region),
          );
        } catch (error) {
          if (error instanceof SimulatedCrash) throw error;
          return { ok: false, error: (error as Error).message };
        }
      },
      fence: (id, region) =>
        this.call(inv, 'runtime', region, `fence ${id}`, () => this.setFence(id, region, true), {
          mutates: true,
        }),
      unfence: (id, region) =>
        this.call(inv, 'runtime', region, `unfence ${id}`, () => this.setFence(id, region, false), {
          mutates: true,
        }),
    };
    return { documents, deleteControlKey, vault, instanceStore, dns, instances };
  }

  /** Route 53 is global: the Route 53 "region" never goes down in the simulation. */
  private readWeights(spec: DnsRecordSpec): Weights {
    return { ...(this.dnsRecords.get(spec.instanceId) ?? {}) };
  }

  private applyWeights(spec: DnsRecordSpec, weights: Weights): DnsChangeResult {
    const current = this.dnsRecords.get(spec.instanceId);
    if (!current) throw new InvalidWeightsError(spec.instanceId, undefined, 'no records');
    const problem = weightsProblem(weights, Object.keys(current));
    if (problem) throw new InvalidWeightsError(spec.instanceId, problem.region, problem.detail);
    const next = { ...current, ...weights };
    this.dnsRecords.set(spec.instanceId, next);
    // What Route 53 now holds, read back: a change that did not take effect shows as none.
    this.record({
      kind: 'weights',
      t: this.sched.now,
      instanceId: spec.instanceId,
      weights: this.readWeights(spec),
    });
    return { changeId: `C${this.sched.steps}`, attempts: 1, insync: true };
  }

  /** Pre-creates an instance's weighted records (lifeboat dns precreate). */
  createRecords(instanceId: string, weights: Weights): void {
    this.dnsRecords.set(instanceId, { ...weights });
    this.record({ kind: 'weights', t: this.sched.now, instanceId, weights: { ...weights } });
  }

  private rt(id: string, region: string): RuntimeState {
    const key = `${id}/${region}`;
    let state = this.runtime.get(key);
    if (!state) {
      state = { activated: false, fenced: false };
      this.runtime.set(key, state);
    }
    return state;
  }

  /** The instance in `region` serves what its store holds now. */
  activate(id: string, region: string): void {
    const state = this.rt(id, region);
    state.activated = true;
    state.digest = this.storeDigest(region, id);
    this.traceRuntime(id, region);
  }

  private health(id: string, region: string): InstanceHealth {
    const state = this.rt(id, region);
    const zones = this.config.regions.find((r) => r.name === region)?.zones ?? [];
    if (zones.length > 0 && zones.every((z) => this.zoneDown.has(`${region}/${z}`)))
      return { ok: false, error: 'every zone down' };
    // A standby runtime answers /health with no config (digest null), as the reference runtime does.
    return {
      ok: true,
      instanceId: id,
      region,
      configDigest: state.activated ? (state.digest ?? null) : null,
      fenced: state.fenced,
    };
  }

  private setFence(id: string, region: string, fenced: boolean): void {
    const state = this.rt(id, region);
    if (state.fenced === fenced) return;
    state.fenced = fenced;
    this.traceRuntime(id, region);
  }

  private traceRuntime(id: string, region: string): void {
    const state = this.rt(id, region);
    this.record({
      kind: 'instance',
      t: this.sched.now,
      instanceId: id,
      region,
      activated: state.activated,
      fenced: state.fenced,
    });
  }

  /** A region's data is gone (a destroyed region): stores, backups, control state, runtime. */
  destroy(region: string): void {
    this.docs.set(region, new Map());
    this.vaults.set(region, new Map());
    this.stores.set(region, new Map());
    for (const instance of this.config.instances) {
      const state = this.runtime.get(`${instance.id}/${region}`);
      if (state?.activated) {
        this.runtime.set(`${instance.id}/${region}`, { activated: false, fenced: false });
        this.traceRuntime(instance.id, region);
      }
    }
  }

  /**
   * A client's config write through the instance's admin API. Accepted only by a reachable,
   * activated, unfenced instance; it lands in the region's store and is served at once.
   */
  /** What Route 53's health check of the instance's record in `region` sees: `/ready` answers. */
  ready(id: string, region: string): boolean {
    return this.reachable(region) && this.rt(id, region).activated;
  }

  clientWrite(id: string, region: string, key: string, body: string): boolean {
    const state = this.rt(id, region);
    const accepted =
      this.reachable(region) && state.activated && (!state.fenced || !this.fenceHonoured);
    const bytes = Buffer.from(body);
    if (accepted) {
      this.objectsOf(region, id).set(key, bytes);
      state.digest = this.storeDigest(region, id);
    }
    this.record({
      kind: 'write',
      t: this.sched.now,
      instanceId: id,
      region,
      key,
      valueHash: sha256Hex(bytes),
      accepted,
    });
    return accepted;
  }

  objectsOf(region: string, id: string): Map<string, Buffer> {
    const stores = this.stores.get(region) as Map<string, Map<string, Buffer>>;
    let objects = stores.get(id);
    if (!objects) {
      objects = new Map();
      stores.set(id, objects);
    }
    return objects;
  }

  // ---- backup buckets and instance stores ----

  private vaultPort(inv: Invocation, region: string): BlobStore {
    const objects = () =>
      this.vaults.get(region) as Map<string, { body: Buffer; lastModified: Date }>;
    return {
      location: `sim://backup (${region})`,
      put: (key: string, body: Uint8Array, options: PutOptions = {}) =>
        this.call(
          inv,
          's3',
          region,
          `PUT ${key}`,
          () => {
            if (options.ifNoneMatch && objects().has(key)) throw new AlreadyExistsError(key);
            objects().set(key, { body: Buffer.from(body), lastModified: new Date(this.sched.now) });
          },
          { mutates: true },
        ),
      get: (key: string) =>
        this.call(inv, 's3', region, `GET ${key}`, () => {
          const found = objects().get(key);
          return found ? new Uint8Array(found.body) : undefined;
        }),
      list: (prefix: string) =>
        this.call(inv, 's3', region, `LIST ${prefix}`, (): StoredBlob[] =>
          [...objects()]
            .filter(([key]) => key.startsWith(prefix))
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([key, o]) => ({ key, size: o.body.length, lastModified: o.lastModified })),
        ),
      delete: (keys: readonly string[]) =>
        this.call(
          inv,
          's3',
          region,
          `DELETE ${keys[0] ?? ''}`,
          () => {
            for (const key of keys) objects().delete(key);
          },
          { mutates: true },
        ),
    };
  }

  private storePort(inv: Invocation, region: string): InstanceStore {
    const world = this;
    return {
      location: `sim://store (${region})`,
      list: (id: string) =>
        this.call(inv, 's3', region, `LIST ${id}/`, (): ObjectEntry[] =>
          [...this.objectsOf(region, id)]
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([key, body]) => ({
              key,
              etag: `"${createHash('md5').update(body).digest('hex')}"`,
              size: body.length,
            })),
        ),
      read(id: string, key: string): AsyncIterable<Uint8Array> {
        return (async function* () {
          const body = await world.call(inv, 's3', region, `GET ${id}/${key}`, () =>
            world.objectsOf(region, id).get(key),
          );
          if (!body) throw new StorageUnavailableError(`${region} ${id}/${key}: NoSuchKey`);
          yield new Uint8Array(body);
        })();
      },
      write: (id: string, key: string, body: Uint8Array) =>
        this.call(
          inv,
          's3',
          region,
          `PUT ${id}/${key}`,
          () => {
            this.objectsOf(region, id).set(key, Buffer.from(body));
          },
          { mutates: true },
        ),
      delete: (id: string, keys: readonly string[]) =>
        this.call(
          inv,
          's3',
          region,
          `DELETE ${id}/${keys[0] ?? ''}`,
          () => {
            for (const key of keys) this.objectsOf(region, id).delete(key);
          },
          { mutates: true },
        ),
    };
  }

  /** The HTTP health probe of a vantage region, answered from the ground truth. */
  probeFrom(inv: Invocation): HealthProbe {
    return {
      check: async (url: string, timeoutMs: number): Promise<ProbeResponse> => {
        const endpoint = this.endpointOf.get(url);
        if (!endpoint) return { error: `no such endpoint ${url}`, latencyMs: 0 };
        const { instanceId, region, zone } = endpoint;
        const latencyMs = this.rng.int(5, 120);
        if (
          this.regionDown.has(region) ||
          this.zoneDown.has(`${region}/${zone}`) ||
          this.cut.has(`${inv.region}>${region}`)
        ) {
          await this.sched.sleep(timeoutMs);
          return { error: `timeout after ${timeoutMs} ms`, latencyMs: timeoutMs };
        }
        await this.sched.sleep(latencyMs);
        const state = this.rt(instanceId, region);
        return {
          status: 200,
          body: {
            instanceId,
            region,
            configDigest: state.activated ? (state.digest ?? null) : null,
            fenced: state.fenced,
          },
          latencyMs,
        };
      },
    };
  }

  /** An event bus bound to an invocation: publishing is a port call, delivery is `deliver`'s. */
  busFor(
    inv: Invocation,
    deliver: (from: string, events: readonly LifeboatEvent[]) => void,
  ): EventBus {
    return {
      publish: (events) =>
        this.call(inv, 'events', inv.region, 'PutEvents', () => deliver(inv.region, events), {
          mutates: true,
        }),
    };
  }
}
