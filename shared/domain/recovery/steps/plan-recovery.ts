import type { InstanceConfig, LifeboatConfig } from '../../../config/schema.ts';
import { RunStepError, StorageUnavailableError } from '../../../errors.ts';
import {
  type CommittedLookup,
  describeSnapshot,
  lookupCommitted,
  type NewestSnapshot,
  replicaOrder,
} from '../../snapshot/newest.ts';
import { approvalRequest } from '../approval.ts';
import { preferredSlot, reservedSlots, reserveSlots } from '../capacity.ts';
import type { RecoveryDeps } from '../ports.ts';
import { chooseTarget } from '../region-choice.ts';
import { instanceOf, type RecoveryRun } from '../run.ts';

const homeUnits = (config: LifeboatConfig, region: string) =>
  config.instances
    .filter((i) => i.homeRegion === region)
    .reduce((sum, i) => sum + i.capacityUnits, 0);
/** plan: choose the nearest healthy region with room, reserve the room, pick the snapshot. */
export async function plan(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
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
    // The snapshot first: a plan that finds none has reserved nothing, so it never gives room
    // back (a give-back after a successful reservation could free a slot that another
    // invocation of this run counts on, bug 12 of docs/simulation.md).
    const snapshot = await newestSnapshot(deps, instance, region.name, run.from);
    const firstFreeSlot = homeUnits(deps.config, region.name);
    const reservation = await reserveSlots({
      store: deps.documents(region.name),
      region: region.name,
      capacity: region.capacity,
      firstFreeSlot,
      startSlot: preferredSlot(deps.config.instances, instance.id, region.name, firstFreeSlot),
      units: instance.capacityUnits,
      runId: run.runId,
      instanceId: instance.id,
      at: deps.clock.now().toISOString(),
    });
    if (!reservation.ok) {
      // Taken by another recovery since we looked: the next candidate gets its chance.
      full.add(region.name);
      continue;
    }
    return {
      target: region.name,
      reservation: { region: region.name, slots: reservation.slots },
      snapshot,
      // recovery.approval: required: the plan is recorded for the approver, and the gate shuts.
      ...(await approvalRequest(deps, instance, run, { target: region.name, snapshot })),
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

/**
 * Lookups of the newest committed snapshot before the plan gives up. A bucket that fails its
 * listing (an S3 error past the SDK's retries) is asked again here, in place: otherwise one
 * error reads as "no snapshot", the step's attempts re-reserve capacity for nothing, and every
 * operator resume can fail the same way (bug 9 of docs/simulation.md).
 */
const LOOKUP_ATTEMPTS = 4;

/**
 * The newest committed snapshot, from the target's own bucket when it is a replica. Retried
 * while a bucket that should answer (any but the failed region's) did not; "none" is only
 * concluded from buckets that answered, and the error says which ones did not.
 */
async function newestSnapshot(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  target: string,
  failedRegion: string,
): Promise<NewestSnapshot> {
  const regions = replicaOrder(instance.replicaRegions, target);
  for (let attempt = 1; ; attempt += 1) {
    const lookup = await lookupCommitted(deps.vault, instance.id, regions);
    const last = attempt >= LOOKUP_ATTEMPTS;
    if (lookup.best) {
      try {
        return await describeSnapshot(deps.vault, instance.id, lookup.best);
      } catch (error) {
        // A manifest that cannot be read for now (not a corrupt one) is worth another look.
        if (!(error instanceof StorageUnavailableError) || last) throw error;
      }
    } else {
      // The failed region's bucket is expected not to answer: waiting for it changes nothing.
      const unanswered = lookup.unanswered.filter((u) => u.region !== failedRegion);
      if (unanswered.length === 0 || last) throw noSnapshot(instance.id, regions, lookup);
    }
    await deps.sleep(Math.min(5_000, 250 * 2 ** attempt));
  }
}

function noSnapshot(instanceId: string, regions: readonly string[], lookup: CommittedLookup) {
  const silent = new Set(lookup.unanswered.map((u) => u.region));
  const answered = regions.filter((r) => !silent.has(r));
  const holdNone = answered.length > 0 ? ` (${answered.join(', ')} hold none)` : '';
  if (lookup.unanswered.length === 0)
    return new RunStepError(
      'plan',
      `no committed snapshot of ${instanceId} in any replica${holdNone}`,
    );
  const why = lookup.unanswered.map((u) => `${u.region}: ${u.reason}`).join('; ');
  return new RunStepError(
    'plan',
    `no committed snapshot of ${instanceId} in any reachable replica${holdNone}; did not answer: ${why}`,
  );
}
