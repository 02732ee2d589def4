import type { InstanceConfig } from '../../config/schema.ts';
import { describeSnapshot, newestCommittedId, replicaOrder } from '../snapshot/newest.ts';
import { dnsSpecFor } from './dns-spec.ts';
import type { RecoveryDeps, Weights } from './ports.ts';
import { chooseTarget, type Reservation, type SkippedRegion } from './region-choice.ts';
import { currentReservations } from './steps/plan-recovery.ts';
import { activeActiveWeights, failoverWeights } from './weights.ts';
import { describeRunState, type InstanceState, readDns, whereabouts } from './whereabouts.ts';

/**
 * The dry run of a region failure (`lifeboat plan`, and the plan `lifeboat failover` shows
 * before it acts): what the planner would do to each instance if a region failed now. It only
 * reads; every choice is the one the recovery's own plan step would make.
 */

/** A committed snapshot a recovery could restore, and how old it is. */
export interface SnapshotChoice {
  snapshotId: string;
  region: string;
  takenAt: string;
  configDigest: string;
  ageSeconds: number;
}

/** What a failure of one region would do to one instance. */
export interface InstancePlan {
  instanceId: string;
  runsIn: string[];
  state: InstanceState;
  /** recover: a restore elsewhere; drain: active-active weight change only; none: unaffected. */
  action: 'recover' | 'drain' | 'none' | 'in-progress' | 'blocked';
  reason?: string;
  /** The run that already handles this region (action in-progress). */
  runId?: string;
  target?: {
    region: string;
    distanceKm: number;
    rank: number;
    units: number;
    skipped: SkippedRegion[];
  };
  snapshot?: SnapshotChoice;
  /** Data loss if the outage started now: the snapshot's age. */
  rpoSeconds?: number;
  dns?: { recordName: string; before?: Weights; after?: Weights; error?: string };
}

/** The dry run of one region's failure. */
export interface RegionFailurePlan {
  failedRegion: string;
  here: string;
  at: string;
  /** Regions the detector already holds in outage (never chosen as targets). */
  detectorUnhealthy: string[];
  instances: InstancePlan[];
}

/**
 * What would happen if `failed` failed now, instance by instance, in the order the planner takes
 * them (config order): each planned recovery takes its slots before the next one chooses, as the
 * real reservations would. Only reads; `only` limits the detail to some instances.
 */
export async function planRegionFailure(
  deps: RecoveryDeps,
  failed: string,
  here: string,
  only: ReadonlySet<string> | null,
): Promise<RegionFailurePlan> {
  const { config } = deps;
  const now = deps.clock.now();
  const detectorUnhealthy = [...(await deps.unhealthyRegions())].sort();
  const unhealthy = new Set([...detectorUnhealthy, failed]);
  const reservations: Reservation[] = await currentReservations(deps, failed);
  const instances: InstancePlan[] = [];
  for (const instance of config.instances) {
    const detail = !only || only.has(instance.id);
    const plan = await planInstance(deps, instance, failed, unhealthy, reservations, now, detail);
    if (plan.action === 'recover' && plan.target) {
      reservations.push({
        region: plan.target.region,
        units: instance.capacityUnits,
        instanceId: instance.id,
      });
    }
    if (detail) instances.push(plan);
  }
  return { failedRegion: failed, here, at: now.toISOString(), detectorUnhealthy, instances };
}

/**
 * The snapshot the recovery's plan step would pick: the newest committed one among the
 * reachable replicas outside the failed region, preferring the target's own bucket.
 */
async function snapshotChoice(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  failed: string,
  target: string | undefined,
  now: Date,
): Promise<SnapshotChoice | { error: string }> {
  const best = await newestCommittedId(
    deps.vault,
    instance.id,
    replicaOrder(instance.replicaRegions, target, failed),
  );
  if (!best) {
    const replicas = instance.replicaRegions.filter((r) => r !== failed);
    return {
      error: `no committed snapshot of ${instance.id} in any reachable replica outside ${failed} (${replicas.join(', ') || 'none'})`,
    };
  }
  try {
    const { takenAt, configDigest } = await describeSnapshot(deps.vault, instance.id, best);
    const age = Math.round((now.getTime() - Date.parse(takenAt)) / 1000);
    return { ...best, takenAt, configDigest, ageSeconds: Math.max(0, age) };
  } catch (error) {
    return {
      error: `snapshot ${best.snapshotId} in ${best.region} is unreadable: ${(error as Error).message}`,
    };
  }
}

async function planActiveActive(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  base: Pick<InstancePlan, 'instanceId' | 'runsIn' | 'state'>,
  failed: string,
  detail: boolean,
): Promise<InstancePlan> {
  if (!base.runsIn.includes(failed)) {
    return { ...base, action: 'none', reason: `active-active, not active in ${failed}` };
  }
  if (!detail) return { ...base, action: 'drain' };
  const spec = dnsSpecFor(instance);
  const dns = await readDns(deps, spec);
  if (!dns.weights) {
    return {
      ...base,
      action: 'blocked',
      reason: `cannot read DNS: ${dns.error}`,
      dns: { recordName: spec.recordName, error: dns.error },
    };
  }
  // As respondToOutage does: regions already at 0 stay drained.
  const active = instance.activeRegions ?? [];
  const before = dns.weights;
  const drained = new Set([failed, ...active.filter((r) => before[r] === 0)]);
  try {
    const shares = activeActiveWeights(active, drained);
    const after = Object.fromEntries(Object.keys(spec.targets).map((r) => [r, shares[r] ?? 0]));
    return { ...base, action: 'drain', dns: { recordName: spec.recordName, before, after } };
  } catch (error) {
    return {
      ...base,
      action: 'blocked',
      reason: (error as Error).message,
      dns: { recordName: spec.recordName, before },
    };
  }
}

async function planInstance(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  failed: string,
  unhealthy: ReadonlySet<string>,
  reservations: readonly Reservation[],
  now: Date,
  detail: boolean,
): Promise<InstancePlan> {
  const where = await whereabouts(deps, instance);
  const base = { instanceId: instance.id, runsIn: where.runsIn, state: where.state };
  if (where.state === 'active-active') {
    return planActiveActive(deps, instance, base, failed, detail);
  }
  if (
    where.claim &&
    String(where.claim.payload.from) === failed &&
    where.run?.status !== 'completed'
  ) {
    // The planner treats this as the same outage: nothing new starts; the run is resumed.
    const run = where.run;
    const runId = String(where.claim.payload.runId);
    return {
      ...base,
      action: 'in-progress',
      runId,
      reason: run
        ? `${run.kind} run ${runId} out of ${failed} ${describeRunState(run)}`
        : `run ${runId} out of ${failed} is claimed but its record is unreadable`,
    };
  }
  if (!where.runsIn.includes(failed)) {
    return { ...base, action: 'none', reason: `runs in ${where.runsIn.join(', ')}, not ${failed}` };
  }
  const choice = chooseTarget({
    config: deps.config,
    instance,
    failedRegion: failed,
    unhealthy,
    reservations,
  });
  const target = choice.ok
    ? {
        region: choice.region,
        distanceKm: choice.distanceKm,
        rank: choice.rank,
        units: choice.region === instance.homeRegion ? 0 : instance.capacityUnits,
        skipped: choice.skipped,
      }
    : undefined;
  if (!detail) {
    return choice.ok
      ? { ...base, action: 'recover', ...(target ? { target } : {}) }
      : { ...base, action: 'blocked', reason: choice.reason };
  }
  const snapshot = await snapshotChoice(deps, instance, failed, target?.region, now);
  const spec = dnsSpecFor(instance);
  const dns = await readDns(deps, spec);
  const plan: InstancePlan = {
    ...base,
    action: 'recover',
    ...(target ? { target } : {}),
    dns: {
      recordName: spec.recordName,
      ...(dns.weights ? { before: dns.weights } : { error: dns.error }),
      ...(target ? { after: failoverWeights(Object.keys(spec.targets), target.region) } : {}),
    },
  };
  if ('snapshotId' in snapshot) {
    plan.snapshot = snapshot;
    plan.rpoSeconds = snapshot.ageSeconds;
  }
  if (!choice.ok) return { ...plan, action: 'blocked', reason: choice.reason };
  if ('error' in snapshot) return { ...plan, action: 'blocked', reason: snapshot.error };
  return plan;
}
