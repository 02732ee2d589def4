/**
 * Weight plans for an instance's weighted Route 53 records (one record per region): failover,
 * failback in canary steps, and active-active drain and gradual return.
 *
 * Plans use a scale of 0..100 (`FULL_WEIGHT`) although Route 53 accepts 0..255: with a total of
 * 100 every weight reads directly as a percentage of traffic in plans, events and reports
 * ("us-east-1=10 us-east-2=90"), and integers 0..100 are valid Route 53 weights as they are.
 *
 * Route 53 treats a record set whose weights are all 0 as if they were all equal: it answers
 * with every healthy record. An all-zero plan would therefore send traffic to the failed region
 * too, so no function here ever returns one; they throw `WeightPlanError` instead.
 */
import { WeightPlanError } from '../../errors.ts';
import type { Weights } from './ports.ts';

/** The weight that means "all the traffic" in a plan; plans always sum to it. */
export const FULL_WEIGHT = 100;

/** The largest weight Route 53 accepts on a record. */
export const ROUTE53_MAX_WEIGHT = 255;

/** Canary steps of a failback, as percentages of traffic on the destination (DESIGN.md). */
export const DEFAULT_CANARY_PERCENTS: readonly number[] = [10, 50, 100];

const unique = (regions: readonly string[]) => [...new Set(regions)];

const zeroed = (regions: readonly string[]): Weights =>
  Object.fromEntries(regions.map((r) => [r, 0]));

function requireMember(regions: readonly string[], region: string, role: string): void {
  if (!regions.includes(region)) {
    throw new WeightPlanError(
      `${role} ${region} is not among the plan's regions (${regions.join(', ') || 'none'})`,
    );
  }
}

/**
 * Splits `total` into integers as equal as possible over `regions`, the remainder going one unit
 * each to the first regions in the given order (the config's order, so operators can predict it).
 */
function splitEvenly(regions: readonly string[], total: number): Weights {
  const base = Math.floor(total / regions.length);
  const remainder = total - base * regions.length;
  return Object.fromEntries(regions.map((r, i) => [r, base + (i < remainder ? 1 : 0)]));
}

/**
 * Throws `WeightPlanError` unless `percents` is a usable canary schedule: integers (weights are
 * integers), each in (0, 100], strictly increasing (traffic never moves back mid-plan), ending at
 * 100 (a plan that stops short would leave traffic split for good).
 */
export function validateCanaryPercents(percents: readonly number[]): void {
  const bad = (why: string) =>
    new WeightPlanError(`invalid canary percents [${percents.join(', ')}]: ${why}`);
  if (percents.length === 0) throw bad('at least one step is needed');
  percents.forEach((p, i) => {
    if (!Number.isInteger(p)) throw bad(`${p} is not a whole number`);
    if (p <= 0 || p > FULL_WEIGHT) throw bad(`${p} is outside (0, 100]`);
    const previous = percents[i - 1];
    if (previous !== undefined && p <= previous) {
      throw bad(`${p} follows ${previous}; steps must be strictly increasing`);
    }
  });
  if (percents.at(-1) !== FULL_WEIGHT) throw bad('the last step must be 100');
}

/** Why weights cannot go to Route 53 as they are: the region at fault, when one is. */
export interface WeightsProblem {
  region?: string;
  detail: string;
}

/**
 * The one weight rule, shared by the plans, the Route 53 adapter and the in-memory DNS: every
 * weight names a region of the record set (`regions`), is an integer 0..255, and at least one
 * is above 0 (see the module comment on all-zero record sets). `complete`: every region of the
 * record set must have a weight (a whole change batch, as the adapter sends). Undefined when the
 * weights are fine.
 */
export function weightsProblem(
  weights: Weights,
  regions: readonly string[],
  options: { complete?: boolean } = {},
): WeightsProblem | undefined {
  for (const [region, w] of Object.entries(weights)) {
    if (!regions.includes(region)) {
      return {
        region,
        detail: `not a region of the record (regions: ${regions.join(', ') || 'none'})`,
      };
    }
    if (!Number.isInteger(w) || w < 0 || w > ROUTE53_MAX_WEIGHT) {
      return { region, detail: `weight ${w} is not an integer in 0–${ROUTE53_MAX_WEIGHT}` };
    }
  }
  if (options.complete) {
    const missing = regions.find((region) => !Object.hasOwn(weights, region));
    if (missing !== undefined) {
      return { region: missing, detail: 'no weight given (every region of the record needs one)' };
    }
  }
  if (!Object.values(weights).some((w) => w > 0)) return { detail: 'every weight is 0' };
  return undefined;
}

/**
 * Throws `WeightPlanError` unless `weights` can be sent to Route 53 as they are (the weight
 * rule of `weightsProblem`, over the plan's own regions).
 */
export function assertRoutable(weights: Weights): void {
  const problem = weightsProblem(weights, Object.keys(weights));
  if (!problem) return;
  if (problem.region !== undefined) {
    throw new WeightPlanError(
      `weight of ${problem.region} is ${weights[problem.region]}; Route 53 needs an integer 0..255`,
    );
  }
  throw new WeightPlanError(
    `every weight is 0 (${describeWeights(weights) || 'no regions'}); Route 53 would answer with every record`,
  );
}

/** All traffic to `target` (the recovery region), every other region 0. */
export function failoverWeights(regions: readonly string[], target: string): Weights {
  requireMember(regions, target, 'failover target');
  return { ...zeroed(regions), [target]: FULL_WEIGHT };
}

/** All traffic to the home region: the steady state, and the end of a completed failback. */
export function homeWeights(regions: readonly string[], home: string): Weights {
  requireMember(regions, home, 'home region');
  return { ...zeroed(regions), [home]: FULL_WEIGHT };
}

/**
 * Failback (or any move) from `from` to `to` in canary steps: step p gives `to` p and `from`
 * 100 − p, other regions 0. Rolling back is `failoverWeights(regions, from)`. Every step sums to
 * 100, so none is all-zero.
 */
export function canarySteps(
  from: string,
  to: string,
  regions: readonly string[],
  percents: readonly number[] = DEFAULT_CANARY_PERCENTS,
): Weights[] {
  if (from === to) throw new WeightPlanError(`canary from ${from} to itself moves no traffic`);
  requireMember(regions, from, 'canary source');
  requireMember(regions, to, 'canary destination');
  validateCanaryPercents(percents);
  return percents.map((p) => ({ ...zeroed(regions), [from]: FULL_WEIGHT - p, [to]: p }));
}

/**
 * Active-active weights: the active regions that are not drained share 100 as equally as
 * integers allow (within 1 of each other); drained ones get 0. Regions in `drained` that are not
 * active are ignored. Throws when every active region is drained: there is nowhere safe to send
 * traffic, and an all-zero plan would send it everywhere.
 */
export function activeActiveWeights(
  activeRegions: readonly string[],
  drained: ReadonlySet<string>,
): Weights {
  const regions = unique(activeRegions);
  if (regions.length === 0) throw new WeightPlanError('no active regions to weight');
  const live = regions.filter((r) => !drained.has(r));
  if (live.length === 0) {
    throw new WeightPlanError(
      `every active region is drained (${regions.join(', ')}); refusing an all-zero plan`,
    );
  }
  return { ...zeroed(regions), ...splitEvenly(live, FULL_WEIGHT) };
}

/**
 * Brings a drained active-active region back gradually: at step p it gets p% of the equal share
 * it will end with (at least 1, so the first step already probes it with real traffic), the
 * other live regions split the rest evenly, and the last step is exactly
 * `activeActiveWeights`. `drained` lists regions that stay drained (the returning one is ignored
 * there). When no other region is live there is nobody to shift from, so the plan is one step.
 */
export function returnSteps(
  activeRegions: readonly string[],
  returning: string,
  percents: readonly number[] = DEFAULT_CANARY_PERCENTS,
  drained: ReadonlySet<string> = new Set(),
): Weights[] {
  const regions = unique(activeRegions);
  requireMember(regions, returning, 'returning region');
  validateCanaryPercents(percents);
  const stillDrained = new Set([...drained].filter((r) => r !== returning));
  const final = activeActiveWeights(regions, stillDrained);
  const others = regions.filter((r) => r !== returning && !stillDrained.has(r));
  if (others.length === 0) return [final];
  const share = final[returning] ?? 0;
  return percents.map((p) => {
    if (p === FULL_WEIGHT) return final;
    const w = Math.min(share, Math.max(1, Math.round((share * p) / FULL_WEIGHT)));
    return { ...zeroed(regions), ...splitEvenly(others, FULL_WEIGHT - w), [returning]: w };
  });
}

/** One line per plan step for logs and reports: regions sorted by name, e.g. "a=0 b=100". */
export function describeWeights(weights: Weights): string {
  return Object.keys(weights)
    .sort()
    .map((r) => `${r}=${weights[r]}`)
    .join(' ');
}

/**
 * Fraction of traffic each region gets under `weights`. All 0 when the total is 0: the weights
 * then say nothing (Route 53 answers every healthy record equally), which plans never produce.
 */
export function trafficShare(weights: Weights): Record<string, number> {
  const total = Object.values(weights).reduce((sum, w) => sum + w, 0);
  return Object.fromEntries(
    Object.entries(weights).map(([r, w]) => [r, total === 0 ? 0 : w / total]),
  );
}
