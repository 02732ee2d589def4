import type { InvariantName } from './invariants.ts';

/**
 * Seeds that fail because of bugs found by the simulator, written up in docs/simulation.md
 * ("Open bugs") and not fixed yet. Such a seed still runs and is still printed, but it fails the
 * run only when it breaks something else than its bug's invariant. A listed seed that passes
 * fails the run too, so this list can only shrink as bugs are fixed (as vitest's `it.fails`).
 */
export interface OpenBug {
  /** The docs/simulation.md entry. */
  title: string;
  invariant: InvariantName;
  /** Further invariants the same bug breaks in its seeds (a lost write breaks two checkers). */
  alsoBreaks?: readonly InvariantName[];
  seeds: readonly number[];
}

// Bugs 9 (seeds 121 and 656), 10 (1004464, 1006512, 1007987, 1009120, 1009194), 11 (531829,
// 1005381, 1008397), 12 (1004091), 13 (1011288) and 10b's marker case (1013832, 355) are fixed; their seeds are in
// test/sim/regressions.test.ts.
// The entry below comes from the off-CI batch 1,000,000..1,009,999 (docs/simulation.md, "Open
// bugs").
export const OPEN_BUGS: readonly OpenBug[] = [
  {
    title:
      'bug 10b (docs/simulation.md): no committed snapshot outside the failed home when the plan runs; in 1003368 and 1013208 every snapshot invocation before the outage crashed (the first tick and the two compressed ticks) and their Lambda retries fell in the outage (1013832, a marker at home alone, is fixed)',
    invariant: 'traffic-leaves-failed-region',
    seeds: [1003368, 1013208],
  },
];

/** One seed's outcome, as the runner reports it. */
export interface SeedOutcome {
  seed: number;
  violations: readonly { invariant: InvariantName }[];
}

/** How a batch of seeds stands against the open bugs. */
export interface Judgement {
  /** Seeds that break an invariant no open bug explains. */
  failed: number[];
  /** Listed seeds that now pass: the bug may be fixed; the list must be updated. */
  nowPassing: number[];
  /** Listed seeds that failed exactly as listed, per bug title. */
  known: Map<string, number[]>;
}

export function judge(outcomes: readonly SeedOutcome[], bugs = OPEN_BUGS): Judgement {
  const bugOf = new Map<number, OpenBug>();
  for (const bug of bugs) for (const seed of bug.seeds) bugOf.set(seed, bug);
  const failed: number[] = [];
  const nowPassing: number[] = [];
  const known = new Map<string, number[]>();
  for (const outcome of outcomes) {
    const bug = bugOf.get(outcome.seed);
    if (!bug) {
      if (outcome.violations.length > 0) failed.push(outcome.seed);
      continue;
    }
    if (outcome.violations.length === 0) nowPassing.push(outcome.seed);
    else if (
      outcome.violations.every(
        (v) => v.invariant === bug.invariant || bug.alsoBreaks?.includes(v.invariant),
      )
    )
      known.set(bug.title, [...(known.get(bug.title) ?? []), outcome.seed]);
    else failed.push(outcome.seed);
  }
  return {
    failed: failed.sort((a, b) => a - b),
    nowPassing: nowPassing.sort((a, b) => a - b),
    known,
  };
}
