import { RunStepError } from '../../../errors.ts';
import { releaseSlots, reservedSlots } from '../capacity.ts';
import { dnsSpecFor } from '../dns-spec.ts';
import type { DnsRecordSpec, RecoveryDeps } from '../ports.ts';
import { instanceOf, type RecoveryRun, secondsBetween } from '../run.ts';
import { type StepContext, takenOverError } from '../step-engine.ts';
import { describeWeights, failoverWeights, homeWeights } from '../weights.ts';

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
 * Thrown by a shift that another invocation took over: it stops without touching the weights or
 * a fence again. The engine sees the run moved on and leaves it to the other invocation.
 */
const takenOver = (run: RecoveryRun) => takenOverError('shift', 'shift', run);

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
  context: StepContext,
): Promise<void> {
  const home = run.from;
  const first = await deps.instances.health(run.instanceId, home);
  // No answer from here: shift as before. The detector's view is no help in telling "home came
  // back" from "home is still gone": the state read is this region's detector, which may not
  // have confirmed the outage yet when another region's did, so refusing would stall recoveries.
  if (!first.ok && first.instanceId === undefined) return;
  // A home that serves no config (a destroyed region's standby) holds nothing to keep.
  if (typeof first.configDigest !== 'string') return;

  // An invocation that took the run while this one waited for home's answer may have shifted:
  // fencing its primary now would refuse the writes it takes.
  if (!(await context.holds())) throw takenOver(run);
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
          context,
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
    // the recovered copy stays fenced, as it is until a shift completes. Only while this
    // invocation still drives the run: one that took it since may have shifted with home
    // fenced, and home serving again then would take writes the failback overwrites.
    const holds = await context.holds().catch(() => false);
    if (holds) await Promise.allSettled([deps.instances.unfence(run.instanceId, home)]);
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
  context: StepContext,
  why: string,
): Promise<never> {
  const home = run.from;
  // Another invocation that took the run since may have shifted (home fenced, the recovered
  // copy primary): putting traffic and writes back home now would split them (bug 13).
  if (!(await context.holds())) throw takenOver(run);
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
/** shift: move the weights to the target once a returned home has been settled. */
export async function shift(
  deps: RecoveryDeps,
  run: RecoveryRun,
  context: StepContext,
): Promise<Partial<RecoveryRun>> {
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
  // Two invocations can run one shift at once (a duplicate delivery, a Lambda retry, two
  // operator resumes), and home may return between their first health reads: one then shifts
  // (home did not answer), the other keeps home (it answered). Whichever acts on its decision
  // must be the only one (docs/simulation.md, bug 13), so the shift takes the run first and
  // stops as soon as another invocation has taken it since.
  if (!(await context.take())) throw takenOver(run);
  await settleReturnedHome(deps, run, target, snapshot, spec, context);
  if (!(await context.holds())) throw takenOver(run);
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
  if (!(await context.holds())) throw takenOver(run);
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
