import type { Weights } from '../shared/domain/recovery/ports.ts';
import {
  CommittedSnapshotWhole,
  RestoreMatchesSnapshot,
  RestoreTestIsolated,
  SnapshotKept,
} from './snapshot-invariants.ts';
import type { EndEntry, RunEntry, SetupEntry, TraceEntry } from './trace.ts';

/**
 * The invariants, each a checker that reads the trace one entry at a time (so it runs after
 * every step) and reports what breaks it. They read only the trace, never the world, so each can
 * be shown a hand-made trace that violates it.
 */

/** One broken invariant. */
export interface Violation {
  invariant: InvariantName;
  t: number;
  message: string;
}

/** The invariants, by the names the summary prints. */
export type InvariantName =
  | 'traffic-leaves-failed-region'
  | 'single-primary'
  | 'restore-matches-snapshot'
  | 'no-recovery-without-region-outage'
  | 'failback-keeps-writes'
  | 'no-double-booked-slot'
  | 'no-stuck-run'
  | 'no-write-lost'
  | 'home-fenced-through-canary'
  | 'restore-test-isolated'
  | 'committed-snapshot-whole'
  | 'snapshot-kept';

/** A checker: fed every entry in order. */
export interface Checker {
  readonly name: InvariantName;
  observe(entry: TraceEntry): Violation[];
}

/**
 * The share of an instance's traffic a region gets, as Route 53 answers weighted records tied
 * to health checks (every record has one in the simulation): healthy records with weight above
 * 0 share by weight; when none is left, Route 53 answers every healthy zero-weight record
 * equally; when every record is unhealthy it answers as if all were healthy. A record is healthy
 * when its region answers and the instance is ready there: the health checks request `/ready`,
 * which a standby runtime without the instance's config fails (deploy/lifeboat.cjs).
 */
export function trafficShare(
  weights: Weights | undefined,
  region: string,
  healthy: (region: string) => boolean,
): number {
  const entries = Object.entries(weights ?? {});
  const answering = entries.filter(([r]) => healthy(r));
  const weighted = answering.filter(([, w]) => w > 0);
  const pool =
    weighted.length > 0
      ? weighted
      : answering.length > 0
        ? answering.map(([r]) => [r, 1] as const)
        : entries;
  const total = pool.reduce((sum, [, w]) => sum + w, 0);
  if (total === 0) return 0;
  return (pool.find(([r]) => r === region)?.[1] ?? 0) / total;
}

/** What every checker needs to follow: the setup, region truth, weights, runs, slots. */
class Follow {
  setup: SetupEntry | undefined;
  readonly down = new Map<
    string,
    { since: number; cause: string; restorable?: Record<string, string[]> }
  >();
  readonly weights = new Map<string, Weights>();
  readonly runs = new Map<string, RunEntry>();
  readonly slots = new Map<string, string>();

  take(entry: TraceEntry): void {
    switch (entry.kind) {
      case 'setup':
        this.setup = entry;
        return;
      case 'region':
        if (entry.up) this.down.delete(entry.region);
        else if (!this.down.has(entry.region))
          this.down.set(entry.region, {
            since: entry.t,
            cause: entry.cause,
            ...(entry.restorable ? { restorable: entry.restorable } : {}),
          });
        return;
      case 'weights':
        this.weights.set(entry.instanceId, entry.weights);
        return;
      case 'run': {
        const previous = this.runs.get(entry.runId);
        if (!previous || previous.seq < entry.seq) this.runs.set(entry.runId, entry);
        return;
      }
      case 'slot': {
        const key = `${entry.region}/${entry.slot}`;
        if (entry.runId) this.slots.set(key, entry.runId);
        else this.slots.delete(key);
        return;
      }
      default:
        return;
    }
  }

  /** Recovery runs whose slots are still held: not failed at plan, not released by a failback. */
  liveReservations(): RunEntry[] {
    const released = new Set(
      [...this.runs.values()]
        .filter((r) => r.runKind === 'failback' && r.stepsDone.includes('release'))
        .map((r) => r.recoveryRunId),
    );
    return [...this.runs.values()].filter(
      (r) => r.runKind === 'recovery' && r.reservation && !released.has(r.runId),
    );
  }
}

const instanceOfRun = (runId: string) => runId.replace(/-g\d+$/, '');

/**
 * Once a region has been truly down for the RTO bound, no instance sends traffic to it, nor to
 * a region where the instance does not run, while some healthy region has an endpoint and free
 * slots for the instance. (Active-active instances are checked the same way.) An instance that
 * runs in one region needs a committed snapshot outside it to be restored anywhere: with none
 * when the outage began (every snapshot before it failed, which the compressed schedule makes
 * far likelier than production's days of ticks), there is nothing to restore, the plan fails
 * and alerts (no-stuck-run checks that), and snapshot-kept checks no tick skipped it.
 */
export class TrafficLeavesFailedRegion implements Checker {
  readonly name = 'traffic-leaves-failed-region' as const;
  private readonly f = new Follow();
  private readonly reported = new Set<string>();
  private readonly activated = new Set<string>();

  observe(entry: TraceEntry): Violation[] {
    this.f.take(entry);
    if (entry.kind === 'instance') {
      const key = `${entry.instanceId}/${entry.region}`;
      if (entry.activated) this.activated.add(key);
      else this.activated.delete(key);
    }
    const setup = this.f.setup;
    if (!setup) return [];
    const out: Violation[] = [];
    for (const [region, down] of this.f.down) {
      if (down.cause !== 'outage' || entry.t - down.since < setup.rtoBoundMs) continue;
      for (const instance of setup.instances) {
        const nothingToRestore = !instance.critical && down.restorable?.[instance.id]?.length === 0;
        if (nothingToRestore) continue;
        const weights = this.f.weights.get(instance.id);
        // Route 53's health checks take a dead region out by themselves, but then answer with
        // every healthy record, standby regions included: traffic has left only when it all
        // lands where the instance runs.
        const healthy = (r: string) =>
          !this.f.down.has(r) && this.activated.has(`${instance.id}/${r}`);
        const misrouted = setup.regions
          .map((r) => r.name)
          .filter(
            (r) =>
              trafficShare(weights, r, healthy) > 0 &&
              (r === region || !this.activated.has(`${instance.id}/${r}`)),
          );
        if (misrouted.length === 0) continue;
        const refuge = setup.regions.find(
          (r) =>
            r.name !== region &&
            !this.f.down.has(r.name) &&
            instance.endpointRegions.includes(r.name) &&
            (instance.critical || this.freeFor(r, instance.id) >= instance.units),
        );
        const key = `${instance.id}/${region}/${down.since}`;
        if (!refuge || this.reported.has(key)) continue;
        this.reported.add(key);
        out.push({
          invariant: this.name,
          t: entry.t,
          message: `${instance.id} still sends traffic to ${misrouted.join(', ')} (weights ${JSON.stringify(weights)}) ${Math.round((entry.t - down.since) / 1000)} s into the outage of ${region}, although ${refuge.name} is healthy with room`,
        });
      }
    }
    return out;
  }

  private freeFor(region: SetupEntry['regions'][number], instanceId: string): number {
    let taken = 0;
    for (const [key, runId] of this.f.slots) {
      if (key.startsWith(`${region.name}/`) && instanceOfRun(runId) !== instanceId) taken += 1;
    }
    return region.capacity - region.homeUnits - taken;
  }
}

/**
 * At most one region per (non active-active) instance takes client writes: reachable,
 * activated, unfenced and given traffic by DNS.
 */
export class SinglePrimary implements Checker {
  readonly name = 'single-primary' as const;
  private readonly f = new Follow();
  private readonly state = new Map<string, { activated: boolean; fenced: boolean }>();

  observe(entry: TraceEntry): Violation[] {
    this.f.take(entry);
    if (entry.kind === 'instance')
      this.state.set(`${entry.instanceId}/${entry.region}`, {
        activated: entry.activated,
        fenced: entry.fenced,
      });
    if (!['instance', 'weights', 'region'].includes(entry.kind) || !this.f.setup) return [];
    const out: Violation[] = [];
    for (const instance of this.f.setup.instances) {
      if (instance.critical) continue;
      const weights = this.f.weights.get(instance.id);
      const primaries = this.f.setup.regions
        .map((r) => r.name)
        .filter((region) => {
          const s = this.state.get(`${instance.id}/${region}`);
          return (
            s?.activated &&
            !s.fenced &&
            !this.f.down.has(region) &&
            trafficShare(
              weights,
              region,
              (r) =>
                !this.f.down.has(r) && this.state.get(`${instance.id}/${r}`)?.activated === true,
            ) > 0
          );
        });
      if (primaries.length > 1) {
        out.push({
          invariant: this.name,
          t: entry.t,
          message: `${instance.id} has ${primaries.length} primaries: ${primaries.join(', ')} (weights ${JSON.stringify(weights)})`,
        });
      }
    }
    return out;
  }
}

/** A recovery out of a region starts only after that region truly went down as a whole. */
export class NoRecoveryWithoutRegionOutage implements Checker {
  readonly name = 'no-recovery-without-region-outage' as const;
  private readonly outages = new Set<string>();
  private readonly partial = new Map<string, string[]>();
  private readonly seen = new Set<string>();

  observe(entry: TraceEntry): Violation[] {
    if (entry.kind === 'region' && !entry.up && entry.cause === 'outage')
      this.outages.add(entry.region);
    if (entry.kind === 'region' && !entry.up && entry.cause === 'flap')
      this.partial.set(entry.region, [...(this.partial.get(entry.region) ?? []), 'flapping']);
    if (entry.kind === 'partial')
      this.partial.set(entry.region, [...(this.partial.get(entry.region) ?? []), entry.what]);
    if (entry.kind !== 'run' || entry.runKind !== 'recovery' || this.seen.has(entry.runId))
      return [];
    this.seen.add(entry.runId);
    if (this.outages.has(entry.from)) return [];
    const faults = [...new Set(this.partial.get(entry.from) ?? [])];
    return [
      {
        invariant: this.name,
        t: entry.t,
        message: `${entry.runId} recovers ${entry.instanceId} out of ${entry.from}, which never had a region outage (only: ${faults.join(', ') || 'nothing'})`,
      },
    ];
  }
}

/**
 * Every write a client saw accepted is, at the end, in the region serving the instance, for
 * every instance that went through a failback (completed, failed or rolled back).
 */
export class FailbackKeepsWrites implements Checker {
  readonly name = 'failback-keeps-writes' as const;
  private readonly last = new Map<string, Map<string, { hash: string; region: string }>>();
  private readonly failedBack = new Set<string>();

  observe(entry: TraceEntry): Violation[] {
    if (entry.kind === 'write' && entry.accepted) {
      const writes = this.last.get(entry.instanceId) ?? new Map();
      writes.set(entry.key, { hash: entry.valueHash, region: entry.region });
      this.last.set(entry.instanceId, writes);
    }
    if (entry.kind === 'run' && entry.runKind === 'failback') this.failedBack.add(entry.instanceId);
    if (entry.kind !== 'end') return [];
    return this.atEnd(entry);
  }

  private atEnd(end: EndEntry): Violation[] {
    const out: Violation[] = [];
    for (const instanceId of this.failedBack) {
      const serving = end.serving.find((s) => s.instanceId === instanceId);
      const lost = [...(this.last.get(instanceId) ?? new Map())].filter(
        ([key, write]) => serving?.contents[key] !== write.hash,
      );
      if (lost.length === 0) continue;
      out.push({
        invariant: this.name,
        t: end.t,
        message: `${instanceId} serves from ${serving?.region ?? 'nowhere'} without ${lost.length} accepted write(s): ${lost
          .slice(0, 3)
          .map(([key, w]) => `${key} (accepted in ${w.region})`)
          .join(', ')}`,
      });
    }
    return out;
  }
}

/**
 * No write that any instance accepted is ever lost: at the end, every accepted write (the last
 * value of each key) is in the region that serves the instance, for every instance and whatever
 * runs it went through (recovery, kept home, failback, rollback, active-active, none).
 */
export class NoWriteLost implements Checker {
  readonly name = 'no-write-lost' as const;
  private readonly last = new Map<string, Map<string, { hash: string; region: string }>>();

  observe(entry: TraceEntry): Violation[] {
    if (entry.kind === 'write' && entry.accepted) {
      const writes = this.last.get(entry.instanceId) ?? new Map();
      writes.set(entry.key, { hash: entry.valueHash, region: entry.region });
      this.last.set(entry.instanceId, writes);
    }
    if (entry.kind !== 'end') return [];
    const out: Violation[] = [];
    for (const [instanceId, writes] of this.last) {
      const serving = entry.serving.find((s) => s.instanceId === instanceId);
      const lost = [...writes].filter(([key, write]) => serving?.contents[key] !== write.hash);
      if (lost.length === 0) continue;
      out.push({
        invariant: this.name,
        t: entry.t,
        message: `${instanceId} serves from ${serving?.region ?? 'nowhere'} without ${lost.length} accepted write(s): ${lost
          .slice(0, 3)
          .map(([key, w]) => `${key} (accepted in ${w.region})`)
          .join(', ')}`,
      });
    }
    return out;
  }
}

/**
 * The failback rule of docs/recovery.md: home takes no config write during the canary, so a
 * rollback cannot strand one there. A write accepted in a failback's home while the run is
 * running with verify done and all traffic not yet home breaks it.
 */
export class HomeFencedThroughCanary implements Checker {
  readonly name = 'home-fenced-through-canary' as const;
  private readonly f = new Follow();

  observe(entry: TraceEntry): Violation[] {
    this.f.take(entry);
    if (entry.kind !== 'write' || !entry.accepted) return [];
    const canary = [...this.f.runs.values()].find(
      (r) =>
        r.runKind === 'failback' &&
        r.status === 'running' &&
        r.instanceId === entry.instanceId &&
        r.target === entry.region &&
        r.stepsDone.includes('verify') &&
        !r.stepsDone.includes('shift'),
    );
    if (!canary) return [];
    const weights = this.f.weights.get(entry.instanceId) ?? {};
    const allHome = Object.entries(weights).every(([r, w]) => (r === entry.region) === w > 0);
    if (allHome) return [];
    return [
      {
        invariant: this.name,
        t: entry.t,
        message: `${entry.region} accepted ${entry.key} for ${entry.instanceId} during the canary of ${canary.runId} (weights ${JSON.stringify(weights)}): a rollback would lose it`,
      },
    ];
  }
}

/**
 * No slot is held by two live reservations, no reservation sits on a slot the bucket gives to
 * another run, and none takes a slot of the instances homed in the region.
 */
export class NoDoubleBookedSlot implements Checker {
  readonly name = 'no-double-booked-slot' as const;
  private readonly f = new Follow();
  private readonly reported = new Set<string>();

  observe(entry: TraceEntry): Violation[] {
    this.f.take(entry);
    if ((entry.kind !== 'run' && entry.kind !== 'slot') || !this.f.setup) return [];
    const out: Violation[] = [];
    const holders = new Map<string, string>();
    const report = (key: string, message: string) => {
      if (this.reported.has(key)) return;
      this.reported.add(key);
      out.push({ invariant: this.name, t: entry.t, message });
    };
    for (const run of this.f.liveReservations()) {
      const { region, slots } = run.reservation as { region: string; slots: number[] };
      const homeUnits = this.f.setup.regions.find((r) => r.name === region)?.homeUnits ?? 0;
      for (const slot of slots) {
        const key = `${region}/${slot}`;
        const other = holders.get(key);
        if (other && other !== run.runId)
          report(`two:${key}`, `slot ${key} is reserved by both ${other} and ${run.runId}`);
        holders.set(key, run.runId);
        const inBucket = this.f.slots.get(key);
        if (inBucket && inBucket !== run.runId)
          report(
            `bucket:${key}:${run.runId}`,
            `${run.runId} counts on slot ${key}, which the control bucket gives to ${inBucket}`,
          );
        if (slot < homeUnits)
          report(
            `home:${key}`,
            `${run.runId} took slot ${key}, one of the ${homeUnits} held by instances homed in ${region}`,
          );
      }
    }
    return out;
  }
}

/**
 * Every run ends completed, or failed with its step and reason, or (when still marked running)
 * an operator's `lifeboat resume` takes it to one of those. Nothing stays stuck.
 */
export class NoStuckRun implements Checker {
  readonly name = 'no-stuck-run' as const;

  observe(entry: TraceEntry): Violation[] {
    if (entry.kind !== 'end') return [];
    const out: Violation[] = [];
    for (const run of entry.runs) {
      const problem =
        run.status === 'failed' && (!run.reason || !run.failedStep)
          ? 'failed without naming its step and reason'
          : run.status === 'running' &&
              run.operatorResume !== 'completed' &&
              run.operatorResume !== 'failed'
            ? `still running at the end, and lifeboat resume left it ${run.operatorResume ?? 'untried'}`
            : undefined;
      if (problem)
        out.push({ invariant: this.name, t: entry.t, message: `${run.runId} ${problem}` });
    }
    return out;
  }
}

/** A fresh set of every checker. */
export function allCheckers(): Checker[] {
  return [
    new TrafficLeavesFailedRegion(),
    new SinglePrimary(),
    new RestoreMatchesSnapshot(),
    new NoRecoveryWithoutRegionOutage(),
    new FailbackKeepsWrites(),
    new NoDoubleBookedSlot(),
    new NoStuckRun(),
    new NoWriteLost(),
    new HomeFencedThroughCanary(),
    new RestoreTestIsolated(),
    new CommittedSnapshotWhole(),
    new SnapshotKept(),
  ];
}

/** Runs every checker over a whole trace (tests, and replays of a recorded trace). */
export function checkTrace(trace: readonly TraceEntry[], checkers = allCheckers()): Violation[] {
  const out: Violation[] = [];
  for (const entry of trace) for (const checker of checkers) out.push(...checker.observe(entry));
  return out;
}
