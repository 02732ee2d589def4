import type { InstanceConfig, LifeboatConfig } from '../../config/schema.ts';
import { RunStepError } from '../../errors.ts';
import { listCommittedSnapshotIds, readManifest } from '../snapshot/catalog.ts';
import { snapshotTime } from '../snapshot/format.ts';
import { restoreSnapshot } from '../snapshot/restore.ts';
import { releaseSlots, reservedSlots, reserveSlots } from './capacity.ts';
import { claim, claimSet } from './claims.ts';
import type { DnsRecordSpec } from './ports.ts';
import { chooseTarget } from './region-choice.ts';
import {
  awaitServing,
  dnsSpecFor,
  driveRun,
  generationKey,
  instanceOf,
  latestGeneration,
  loadRun,
  type RecoveryDeps,
  type RecoveryRun,
  runStep,
  type StepRecord,
  type StepTable,
  saveRun,
  secondsBetween,
} from './run-store.ts';
import { describeWeights, failoverWeights, homeWeights } from './weights.ts';

/**
 * One recovery of one instance out of a failed region: claimed once, then
 * plan → restore → verify → shift, each step recorded before the next starts.
 */

/** The steps of a recovery run, in order. */
export const RECOVERY_STEPS = ['plan', 'restore', 'verify', 'shift'] as const;

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
    // A run that kept home is over (see keepHome): a new outage of home needs a new generation.
    const keptHome = latest.payload.kind === 'recovery' && run?.rolledBack === true;
    if (latest.payload.kind === 'recovery' && latest.payload.from === failedRegion && !keptHome) {
      // The same outage, seen again (another detector, a late or repeated event). A failed run
      // is not restarted behind the operator's back: `lifeboat resume` picks it up.
      if (latest.claimant === input.claimant) {
        if (run) return { outcome: 'resumed', run };
        // The claim was won but the run never recorded (a crash in between): record it now.
        return {
          outcome: 'started',
          run: await recordNewRun(deps, input, latest.claimSet, generation, runId),
        };
      }
      return { outcome: 'duplicate', runId, claimant: latest.claimant };
    }
    if (await isStale(deps, input.incident, latest, run)) {
      return { outcome: 'duplicate', runId, claimant: latest.claimant };
    }
    primary = servingRegion(instance, latest.payload.kind, run);
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
  return { outcome: 'started', run: await recordNewRun(deps, input, set, next, runId) };
}

/** Where the instance serves after its latest run: what a new outage must be compared with. */
function servingRegion(
  instance: InstanceConfig,
  kind: unknown,
  run: RecoveryRun | undefined,
): string {
  if (!run) return instance.homeRegion;
  if (kind === 'failback') {
    // A failback that did not complete (rolled back, or stopped) leaves the instance where
    // the recovery put it.
    return run.status === 'completed' ? (run.target ?? instance.homeRegion) : run.from;
  }
  return run.status === 'completed' && run.target ? run.target : run.from;
}

/**
 * An outage confirmation older than the latest generation, or for the incident an earlier
 * recovery already handled, is a late delivery: it must not start a recovery after failback.
 */
async function isStale(
  deps: RecoveryDeps,
  incident: RecoveryRun['incident'],
  latest: { claimedAt: string; payload: Record<string, unknown> },
  run: RecoveryRun | undefined,
): Promise<boolean> {
  if (incident.confirmedAt && Date.parse(incident.confirmedAt) < Date.parse(latest.claimedAt))
    return true;
  if (!incident.incidentId) return false;
  if (run?.incident.incidentId === incident.incidentId) return true;
  if (run?.recoveryRunId) {
    const undone = await loadRun(deps, run.recoveryRunId, run.claimSet);
    if (undone?.incident.incidentId === incident.incidentId) return true;
  }
  return false;
}

async function recordNewRun(
  deps: RecoveryDeps,
  input: {
    instance: InstanceConfig;
    failedRegion: string;
    claimant: string;
    incident: RecoveryRun['incident'];
  },
  set: string[],
  generation: number,
  runId: string,
): Promise<RecoveryRun> {
  const now = deps.clock.now().toISOString();
  const steps = Object.fromEntries(
    RECOVERY_STEPS.map((s) => [s, { status: 'pending', attempts: 0 }]),
  ) as Record<string, StepRecord>;
  return saveRun(deps, {
    runId,
    kind: 'recovery',
    instanceId: input.instance.id,
    generation,
    from: input.failedRegion,
    claimant: input.claimant,
    claimSet: set,
    status: 'running',
    incident: input.incident,
    steps,
    seq: 0,
    startedAt: now,
    updatedAt: now,
  });
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
    if (!choice.ok) throw new RunStepError('plan', choice.reason);
    const region = deps.config.regions.find((r) => r.name === choice.region);
    if (!region) throw new RunStepError('plan', `region ${choice.region} vanished from the config`);
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
    let snapshot: Awaited<ReturnType<typeof newestSnapshot>>;
    try {
      snapshot = await newestSnapshot(deps, instance, region.name);
    } catch (error) {
      // Nothing to restore: give the room back rather than hold it for a run that cannot go on.
      await releaseSlots({
        region: region.name,
        slots: reservation.slots,
        release: (key) => deps.deleteControlKey(region.name, key),
      });
      throw error;
    }
    return {
      target: region.name,
      reservation: { region: region.name, slots: reservation.slots },
      snapshot,
    };
  }
}

/** Every slot other runs hold, region by region (the failed region's bucket is not asked). */
export async function currentReservations(deps: RecoveryDeps, failedRegion: string) {
  const out: { region: string; units: number; instanceId: string }[] = [];
  for (const region of deps.config.regions) {
    if (region.name === failedRegion) continue;
    try {
      for (const slot of await reservedSlots(
        deps.documents(region.name),
        region.name,
        region.capacity,
      )) {
        out.push({ region: slot.region, units: 1, instanceId: slot.instanceId });
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
    throw new RunStepError(
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
  if (!target || !snapshot) throw new RunStepError('restore', 'run has no plan');
  await restoreSnapshot({
    vault: deps.vault(snapshot.region),
    target: deps.instanceStore(target),
    instanceId: run.instanceId,
    snapshotId: snapshot.snapshotId,
  });
  // The restored copy serves reads at once (and takes Route 53's data-plane traffic as soon as
  // it is ready) but refuses config writes until the shift has moved the weights: otherwise a
  // retried restore would overwrite writes it took, and a shift that never succeeds (Route 53's
  // control plane down) would strand them when home returns with its old weight.
  await deps.instances.fence(run.instanceId, target);
  await deps.instances.activate(run.instanceId, target);
  return {};
}

async function verify(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RunStepError('verify', 'run has no plan');
  await awaitServing(deps, run.instanceId, target, snapshot.configDigest, 'verify');
  return {};
}

/** What a shift does when the failed home answers again before traffic has moved. */
export type ReturnedHomeDecision = 'shift' | 'keep-home' | 'split-brain';

/**
 * Decides by config digest who holds writes the other lacks. The snapshot is what both copies
 * started from, so a copy whose digest still equals it has taken no write since.
 */
export function decideReturnedHome(digests: {
  home: string;
  recovered: string;
  snapshot: string;
}): ReturnedHomeDecision {
  // Nothing would be lost by staying: no failback needed, no stale copy made primary.
  if (digests.recovered === digests.snapshot || digests.recovered === digests.home)
    return 'keep-home';
  if (digests.home === digests.snapshot) return 'shift';
  return 'split-brain';
}

/**
 * A shift that comes late (Route 53's control plane was down, an operator resumes a failed run)
 * may find the failed home serving again, taking client writes while its weight is still up.
 * Moving traffic to a copy of an older snapshot then drops those writes at failback
 * (docs/simulation.md, bug 1). Returns when the shift may go ahead; throws when it must not.
 */
async function settleReturnedHome(
  deps: RecoveryDeps,
  run: RecoveryRun,
  target: string,
  snapshot: NonNullable<RecoveryRun['snapshot']>,
  spec: DnsRecordSpec,
): Promise<void> {
  const home = run.from;
  const first = await deps.instances.health(run.instanceId, home);
  // No answer from here: shift as before. The detector's view is no help in telling "home came
  // back" from "home is still gone": the state read is this region's detector, which may not
  // have confirmed the outage yet when another region's did, so refusing would stall recoveries.
  if (!first.ok && first.instanceId === undefined) return;
  // A home that serves no config (a destroyed region's standby) holds nothing to keep.
  if (typeof first.configDigest !== 'string') return;

  // Fence home first, then the recovered copy too: neither may take a write between the
  // digest reads and acting on them, or the losing side could hold a write nobody carries over.
  await deps.instances.fence(run.instanceId, home);
  try {
    await deps.instances.fence(run.instanceId, target);
    const digests = {
      home: await fencedDigest(deps, run.instanceId, home),
      recovered: await fencedDigest(deps, run.instanceId, target),
      snapshot: snapshot.configDigest,
    };
    switch (decideReturnedHome(digests)) {
      case 'shift':
        // Home stays fenced: it has nothing the recovered copy lacks, and failback overwrites it.
        // The recovered copy is unfenced once the weights have moved.
        return;
      case 'keep-home':
        return await keepHome(
          deps,
          run,
          spec,
          digests.recovered === digests.snapshot
            ? `${target} took no write since snapshot ${snapshot.snapshotId}`
            : `${target} serves the same config as ${home}`,
        );
      case 'split-brain':
        throw new RunStepError(
          'shift',
          `both regions accepted writes since snapshot ${snapshot.snapshotId} (${home} serves ${digests.home}, ${target} serves ${digests.recovered}); merge needed: both stay fenced and serve reads only; merge the two configs into both regions by hand, then \`lifeboat resume --run ${run.runId} --approve\` keeps ${home}`,
          { final: true },
        );
    }
  } catch (error) {
    if (error instanceof RunStepError && error.final) throw error;
    // Undecided (a call failed): home goes back to serving as it did until the step is retried;
    // the recovered copy stays fenced, as it is until a shift completes.
    await Promise.allSettled([deps.instances.unfence(run.instanceId, home)]);
    throw error;
  }
}

/** The digest a fenced instance serves; it must say it is fenced, or a write may still land. */
async function fencedDigest(deps: RecoveryDeps, instanceId: string, region: string) {
  const health = await deps.instances.health(instanceId, region);
  if (health.fenced !== true || typeof health.configDigest !== 'string') {
    throw new RunStepError(
      'shift',
      `instance ${instanceId} in ${region} ${health.fenced === true ? 'serves no config' : 'does not report itself fenced'} (${health.error ?? 'answered'}): cannot compare it with the snapshot`,
    );
  }
  return health.configDigest;
}

/**
 * Ends the run with home serving: weights at home, home unfenced, the run's slots given back.
 * The recovered copy stays activated (it serves reads) but fenced, so nothing can write to it
 * should Route 53's health checks ever send it traffic again.
 */
async function keepHome(
  deps: RecoveryDeps,
  run: RecoveryRun,
  spec: DnsRecordSpec,
  why: string,
): Promise<never> {
  const home = run.from;
  if (spec.targets[home]) {
    // An earlier attempt may have moved weights before its read-back failed.
    const atHome = homeWeights(Object.keys(spec.targets), home);
    if (describeWeights(await deps.dns.readWeights(spec)) !== describeWeights(atHome))
      await deps.dns.applyWeights(spec, atHome);
  }
  await deps.instances.unfence(run.instanceId, home);
  if (run.reservation) await releaseOwnSlots(deps, run.runId, run.reservation.region);
  throw new RunStepError(
    'shift',
    `home returned before the shift; home kept (${why}; the run's slots are released)`,
    // `rolledBack` marks the run as over, as for a failback that rolled back: `lifeboat resume`
    // refuses it, and the next outage of home claims a new generation.
    { final: true, changes: { reservation: undefined, rolledBack: true } },
  );
}

/**
 * Releases only the slots the bucket still gives to this run: a repeated abort (a resume) must
 * not delete a slot that another recovery has taken since.
 */
async function releaseOwnSlots(deps: RecoveryDeps, runId: string, region: string) {
  const capacity = deps.config.regions.find((r) => r.name === region)?.capacity ?? 0;
  const mine = (await reservedSlots(deps.documents(region), region, capacity))
    .filter((slot) => slot.runId === runId)
    .map((slot) => slot.slot);
  await releaseSlots({
    region,
    slots: mine,
    release: (key) => deps.deleteControlKey(region, key),
  });
}

async function shift(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  const instance = instanceOf(deps, run);
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RunStepError('shift', 'run has no plan');
  const spec = dnsSpecFor(instance);
  if (!spec.targets[target]) {
    throw new RunStepError(
      'shift',
      `instance ${instance.id} has no endpoint in ${target} to route to`,
    );
  }
  if (run.rolledBack) {
    // Its slots are gone and its copy is fenced: shifting now would route to a stale copy.
    throw new RunStepError(
      'shift',
      `home returned before the shift; home kept (${run.runId} is over: a new outage of ${run.from} starts a new recovery)`,
      { final: true },
    );
  }
  await settleReturnedHome(deps, run, target, snapshot, spec);
  const before = await deps.dns.readWeights(spec);
  const plan = failoverWeights(Object.keys(spec.targets), target);
  await deps.dns.applyWeights(spec, plan);
  const after = await deps.dns.readWeights(spec);
  if (describeWeights(after) !== describeWeights(plan)) {
    throw new RunStepError(
      'shift',
      `DNS reads back ${describeWeights(after)}, expected ${describeWeights(plan)}`,
    );
  }
  // Traffic has officially moved: the recovered copy is the primary and takes writes.
  await deps.instances.unfence(run.instanceId, target);
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

/** Detail types of the recovery chain's events. */
export const RecoveryEvent = {
  plan: 'Recovery Planned',
  restore: 'Instance Restored',
  verify: 'Instance Verified',
  shift: 'Recovery Completed',
  failed: 'Recovery Failed',
} as const;

/** The recovery run's steps, for the engine. */
export const RECOVERY_TABLE: StepTable = {
  steps: RECOVERY_STEPS,
  work: { plan, restore, verify, shift },
  events: {
    plan: RecoveryEvent.plan,
    restore: RecoveryEvent.restore,
    verify: RecoveryEvent.verify,
    shift: RecoveryEvent.shift,
  },
  failedEvent: RecoveryEvent.failed,
};

/** Runs one recovery step (the chain's handlers). */
export const runRecoveryStep = (
  deps: RecoveryDeps,
  runId: string,
  step: string,
  regions: readonly string[],
) => runStep(deps, runId, step, regions, RECOVERY_TABLE);

/** Runs a recovery's remaining steps in this process. */
export const driveRecovery = (deps: RecoveryDeps, run: RecoveryRun) =>
  driveRun(deps, run, RECOVERY_TABLE);
