import type { LifeboatConfig } from '../shared/config/schema.ts';
import type { HealthProbe, ProbeResponse } from '../shared/domain/detection/probe.ts';
import type {
  BlobStore,
  DocumentStore,
  EventBus,
  InstanceStore,
  LifeboatEvent,
  PutOptions,
} from '../shared/domain/ports.ts';
import type { DnsRouting, InstanceControl } from '../shared/domain/recovery/ports.ts';
import { DnsChangeError, EventPublishError, StorageUnavailableError } from '../shared/errors.ts';
import type { Rng } from '../shared/random.ts';
import type { Scheduler } from './scheduler.ts';
import type { TraceEntry } from './trace.ts';
import { SimTruth } from './truth.ts';

/**
 * The simulated AWS as the code under test meets it: the ground truth (truth.ts) behind one
 * gate. Code under test reaches it only through port objects bound to one invocation
 * (`portsFor`), and every port call passes the gate, which adds latency, injects the seeded
 * faults, and can crash the invocation.
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
  /**
   * Where this invocation's latencies, faults and crash come from, when not the seed's fault
   * stream (a side invocation: see `sideInvocation`).
   */
  rng?: Rng;
}

type Service = 's3' | 'route53' | 'events' | 'runtime';

/** Each service's latency range (ms), drawn per call. */
const LATENCY_MS: Record<Service, [number, number]> = {
  s3: [5, 60],
  route53: [50, 400],
  events: [5, 40],
  runtime: [2, 30],
};

/** Which seeded fault rate fails a service's calls (the runtime fails only by outage). */
const ERROR_RATE: Record<Service, keyof FaultRates | undefined> = {
  s3: 's3Error',
  route53: 'dnsError',
  events: 'busError',
  runtime: undefined,
};

/** The simulated world of one seed: the truth, and the fault and latency gate in front of it. */
export class SimWorld extends SimTruth {
  /** Fault injection stops (the drain at the end of a run). */
  faultsOn = true;
  private invocations = 0;
  private sideInvocations = 0;

  constructor(
    config: LifeboatConfig,
    sched: Scheduler,
    private readonly rng: Rng,
    readonly faults: FaultRates,
    record: (entry: TraceEntry) => void,
  ) {
    super(config, sched, record);
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

  /**
   * An invocation whose latencies, faults and crash point are drawn from `rng` rather than the
   * seed's fault stream, and which is numbered apart: adding one to a seed leaves every draw
   * and every id of the rest of the seed as it was (the scheduled restore tests).
   */
  sideInvocation(fn: string, region: string, rng: Rng): Invocation {
    this.sideInvocations += 1;
    const crashes = this.faultsOn && rng.chance(this.faults.crash);
    return {
      id: `${fn}-side-${this.sideInvocations}`,
      fn,
      region,
      calls: 0,
      ...(crashes ? { crashAt: rng.int(1, 30) } : {}),
      crashAfterEffect: rng.chance(0.5),
      dead: false,
      rng,
    };
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
    const rng = inv.rng ?? this.rng;
    await this.sched.sleep(this.latency(service, rng));
    if (inv.dead) throw new SimulatedCrash(`(${inv.id} died meanwhile) at ${what}`);
    if (!this.reachable(target)) throw this.unreachable(service, target, what);
    const rate = this.faultsOn ? this.errorRate(service) : 0;
    if (rng.chance(rate)) throw this.serviceError(service, what, 'injected error');
    const timesOut = this.faultsOn && service === 's3' && rng.chance(this.faults.s3Timeout);
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

  /** A seeded latency from the service's range (ms). */
  private latency(service: Service, rng: Rng): number {
    const [min, max] = LATENCY_MS[service];
    return rng.int(min, max);
  }

  private errorRate(service: Service): number {
    const rate = ERROR_RATE[service];
    return rate ? this.faults[rate] : 0;
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

  // ---- ports bound to one invocation ----

  /** The ports one invocation sees. */
  portsFor(inv: Invocation) {
    const mutates = { mutates: true };
    const documents = (region: string): DocumentStore => ({
      location: `sim://control (${region})`,
      load: (key) => this.call(inv, 's3', region, `GET ${key}`, () => this.loadDoc(region, key)),
      save: (key, value, expected) =>
        this.call(
          inv,
          's3',
          region,
          `PUT ${key}`,
          () => this.saveDoc(region, key, value, expected),
          mutates,
        ),
      list: (prefix) =>
        this.call(inv, 's3', region, `LIST ${prefix}`, () => this.listDocs(region, prefix)),
    });
    const deleteControlKey = (region: string, key: string) =>
      this.call(inv, 's3', region, `DELETE ${key}`, () => this.deleteDoc(region, key), mutates);
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
          mutates,
        ),
    };
    const instances: InstanceControl = {
      activate: (id, region) =>
        this.call(
          inv,
          'runtime',
          region,
          `activate ${id}`,
          () => this.activate(id, region),
          mutates,
        ),
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
      fence: (id, region) => this.fenceCall(inv, id, region, true),
      unfence: (id, region) => this.fenceCall(inv, id, region, false),
    };
    return { documents, deleteControlKey, vault, instanceStore, dns, instances };
  }

  private fenceCall(inv: Invocation, id: string, region: string, fenced: boolean) {
    const what = `${fenced ? 'fence' : 'unfence'} ${id}`;
    return this.call(inv, 'runtime', region, what, () => this.setFence(id, region, fenced), {
      mutates: true,
    });
  }

  private vaultPort(inv: Invocation, region: string): BlobStore {
    const mutates = { mutates: true };
    return {
      location: `sim://backup (${region})`,
      put: (key: string, body: Uint8Array, options: PutOptions = {}) =>
        this.call(
          inv,
          's3',
          region,
          `PUT ${key}`,
          () => this.vaultPut(region, key, body, options),
          mutates,
        ),
      get: (key: string) =>
        this.call(inv, 's3', region, `GET ${key}`, () => this.vaultGet(region, key)),
      list: (prefix: string) =>
        this.call(inv, 's3', region, `LIST ${prefix}`, () => this.vaultList(region, prefix)),
      delete: (keys: readonly string[]) =>
        this.call(
          inv,
          's3',
          region,
          `DELETE ${keys[0] ?? ''}`,
          () => this.vaultDelete(region, keys),
          mutates,
        ),
    };
  }

  private storePort(inv: Invocation, region: string): InstanceStore {
    const world = this;
    const mutates = { mutates: true };
    return {
      location: `sim://store (${region})`,
      list: (id: string) =>
        this.call(inv, 's3', region, `LIST ${id}/`, () => this.storeList(region, id)),
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
          () => this.storeWrite(region, id, key, body),
          mutates,
        ),
      delete: (id: string, keys: readonly string[]) =>
        this.call(
          inv,
          's3',
          region,
          `DELETE ${id}/${keys[0] ?? ''}`,
          () => this.storeDelete(region, id, keys),
          mutates,
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
