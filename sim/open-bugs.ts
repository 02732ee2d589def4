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

// Every bug found so far is fixed; their seeds are replayed in test/sim/regressions.test.ts
// (docs/simulation.md, "Bugs found"). A new failing seed is listed here only while it is being
// diagnosed.
export const OPEN_BUGS: readonly OpenBug[] = [];

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
