import { SimulatedCrash } from '../shared/adapters/memory/crash.ts';
import { snapshotQuorum } from '../shared/config/load.ts';
import { rateToSeconds } from '../shared/config/schema.ts';
import { detect, regionStateKey } from '../shared/domain/detection/detect.ts';
import { CHAIN_TRIGGERS, FUNCTIONS, type StepFunction } from '../shared/domain/events.ts';
import { FAILBACK_TABLE } from '../shared/domain/recovery/failback-run.ts';
import { RECOVERY_TABLE, runRecoveryStep } from '../shared/domain/recovery/recovery-run.ts';
import { respondToOutage, respondToRecovery } from '../shared/domain/recovery/respond.ts';
import { driveRun, loadRun, type RecoveryDeps } from '../shared/domain/recovery/run-store.ts';
import { runRestoreTest, scratchIdFor } from '../shared/domain/snapshot/restore-test.ts';
import {
  runSnapshots,
  type SnapshotJob,
  type SnapshotRunSummary,
} from '../shared/domain/snapshot/run.ts';
import type { Rng } from '../shared/random.ts';
import { parseDetectorEvent } from '../shared/schemas/detection-events.ts';
import {
  parseChainEvent,
  parseOutageConfirmed,
  parseRegionRecovered,
} from '../shared/schemas/recovery-events.ts';
import type { EventDelivery } from './delivery.ts';
import { busFor, portsFor } from './ports.ts';
import type { SeedContext } from './seed-context.ts';
import type { Invocation } from './world.ts';

/**
 * The functions of the simulation: the same domain calls the Lambda handlers make (the handlers
 * only parse, log and wire), plus the operator who answers the failure alerts.
 */

const OPERATOR_DELAY_MS = 60_000;
const OPERATOR_TRIES = 3;

/** The functions one seed runs, by their short names (the catalog's `FUNCTIONS[…].short`). */
export class SimFunctions {
  private readonly operatorTries = new Map<string, number>();

  constructor(
    private readonly ctx: SeedContext,
    private readonly delivery: EventDelivery,
  ) {}

  /** Runs function `fn` on `inv` (the bus calls this for every delivery). */
  readonly dispatch = (fn: string, inv: Invocation, envelope: unknown): Promise<unknown> =>
    (this.handlers[fn] as (i: Invocation, e: unknown) => Promise<unknown>)(inv, envelope);

  /** The operator finds a run stuck without an alert (`lifeboat status`): tries start again. */
  forgetTries(runId: string): void {
    this.operatorTries.delete(runId);
  }

  recoveryDeps(inv: Invocation): RecoveryDeps {
    const { world, config, clock, regions, sched } = this.ctx;
    const ports = portsFor(world, inv);
    return {
      config,
      region: inv.region,
      clock,
      ...ports,
      bus: busFor(world, inv, this.delivery.deliver),
      // As composition.recoveryDeps: the detector's view in this region decides what is unhealthy.
      unhealthyRegions: async () => {
        const store = ports.documents(inv.region);
        const unhealthy = new Set<string>();
        for (const region of regions) {
          try {
            const state = (await store.load(regionStateKey(region)))?.value as
              | { status?: string }
              | undefined;
            if (state?.status === 'outage' || state?.status === 'recovering') unhealthy.add(region);
          } catch {
            // No detector state readable: judge by capacity and reachability alone.
          }
        }
        return unhealthy;
      },
      sleep: (ms) => sched.sleep(ms),
    };
  }

  private readonly handlers: Record<
    string,
    (inv: Invocation, envelope: unknown) => Promise<unknown>
  > = {
    detect: (inv, envelope) =>
      detect({
        signals: parseDetectorEvent(envelope, this.ctx.config),
        regions: this.ctx.regions,
        store: portsFor(this.ctx.world, inv).documents(inv.region),
        bus: busFor(this.ctx.world, inv, this.delivery.deliver),
        settings: this.ctx.settings,
        // The handler's jittered backoff, on the virtual clock.
        backoff: (attempt) =>
          this.ctx.sched.sleep(this.ctx.faultRng.int(0, Math.min(1000, 20 * 2 ** attempt))),
      }),
    plan: (inv, envelope) =>
      respondToOutage(this.recoveryDeps(inv), parseOutageConfirmed(envelope, this.ctx.config)),
    restore: (inv, envelope) => this.chainStep(inv, envelope, 'restoreInstance'),
    verify: (inv, envelope) => this.chainStep(inv, envelope, 'verifyInstance'),
    shift: (inv, envelope) => this.chainStep(inv, envelope, 'shiftTraffic'),
    failback: (inv, envelope) =>
      respondToRecovery(this.recoveryDeps(inv), parseRegionRecovered(envelope, this.ctx.config)),
    snapshot: async (inv, trigger) => {
      const { force } = trigger as { force: boolean };
      const ids = this.ctx.config.instances
        .filter((i) => i.homeRegion === inv.region)
        .map((i) => i.id);
      const jobs = ids.map((id) => this.snapshotJob(id, inv));
      const summary = await runSnapshots({
        jobs,
        triggerTime: this.ctx.clock.now(),
        force,
        bus: busFor(this.ctx.world, inv, this.delivery.deliver),
        clock: this.ctx.clock,
      });
      this.recordSnapshotRun(inv, force, jobs, summary);
      // As the handler does: only unpublished events fail the invocation (Lambda retries it);
      // a failed snapshot waits for the next schedule tick.
      if (summary.unpublished.length > 0) throw new Error('snapshot events unpublished');
    },
    operator: async (_inv, envelope) => {
      const runId = (envelope as { detail: { runId: string } }).detail.runId;
      this.ctx.sched.schedule(
        this.ctx.sched.now + OPERATOR_DELAY_MS,
        () => void this.operatorResume(runId),
      );
    },
  };

  /**
   * The restoreTest function on its schedule: the domain's runRestoreTest on the world's ports,
   * with every store write and delete it makes watched, traced for the isolation invariant.
   * Its events reach no function (the catalog routes none), so they are not delivered.
   */
  readonly restoreTest = async (inv: Invocation, instanceId: string, pick: Rng): Promise<void> => {
    const { config, world, clock, sched, record } = this.ctx;
    const instance = config.instances.find((i) => i.id === instanceId);
    if (!instance) throw new Error(`sim: no instance ${instanceId}`);
    const ports = portsFor(world, inv);
    const touched = new Set<string>();
    let region = '';
    let passed = false;
    let reason: string | undefined;
    try {
      const result = await runRestoreTest({
        instanceId,
        replicas: instance.replicaRegions.map((r) => ({ region: r, vault: ports.vault(r) })),
        scratchStore: (r) => {
          region = r;
          const store = ports.instanceStore(r);
          return {
            ...store,
            write: (id, key, body) => {
              touched.add(id);
              return store.write(id, key, body);
            },
            delete: (id, keys) => {
              touched.add(id);
              return store.delete(id, keys);
            },
          };
        },
        pick: (n) => pick.int(0, n - 1),
        clock,
        bus: {
          publish: () =>
            world.call(inv, 'events', inv.region, 'PutEvents', () => undefined, {
              mutates: true,
            }),
        },
      });
      passed = result.passed;
      reason = result.reason;
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) throw error;
      reason = error.message;
    }
    const scratchId = scratchIdFor(instanceId);
    record({
      kind: 'restore-test',
      t: sched.now,
      instanceId,
      region,
      passed,
      ...(reason ? { reason } : {}),
      touched: [...touched].sort(),
      scratchId,
      scratchLeft: region ? world.objectsOf(region, scratchId).size : 0,
    });
  };

  private chainStep(inv: Invocation, envelope: unknown, fn: StepFunction) {
    const trigger = parseChainEvent(envelope, CHAIN_TRIGGERS[fn], this.ctx.config);
    return runRecoveryStep(
      this.recoveryDeps(inv),
      trigger.runId,
      FUNCTIONS[fn].step,
      trigger.claimSet,
    );
  }

  /** `lifeboat resume --run <id> --approve`: what an operator does after "Recovery Failed". */
  readonly operatorResume = async (runId: string): Promise<string> => {
    const { world, regions } = this.ctx;
    const tries = (this.operatorTries.get(runId) ?? 0) + 1;
    this.operatorTries.set(runId, tries);
    if (tries > OPERATOR_TRIES) return 'gave-up';
    const acting = regions.find((r) => !world.regionDown.has(r)) as string;
    const inv = world.invocation('operator', acting);
    const deps = this.recoveryDeps(inv);
    try {
      const run = await loadRun(deps, runId, regions);
      if (!run || run.status === 'completed' || run.rolledBack) return run?.status ?? 'error';
      const acted =
        run.kind === 'recovery' && run.from === acting
          ? regions.find((r) => r !== run.from && !world.regionDown.has(r))
          : acting;
      const actingDeps =
        acted === acting ? deps : this.recoveryDeps(world.invocation('operator', acted as string));
      const table = run.kind === 'recovery' ? RECOVERY_TABLE : FAILBACK_TABLE;
      const after = await driveRun(actingDeps, run, table, { resume: true });
      return after.status;
    } catch {
      // A step that gives up throws after recording the run as failed: report what was recorded.
      return world.runs.get(runId)?.status ?? 'error';
    }
  };

  /** What a snapshot invocation says it did, beside what the vaults hold (snapshot-kept). */
  private recordSnapshotRun(
    inv: Invocation,
    force: boolean,
    jobs: readonly SnapshotJob[],
    summary: SnapshotRunSummary,
  ): void {
    const { world, config, sched, record } = this.ctx;
    // A dead invocation's summary is what a killed process never returned.
    if (inv.dead) return;
    record({
      kind: 'snapshot-run',
      t: sched.now,
      region: inv.region,
      force,
      outcomes: summary.outcomes.map((outcome) => {
        const snapshotId =
          outcome.status === 'skipped' ? outcome.lastSnapshotId : outcome.result?.snapshotId;
        const heldBy = config.regions
          .map((r) => r.name)
          .filter((region) =>
            world
              .committedSnapshots(region, outcome.instanceId)
              .some((s) => s.snapshotId === snapshotId && s.problem === undefined),
          );
        const quorum = jobs.find((j) => j.instanceId === outcome.instanceId)?.quorum ?? 1;
        return {
          instanceId: outcome.instanceId,
          status: outcome.status,
          ...(snapshotId ? { snapshotId } : {}),
          quorum,
          heldBy,
        };
      }),
    });
  }

  private snapshotJob(instanceId: string, inv: Invocation): SnapshotJob {
    const { config, world } = this.ctx;
    const instance = config.instances.find((i) => i.id === instanceId);
    if (!instance) throw new Error(`sim: no instance ${instanceId}`);
    const ports = portsFor(world, inv);
    return {
      instanceId,
      intervalSeconds: rateToSeconds(instance.snapshot.schedule),
      quorum: snapshotQuorum(instance),
      retention: instance.snapshot.retention,
      sourceRegion: instance.homeRegion,
      source: ports.instanceStore(instance.homeRegion),
      replicas: instance.replicaRegions.map((region) => ({ region, vault: ports.vault(region) })),
      // Backoff on the virtual clock, as the composition's real timer does on AWS.
      sleep: (ms) => this.ctx.sched.sleep(ms),
      ...(instance.critical
        ? {
            mirrors: (instance.activeRegions ?? [])
              .filter((r) => r !== instance.homeRegion)
              .map((region) => ({
                region,
                store: ports.instanceStore(region),
                activate: () => ports.instances.activate(instance.id, region),
              })),
          }
        : {}),
    };
  }
}
