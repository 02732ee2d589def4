import { type InstanceCopy, MemoryInstances } from '../../../shared/adapters/memory/instances.ts';
import type { InstanceControl, InstanceHealth } from '../../../shared/domain/recovery/ports.ts';
import { configDigest, sha256Hex } from '../../../shared/domain/snapshot/format.ts';
import type { InMemoryInstanceStore } from '../instance-store.ts';
import { nextSeq } from '../sequence.ts';

/** The operations of the InstanceControl port. */
export type ControlOp = 'activate' | 'health' | 'fence' | 'unfence';

/** One call the code under test made, with its place in the global call order. */
export interface ControlCall {
  op: ControlOp;
  instanceId: string;
  region: string;
  seq: number;
}

/** What a health script sees: which check this is (1-based, per instance and region). */
export interface HealthCheck {
  instanceId: string;
  region: string;
  nth: number;
}

/** Thrown by `write` when the instance refuses config writes. */
export class FencedWriteError extends Error {
  constructor(instanceId: string, region: string) {
    super(`${instanceId} in ${region} is fenced: config writes refused`);
    this.name = 'FencedWriteError';
  }
}

/** The digest an instance reports for the objects it serves, as the reference runtime does. */
export function digestOfStore(store: InMemoryInstanceStore, instanceId: string): string {
  return configDigest(
    [...store.contents(instanceId)].map(([key, body]) => ({ key, sha256: sha256Hex(body) })),
  );
}

/**
 * The instances in every region, in memory. An instance serves what its region's store held
 * when it was last activated (or written through `write`), reports that digest and whether it
 * is fenced on `health`, and refuses `write` while fenced. Regions in `down` do not answer.
 * Health can be scripted per check (`script`), e.g. to regress after some healthy checks.
 */
export class FakeInstanceControl implements InstanceControl {
  readonly calls: ControlCall[] = [];
  /** Regions whose instances do not answer: health is not ok, other calls throw. */
  readonly down = new Set<string>();
  /** Overrides parts of a health answer; return undefined to answer normally. */
  script: ((check: HealthCheck) => Partial<InstanceHealth> | undefined) | undefined;
  /** When true, `fence` is acknowledged but has no effect (a runtime that ignores it). */
  ignoreFence = false;
  /**
   * When false, a fenced instance still reports itself fenced but takes writes (API Gateway:
   * the owners' pipelines write to the control plane, which no fence can refuse).
   */
  fenceRefusesWrites = true;
  private readonly copies = new MemoryInstances<InstanceCopy>(() => ({
    activated: false,
    fenced: false,
  }));
  private readonly checks = new Map<string, number>();

  constructor(private readonly storeOf: (region: string) => InMemoryInstanceStore) {}

  async activate(instanceId: string, region: string): Promise<void> {
    this.enter('activate', instanceId, region);
    this.copies.activate(instanceId, region, digestOfStore(this.storeOf(region), instanceId));
  }

  async health(instanceId: string, region: string): Promise<InstanceHealth> {
    this.enter('health', instanceId, region, false);
    const key = at(instanceId, region);
    const nth = (this.checks.get(key) ?? 0) + 1;
    this.checks.set(key, nth);
    const copy = this.copies.peek(instanceId, region);
    const served = copy?.activated === true;
    const base: InstanceHealth = this.down.has(region)
      ? { ok: false, error: 'connect ECONNREFUSED' }
      : {
          ok: served,
          instanceId,
          region,
          configDigest: (served ? copy.digest : undefined) ?? null,
          fenced: copy?.fenced ?? false,
          ...(served ? {} : { error: 'not activated' }),
        };
    return { ...base, ...(this.script?.({ instanceId, region, nth }) ?? {}) };
  }

  async fence(instanceId: string, region: string): Promise<void> {
    this.enter('fence', instanceId, region);
    if (!this.ignoreFence) this.copies.setFence(instanceId, region, true);
  }

  async unfence(instanceId: string, region: string): Promise<void> {
    this.enter('unfence', instanceId, region);
    this.copies.setFence(instanceId, region, false);
  }

  /**
   * A config write through the instance's admin API: lands in its region's store and is served
   * at once, unless the instance is fenced or down.
   */
  async write(instanceId: string, region: string, key: string, body: string): Promise<void> {
    if (this.down.has(region)) throw new Error(`${instanceId} in ${region} does not answer`);
    if (this.fenceRefusesWrites && this.isFenced(instanceId, region))
      throw new FencedWriteError(instanceId, region);
    const store = this.storeOf(region);
    store.seed(instanceId, key, body);
    this.copies.activate(instanceId, region, digestOfStore(store, instanceId));
  }

  /** Health turns bad for `region` after `healthy` more good checks of it (any instance). */
  regressAfter(region: string, healthy: number): void {
    let seen = 0;
    const previous = this.script;
    this.script = (check) => {
      if (check.region !== region) return previous?.(check);
      seen += 1;
      return seen > healthy ? { ok: false, error: 'HTTP 503' } : previous?.(check);
    };
  }

  isFenced(instanceId: string, region: string): boolean {
    return this.copies.peek(instanceId, region)?.fenced ?? false;
  }

  /** The digest the instance serves, or undefined when it was never activated. */
  servedDigest(instanceId: string, region: string): string | undefined {
    const copy = this.copies.peek(instanceId, region);
    return copy?.activated ? copy.digest : undefined;
  }

  callsOf(op: ControlOp, region?: string): ControlCall[] {
    return this.calls.filter((c) => c.op === op && (region === undefined || c.region === region));
  }

  count(op: ControlOp, region?: string): number {
    return this.callsOf(op, region).length;
  }

  private enter(op: ControlOp, instanceId: string, region: string, throwWhenDown = true): void {
    this.calls.push({ op, instanceId, region, seq: nextSeq() });
    if (throwWhenDown && this.down.has(region))
      throw new Error(`${op} ${instanceId} in ${region}: connect ECONNREFUSED`);
  }
}

const at = (instanceId: string, region: string) => `${instanceId}/${region}`;
