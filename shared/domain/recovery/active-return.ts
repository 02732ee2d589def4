import type { InstanceConfig } from '../../config/schema.ts';
import { dnsSpecFor } from './dns-spec.ts';
import type { DnsRecordSpec, RecoveryDeps, Weights } from './ports.ts';
import { activeActiveWeights, returnSteps } from './weights.ts';

/**
 * The return of drained active-active regions: each region that comes back gets its share of
 * traffic step by step (the failback's canary percents), its health checked after every step,
 * and is drained again if it regresses. The detector's "Region Recovered" returns one region
 * (respond.ts); `lifeboat failback` returns every drained region that is healthy, one by one.
 */

/** One region's return: the weights it goes through, and the regions that stay drained. */
export interface ActiveReturnPlan {
  region: string;
  /** Active regions that stay at 0 while this one returns (drained again on a regression). */
  stillDrained: string[];
  /** Every record's weight at each step; the last is the even active-active split. */
  steps: Weights[];
}

/** The shares of the active regions, widened to every record of the instance (others at 0). */
export function recordWeights(spec: DnsRecordSpec, shares: Weights): Weights {
  return Object.fromEntries(Object.keys(spec.targets).map((r) => [r, shares[r] ?? 0]));
}

/**
 * Plans the return of `returning` (in that order) out of the `drained` active regions: each
 * region's steps assume the ones before it have returned and the rest of `drained` has not.
 * `canaryPercents` is the failback policy's.
 */
export function planActiveReturn(
  instance: InstanceConfig,
  drained: readonly string[],
  returning: readonly string[],
  canaryPercents: readonly number[],
): ActiveReturnPlan[] {
  const active = instance.activeRegions ?? [];
  const spec = dnsSpecFor(instance);
  const done = new Set<string>();
  return returning.map((region) => {
    done.add(region);
    const stillDrained = drained.filter((r) => !done.has(r));
    const steps = returnSteps(active, region, canaryPercents, new Set(stillDrained));
    return { region, stillDrained, steps: steps.map((shares) => recordWeights(spec, shares)) };
  });
}

/** How one region's return went. */
export type ActiveReturnOutcome =
  | { ok: true; applied: Weights[] }
  | {
      ok: false;
      applied: Weights[];
      /** The step at which the region's health check failed, and why. */
      regressedAt: Weights;
      error: string;
      /** The weights put back: the region drained again. */
      drainedAgain: Weights;
    };

/**
 * Applies one region's return plan step by step, waiting the failback's step time and checking
 * the region's health after each; `onStep` hears every step the region passed. A regression
 * drains the region again (with the ones still drained) and is answered, not thrown.
 */
export async function applyActiveReturn(
  deps: Pick<RecoveryDeps, 'config' | 'dns' | 'instances' | 'sleep'>,
  instance: InstanceConfig,
  plan: ActiveReturnPlan,
  onStep: (weights: Weights) => void = () => undefined,
): Promise<ActiveReturnOutcome> {
  const spec = dnsSpecFor(instance);
  const applied: Weights[] = [];
  for (const weights of plan.steps) {
    await deps.dns.applyWeights(spec, weights);
    applied.push(weights);
    await deps.sleep(deps.config.failback.stepSeconds * 1000);
    const health = await deps.instances.health(instance.id, plan.region);
    if (!health.ok) {
      const active = instance.activeRegions ?? [];
      const drainedAgain = recordWeights(
        spec,
        activeActiveWeights(active, new Set([plan.region, ...plan.stillDrained])),
      );
      await deps.dns.applyWeights(spec, drainedAgain);
      return {
        ok: false,
        applied,
        regressedAt: weights,
        error: health.error ?? 'unhealthy',
        drainedAgain,
      };
    }
    onStep(weights);
  }
  return { ok: true, applied };
}
