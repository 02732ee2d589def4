import { setTimeout as sleep } from 'node:timers/promises';
import { dnsSpecFor } from '../../shared/domain/recovery/dns-spec.ts';
import type { Weights } from '../../shared/domain/recovery/ports.ts';
import type { RecoveryRun } from '../../shared/domain/recovery/run.ts';
import { loadRun } from '../../shared/domain/recovery/run-store.ts';
import type { DrillPractice } from './practice.ts';
import type { DrillReport, InstanceOutcome, Invariant, TimelineEntry } from './report.ts';
import { ownTime } from './timeline.ts';
import type { DrillWorld } from './world.ts';

/** How often `run` looks whether what it waits for has happened. */
const RUN_CHECK_MS = 50;

/** One weight change, for the report's weights-over-time chart. */
export interface WeightsReading {
  at: string;
  tSeconds: number;
  instanceId: string;
  weights: Weights;
}

/**
 * What one drill records while it plays: the timeline (its own marks and every delivered
 * event), the invariants and whether they held, DNS weight readings, and each instance's
 * outcome. The scenario phases (phases.ts) drive the world through it.
 */
export class DrillSession {
  readonly started = new Date();
  readonly timeline: TimelineEntry[] = [];
  readonly invariants: Invariant[] = [];
  readonly weightsOverTime: WeightsReading[] = [];
  readonly instancesOut: InstanceOutcome[] = [];
  readonly dns: DrillReport['dns'] = {};
  /** The run records behind the delivered events, read back once the drill is over. */
  readonly runs = new Map<string, RecoveryRun>();
  outageAt: Date | undefined;
  /** When the failed home region answered again. */
  homeBackAt: Date | undefined;
  /** The practice run the drill played (practice.ts). */
  practice: DrillPractice | undefined;
  private seen = 0;

  constructor(
    readonly world: DrillWorld,
    private readonly log: (line: string) => void,
  ) {}

  /** Seconds since the drill started, to a tenth. */
  t(at: Date): number {
    return Math.round((at.getTime() - this.started.getTime()) / 100) / 10;
  }

  /** A timeline entry of the drill's own, logged as it happens (or at `at`, when it began). */
  mark(kind: string, detail: string, instanceId?: string, at: Date = new Date()): void {
    this.timeline.push({
      at: at.toISOString(),
      tSeconds: this.t(at),
      kind,
      detail,
      ...(instanceId ? { instanceId } : {}),
    });
    this.log(`[${this.t(at).toFixed(1).padStart(5)}s] ${kind}: ${detail}`);
  }

  /** Records whether an invariant held. */
  hold(name: string, held: boolean, detail: string): void {
    this.invariants.push({ name, held, detail });
  }

  /** Reads an instance's weights from DNS and marks the reading on the timeline. */
  async readWeights(instanceId: string, label: string): Promise<Weights> {
    const instance = this.world.config.instances.find((i) => i.id === instanceId);
    if (!instance) return {};
    const weights = await this.world.recovery.dns.readWeights(dnsSpecFor(instance));
    this.mark(
      'dns',
      `${label}: ${Object.entries(weights)
        .map(([r, w]) => `${r}=${w}`)
        .join(' ')}`,
      instanceId,
    );
    return weights;
  }

  /** Events of a detail type delivered so far (for one instance, when given). */
  delivered(type: string, instanceId?: string) {
    return this.world.delivered.filter(
      (e) => e.detailType === type && (!instanceId || e.detail.instanceId === instanceId),
    );
  }

  /** Logs the events delivered since the last call (their timeline entries come in `settle`). */
  drainTimeline(): void {
    for (const event of this.world.delivered.slice(this.seen)) {
      const d = event.detail;
      const who = typeof d.instanceId === 'string' ? d.instanceId : '';
      const where = (d.target ?? d.region ?? d.zone ?? '') as string;
      this.log(
        `[${this.t(event.at).toFixed(1).padStart(5)}s] event: ${event.detailType} ${who} ${where}`,
      );
    }
    this.seen = this.world.delivered.length;
  }

  /**
   * Once the drill is over (the world still up): reads back the run record behind every
   * delivered event, then puts each event on the timeline at its own time (ownTime) and every
   * applied weight change into the weights over time. The drill noticing an event is not when
   * it happened.
   */
  async settle(): Promise<void> {
    const { world } = this;
    if (world.recovery) {
      const claims = new Map<string, string[]>();
      for (const { detail } of world.delivered) {
        if (typeof detail.runId !== 'string' || claims.has(detail.runId)) continue;
        const claimSet = Array.isArray(detail.claimSet) ? detail.claimSet.map(String) : [];
        claims.set(detail.runId, claimSet.length > 0 ? claimSet : world.regionNames);
      }
      for (const [runId, regions] of claims) {
        const run = await loadRun(world.recovery, runId, regions).catch(() => undefined);
        if (run) this.runs.set(runId, run);
      }
    }
    for (const event of world.delivered) {
      const d = event.detail;
      const who = typeof d.instanceId === 'string' ? d.instanceId : undefined;
      const where = (d.target ?? d.region ?? d.zone ?? '') as string;
      const { at, source } = ownTime(event, this.runs);
      this.timeline.push({
        at: at.toISOString(),
        tSeconds: this.t(at),
        kind: event.detailType,
        detail: `${where}${d.runId ? ` (${d.runId})` : ''}`,
        timeFrom: source,
        ...(who ? { instanceId: who } : {}),
      });
    }
    for (const change of world.weightChanges) {
      this.weightsOverTime.push({
        at: change.at.toISOString(),
        tSeconds: this.t(change.at),
        instanceId: change.instanceId,
        weights: change.weights,
      });
    }
    this.weightsOverTime.sort((a, b) => a.at.localeCompare(b.at));
  }

  /**
   * Lets the world run (its probe schedule and the pump run on their own clocks, see
   * DrillWorld.startSchedules) until `done` or the deadline.
   */
  async run(ms: number, done: () => boolean = () => false): Promise<boolean> {
    this.world.startSchedules();
    const deadline = Date.now() + ms;
    for (;;) {
      this.drainTimeline();
      if (done()) return true;
      if (Date.now() >= deadline) return false;
      await sleep(RUN_CHECK_MS);
    }
  }
}
