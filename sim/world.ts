import { SimulatedCrash } from '../shared/adapters/memory/crash.ts';
import type { LifeboatConfig } from '../shared/config/schema.ts';
import { DnsChangeError, EventPublishError, StorageUnavailableError } from '../shared/errors.ts';
import type { Rng } from '../shared/random.ts';
import type { Scheduler } from './scheduler.ts';
import type { TraceEntry } from './trace.ts';
import { SimTruth } from './truth.ts';

/**
 * The simulated AWS as the code under test meets it: the ground truth (truth.ts) behind one
 * gate. Code under test reaches it only through port objects bound to one invocation
 * (`portsFor`, sim/ports.ts), and every port call passes the gate, which adds latency, injects the seeded
 * faults, and can crash the invocation.
 */

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
    readonly rng: Rng,
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
}
