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

// Bugs 1-16 and 18 are fixed; their seeds are replayed in test/sim/regressions.test.ts
// (docs/simulation.md, "Bugs found"). The entry below comes from the off-CI batches
// 2,000,000..2,117,999 (docs/simulation.md, "Open bugs").
export const OPEN_BUGS: readonly OpenBug[] = [
  {
    title:
      "bug 17 (docs/simulation.md): a chain step whose invocation dies (crash rates 0.12-0.14 a call) waits for Lambda's async retries, 1 and 2 minutes later; two such deaths in plan or restore after a 2-minute detection pass the 6-minute RTO bound",
    invariant: 'traffic-leaves-failed-region',
    seeds: [1195, 2005793, 2012200, 2032411, 2077777, 2107425, 2117313],
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
