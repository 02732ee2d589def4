import type { InstanceConfig, LifeboatConfig } from '../../config/schema.ts';
import { LifeboatError, WriteConflictError } from '../../errors.ts';
import type { BlobStore, Clock, DocumentStore, EventBus, InstanceStore } from '../ports.ts';
import { listCommittedSnapshotIds, readManifest } from '../snapshot/catalog.ts';
import { snapshotTime } from '../snapshot/format.ts';
import { restoreSnapshot } from '../snapshot/restore.ts';
import { reservedSlots, reserveSlots } from './capacity.ts';
import { type ClaimRecord, claim, claimSet, readClaim } from './claims.ts';
import type { DnsRecordSpec, DnsRouting, InstanceControl, Weights } from './ports.ts';
import { chooseTarget } from './region-choice.ts';
import { describeWeights, failoverWeights } from './weights.ts';

/**
 * One recovery of one instance out of a failed region, as a resumable run: claimed once,
 * then plan → restore → verify → shift, each step idempotent and recorded before the next
 * one starts, so a crash anywhere resumes from the run's recorded state.
 */

/** The steps of a recovery run, in order. */
export const RECOVERY_STEPS = ['plan', 'restore', 'verify', 'shift'] as const;
/** One step's name. */
export type StepName = (typeof RECOVERY_STEPS)[number];

/** How one step went. */
export interface StepRecord {
  status: 'pending' | 'done' | 'failed';
  attempts: number;
  at?: string;
  detail?: string;
}

/** The recorded state of a run, stored in the control buckets of its claim set. */
export interface RecoveryRun {
  runId: string;
  instanceId: string;
  generation: number;
  from: string;
  claimant: string;
  claimSet: string[];
  status: 'running' | 'completed' | 'failed';
  reason?: string;
  failedStep?: StepName;
  incident: { incidentId?: string; outageStartedAt?: string; confirmedAt?: string };
  target?: string;
  reservation?: { region: string; slots: number[] };
  snapshot?: { snapshotId: string; region: string; configDigest: string; takenAt: string };
  weights?: { before: Weights; after: Weights };
  metrics?: {
    shiftedAt: string;
    rtoFromConfirmedSeconds?: number;
    rtoFromOutageStartSeconds?: number;
    rpoSeconds?: number;
  };
  steps: Record<StepName, StepRecord>;
  /** Bumped on every write; readers take the highest they can reach. */
  seq: number;
  startedAt: string;
  updatedAt: string;
}

/** Everything a run needs from outside. */
export interface RecoveryDeps {
  config: LifeboatConfig;
  clock: Clock;
  /** A region's control bucket, as compare-and-swap documents. */
  documents(region: string): DocumentStore;
  /** Deletes a key from a region's control bucket (capacity release). */
  deleteControlKey(region: string, key: string): Promise<void>;
  vault(region: string): BlobStore;
  instanceStore(region: string): InstanceStore;
  dns: DnsRouting;
  instances: InstanceControl;
  bus: EventBus;
  /** Regions the detector currently holds in outage (never chosen as targets). */
  unhealthyRegions(): Promise<Set<string>>;
  /** Waits between attempts of a step. */
  sleep(ms: number): Promise<void>;
  /** Attempts per step before the run fails (resumable). */
  stepAttempts?: number;
  verifyAttempts?: number;
}

/** Why a step gave up, with what to tell the operator. */
export class RecoveryStepError extends LifeboatError {
  constructor(
    readonly step: StepName,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RecoveryStepError';
  }
}

const generationKey = (instanceId: string, generation: number) =>
  `instances/${instanceId}/generations/${String(generation).padStart(6, '0')}.json`;
const runKey = (runId: string) => `runs/${runId}.json`;
const secondsBetween = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

/** The DNS record lifeboat manages for an instance: one weighted CNAME per region with an endpoint. */
export function dnsSpecFor(instance: InstanceConfig): DnsRecordSpec {
  const targets: Record<string, string> = {};
  for (const [region, endpoint] of Object.entries(instance.endpoints))
    targets[region] = new URL(endpoint.url).hostname;
  return {
    instanceId: instance.id,
    hostedZoneId: instance.dns.hostedZoneId,
    recordName: instance.dns.recordName,
    ttl: instance.dns.ttl,
    targets,
  };
}

/** Reads a run from the reachable buckets of its claim set: the most advanced copy wins. */
export async function loadRun(
  deps: RecoveryDeps,
  runId: string,
  regions: readonly string[],
): Promise<RecoveryRun | undefined> {
  let best: RecoveryRun | undefined;
  await Promise.all(
    regions.map(async (region) => {
      try {
        const run = (await deps.documents(region).load(runKey(runId)))?.value as
          | RecoveryRun
          | undefined;
        if (run && (!best || run.seq > best.seq)) best = run;
      } catch {
        // An unreachable region holds no vote here.
      }
    }),
  );
  return best;
}

/**
 * Records the run in every reachable bucket of its claim set. Only the claim's owner writes a
 * run, so the compare-and-swap guards against a stale owner (an older invocation still going)
 * rather than against a rival.
 */
export async function saveRun(deps: RecoveryDeps, run: RecoveryRun): Promise<RecoveryRun> {
  const next: RecoveryRun = { ...run, seq: run.seq + 1, updatedAt: deps.clock.now().toISOString() };
  let written = 0;
  await Promise.all(
    run.claimSet.map(async (region) => {
      const store = deps.documents(region);
      try {
        const current = await store.load(runKey(run.runId));
        const stored = current?.value as RecoveryRun | undefined;
        if (stored && stored.seq >= next.seq) return; // someone newer already wrote
        await store.save(runKey(run.runId), next, current?.version);
        written += 1;
      } catch (error) {
        if (error instanceof WriteConflictError) return;
      }
    }),
  );
  if (written === 0) {
    throw new RecoveryStepError(
      'plan',
      `run ${run.runId} could not be recorded in any region of ${run.claimSet.join(', ')}`,
    );
  }
  return next;
}

/** The newest generation decided for an instance, and its run id. */
export async function latestGeneration(
  deps: RecoveryDeps,
  instanceId: string,
): Promise<{ generation: number; claim?: ClaimRecord }> {
  const regions = deps.config.regions.map((r) => r.name);
  let generation = 0;
  let latest: ClaimRecord | undefined;
  for (;;) {
    const next = await readClaim(generationKey(instanceId, generation + 1), regions, (r) =>
      deps.documents(r),
    );
    if (!next) return { generation, ...(latest ? { claim: latest } : {}) };
    generation += 1;
    latest = next;
  }
}

/** How a request to recover an instance ended. */
export type StartOutcome =
  | { outcome: 'started' | 'resumed'; run: RecoveryRun }
  | { outcome: 'duplicate'; runId: string; claimant: string }
  | { outcome: 'not-primary'; primary: string }
  | { outcome: 'undecided'; holders: Record<string, string> };

/**
 * Claims the next generation of an instance for a recovery out of `failedRegion`, unless the
 * instance is not (any longer) primary there or another claimant already runs it.
 */
export async function startRecovery(
  deps: RecoveryDeps,
  input: {
    instance: InstanceConfig;
    failedRegion: string;
    claimant: string;
    incident: RecoveryRun['incident'];
  },
): Promise<StartOutcome> {
  const { instance, failedRegion } = input;
  const regions = deps.config.regions.map((r) => r.name);
  const { generation, claim: latest } = await latestGeneration(deps, instance.id);
  let primary = instance.homeRegion;
  if (latest) {
    const runId = String(latest.payload.runId);
    const run = await loadRun(deps, runId, latest.claimSet);
    if (latest.payload.from === failedRegion) {
      // The same outage, seen again (another detector, a late or repeated event). A failed run
      // is not restarted behind the operator's back: `lifeboat resume` picks it up.
      if (latest.claimant === input.claimant && run) return { outcome: 'resumed', run };
      return { outcome: 'duplicate', runId, claimant: latest.claimant };
    }
    primary = run?.status === 'completed' && run.target ? run.target : primary;
  }
  if (primary !== failedRegion) return { outcome: 'not-primary', primary };

  const next = generation + 1;
  const runId = `${instance.id}-g${next}`;
  const now = deps.clock.now().toISOString();
  const set = claimSet(regions, [failedRegion]);
  const result = await claim(
    {
      key: generationKey(instance.id, next),
      claimant: input.claimant,
      claimSet: set,
      claimedAt: now,
      payload: { runId, kind: 'recovery', from: failedRegion, instanceId: instance.id },
    },
    (r) => deps.documents(r),
  );
  if (result.outcome === 'undecided') return { outcome: 'undecided', holders: result.holders };
  if (result.outcome === 'lost') {
    return {
      outcome: 'duplicate',
      runId: String(result.winner.payload.runId),
      claimant: result.winner.claimant,
    };
  }
  const existing = await loadRun(deps, runId, set);
  if (existing) return { outcome: 'resumed', run: existing };
  const steps = Object.fromEntries(
    RECOVERY_STEPS.map((s) => [s, { status: 'pending', attempts: 0 }]),
  ) as Record<StepName, StepRecord>;
  const run = await saveRun(deps, {
    runId,
    instanceId: instance.id,
    generation: next,
    from: failedRegion,
    claimant: input.claimant,
    claimSet: set,
    status: 'running',
    incident: input.incident,
    steps,
    seq: 0,
    startedAt: now,
    updatedAt: now,
  });
  return { outcome: 'started', run };
}

function instanceOf(deps: RecoveryDeps, run: RecoveryRun): InstanceConfig {
  const instance = deps.config.instances.find((i) => i.id === run.instanceId);
  if (!instance)
    throw new RecoveryStepError('plan', `instance ${run.instanceId} is no longer configured`);
  return instance;
}

const homeUnits = (config: LifeboatConfig, region: string) =>
  config.instances
    .filter((i) => i.homeRegion === region)
    .reduce((sum, i) => sum + i.capacityUnits, 0);

/** plan: choose the nearest healthy region with room, reserve the room, pick the snapshot. */
async function plan(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  const instance = instanceOf(deps, run);
  const unhealthy = await deps.unhealthyRegions();
  unhealthy.add(run.from);
  const full = new Set<string>();
  for (;;) {
    const reservations = await currentReservations(deps, run.from);
    const choice = chooseTarget({
      config: deps.config,
      instance,
      failedRegion: run.from,
      unhealthy: new Set([...unhealthy, ...full]),
      reservations,
    });
    if (!choice.ok) throw new RecoveryStepError('plan', choice.reason);
    const region = deps.config.regions.find((r) => r.name === choice.region);
    if (!region)
      throw new RecoveryStepError('plan', `region ${choice.region} vanished from the config`);
    const reservation = await reserveSlots({
      store: deps.documents(region.name),
      region: region.name,
      capacity: region.capacity,
      firstFreeSlot: homeUnits(deps.config, region.name),
      units: instance.capacityUnits,
      runId: run.runId,
      instanceId: instance.id,
      at: deps.clock.now().toISOString(),
      release: (key) => deps.deleteControlKey(region.name, key),
    });
    if (!reservation.ok) {
      // Taken by another recovery since we looked: the next candidate gets its chance.
      full.add(region.name);
      continue;
    }
    const snapshot = await newestSnapshot(deps, instance, region.name);
    return {
      target: region.name,
      reservation: { region: region.name, slots: reservation.slots },
      snapshot,
    };
  }
}

/** Every slot other runs hold, region by region (the failed region's bucket is not asked). */
async function currentReservations(deps: RecoveryDeps, failedRegion: string) {
  const out: { region: string; units: number }[] = [];
  for (const region of deps.config.regions) {
    if (region.name === failedRegion) continue;
    try {
      for (const slot of await reservedSlots(
        deps.documents(region.name),
        region.name,
        region.capacity,
      )) {
        out.push({ region: slot.region, units: 1 });
      }
    } catch {
      // An unreachable region cannot be a target anyway; reserveSlots will find out.
    }
  }
  return out;
}

/** The newest committed snapshot, from the target's own bucket when it is a replica. */
async function newestSnapshot(deps: RecoveryDeps, instance: InstanceConfig, target: string) {
  const order = [target, ...instance.replicaRegions.filter((r) => r !== target)].filter((r) =>
    instance.replicaRegions.includes(r),
  );
  let best: { snapshotId: string; region: string } | undefined;
  for (const region of order) {
    try {
      const [newest] = await listCommittedSnapshotIds(deps.vault(region), instance.id);
      if (newest && (!best || newest > best.snapshotId)) best = { snapshotId: newest, region };
    } catch {
      // A replica in the failed region (or any unreachable one) simply does not offer a copy.
    }
  }
  if (!best)
    throw new RecoveryStepError(
      'plan',
      `no committed snapshot of ${instance.id} in any reachable replica`,
    );
  const manifest = await readManifest(deps.vault(best.region), instance.id, best.snapshotId);
  return {
    ...best,
    configDigest: manifest.configDigest,
    takenAt: snapshotTime(best.snapshotId).toISOString(),
  };
}

async function restore(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RecoveryStepError('restore', 'run has no plan');
  await restoreSnapshot({
    vault: deps.vault(snapshot.region),
    target: deps.instanceStore(target),
    instanceId: run.instanceId,
    snapshotId: snapshot.snapshotId,
  });
  await deps.instances.activate(run.instanceId, target);
  return {};
}

async function verify(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RecoveryStepError('verify', 'run has no plan');
  const attempts = deps.verifyAttempts ?? 10;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const health = await deps.instances.health(run.instanceId, target);
    if (health.ok && health.configDigest === snapshot.configDigest) return {};
    last = health.ok
      ? `serves config ${health.configDigest}, snapshot has ${snapshot.configDigest}`
      : (health.error ?? 'unhealthy');
    await deps.sleep(Math.min(5000, 200 * 2 ** attempt));
  }
  throw new RecoveryStepError(
    'verify',
    `instance in ${target} did not verify after ${attempts} checks: ${last}`,
  );
}

async function shift(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  const instance = instanceOf(deps, run);
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RecoveryStepError('shift', 'run has no plan');
  const spec = dnsSpecFor(instance);
  if (!spec.targets[target]) {
    throw new RecoveryStepError(
      'shift',
      `instance ${instance.id} has no endpoint in ${target} to route to`,
    );
  }
  const before = await deps.dns.readWeights(spec);
  const plan = failoverWeights(Object.keys(spec.targets), target);
  await deps.dns.applyWeights(spec, plan);
  const after = await deps.dns.readWeights(spec);
  if (describeWeights(after) !== describeWeights(plan)) {
    throw new RecoveryStepError(
      'shift',
      `DNS reads back ${describeWeights(after)}, expected ${describeWeights(plan)}`,
    );
  }
  const shiftedAt = deps.clock.now().toISOString();
  const { confirmedAt, outageStartedAt } = run.incident;
  return {
    weights: { before, after },
    metrics: {
      shiftedAt,
      ...(confirmedAt ? { rtoFromConfirmedSeconds: secondsBetween(confirmedAt, shiftedAt) } : {}),
      ...(outageStartedAt
        ? {
            rtoFromOutageStartSeconds: secondsBetween(outageStartedAt, shiftedAt),
            rpoSeconds: Math.max(0, secondsBetween(snapshot.takenAt, outageStartedAt)),
          }
        : {}),
    },
  };
}

const STEP_WORK: Record<
  StepName,
  (deps: RecoveryDeps, run: RecoveryRun) => Promise<Partial<RecoveryRun>>
> = {
  plan,
  restore,
  verify,
  shift,
};

/** Detail types of the recovery chain's events. */
export const RecoveryEvent = {
  plan: 'Recovery Planned',
  restore: 'Instance Restored',
  verify: 'Instance Verified',
  shift: 'Recovery Completed',
  failed: 'Recovery Failed',
} as const;

function eventDetail(run: RecoveryRun) {
  return {
    runId: run.runId,
    instanceId: run.instanceId,
    from: run.from,
    target: run.target,
    snapshot: run.snapshot,
    incident: run.incident,
    claimSet: run.claimSet,
    weights: run.weights,
    metrics: run.metrics,
  };
}

/**
 * Runs one step of a run, unless it is already done (then only its event is re-emitted, which
 * heals a chain whose event was lost). Retries the step; when it gives up the run is marked
 * failed with the step and the reason, and stays resumable.
 */
export async function runStep(
  deps: RecoveryDeps,
  runId: string,
  step: StepName,
  regions: readonly string[],
): Promise<RecoveryRun> {
  let run = await loadRun(deps, runId, regions);
  if (!run) throw new RecoveryStepError(step, `no recorded run ${runId}`);
  const index = RECOVERY_STEPS.indexOf(step);
  const previous = RECOVERY_STEPS[index - 1];
  if (previous && run.steps[previous].status !== 'done') {
    throw new RecoveryStepError(step, `run ${runId} cannot ${step} before ${previous} is done`);
  }
  if (run.steps[step].status === 'done') {
    await deps.bus.publish([{ detailType: RecoveryEvent[step], detail: eventDetail(run) }]);
    return run;
  }
  const attempts = deps.stepAttempts ?? 3;
  let failure: unknown;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    try {
      const changes = await STEP_WORK[step](deps, run);
      const done: StepRecord = {
        status: 'done',
        attempts: run.steps[step].attempts + attempt,
        at: deps.clock.now().toISOString(),
      };
      run = await saveRun(deps, {
        ...run,
        ...changes,
        status: step === 'shift' ? 'completed' : 'running',
        reason: undefined,
        failedStep: undefined,
        steps: { ...run.steps, [step]: done },
      });
      await deps.bus.publish([{ detailType: RecoveryEvent[step], detail: eventDetail(run) }]);
      return run;
    } catch (error) {
      failure = error;
      if (attempt < attempts) await deps.sleep(Math.min(10_000, 500 * 2 ** attempt));
    }
  }
  const reason = (failure as Error)?.message ?? String(failure);
  run = await saveRun(deps, {
    ...run,
    status: 'failed',
    failedStep: step,
    reason,
    steps: {
      ...run.steps,
      [step]: { status: 'failed', attempts: run.steps[step].attempts + attempts, detail: reason },
    },
  });
  await deps.bus.publish([
    { detailType: RecoveryEvent.failed, detail: { ...eventDetail(run), step, reason } },
  ]);
  throw new RecoveryStepError(step, `run ${runId} failed at ${step}: ${reason}`, {
    cause: failure,
  });
}

/** Runs every remaining step in order: the CLI's `resume`, and the chain in one process. */
export async function driveRun(deps: RecoveryDeps, run: RecoveryRun): Promise<RecoveryRun> {
  let current = run;
  for (const step of RECOVERY_STEPS) {
    if (current.steps[step].status === 'done') continue;
    current = await runStep(deps, current.runId, step, current.claimSet);
  }
  return current;
}
