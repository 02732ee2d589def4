import type { InstanceConfig, LifeboatConfig } from '../../../config/schema.ts';
import { RunStepError } from '../../../errors.ts';
import { newestSnapshot as newestIn, replicaOrder } from '../../snapshot/newest.ts';
import { approvalRequest } from '../approval.ts';
import { releaseSlots, reservedSlots, reserveSlots } from '../capacity.ts';
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

/** The newest committed snapshot, from the target's own bucket when it is a replica. */
async function newestSnapshot(deps: RecoveryDeps, instance: InstanceConfig, target: string) {
  const found = await newestIn(
    deps.vault,
    instance.id,
    replicaOrder(instance.replicaRegions, target),
  );
  if (!found)
    throw new RunStepError(
      'plan',
      `no committed snapshot of ${instance.id} in any reachable replica`,
    );
  return found;
}
