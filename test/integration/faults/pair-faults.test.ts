import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../shared/random.ts';
import {
  createFailbackFaultWorld,
  FAILBACK_LABELS,
  KIND_MODES,
  type Prepared,
  RECOVERY_LABELS,
  type StepFault,
} from '../../worlds/failback-faults.ts';

/**
 * Two faults at once, across the recovery and the failback: a recovery out of us-east-1, writes
 * to the recovered copy, us-east-1 back, the failback. Each case breaks two calls, each the k-th
 * call of one step (k, the kind and once/persistent drawn from a seed). The sample covers every
 * pair of the ten steps (4 of the recovery, 6 of the failback; each claim counts with its
 * function's first step): 45 pairs by default, each once. After each delivery: nothing
 * half-visible and at most one primary; in the end the recovery and the failback both complete,
 * one generation each, with every write any region accepted at home.
 *
 * LIFEBOAT_FAULT_PAIRS sets the sample size (default 45, every pair of distinct steps once;
 * beyond 45, further pairs are drawn, a step with itself included; below, a seeded subset).
 * LIFEBOAT_FAULT_SEED changes the draws. By default both faults of a pair are transient (one
 * call each): a persistent fault on a run-record read is met by every later step and costs up
 * to a minute of held and throttled requests per case, and the single-fault suites already run
 * every step under persistent faults. LIFEBOAT_FAULT_PAIR_MODES=all draws persistent ones too.
 */

const STEPS = [...RECOVERY_LABELS, ...FAILBACK_LABELS];
const ALL_PAIRS = STEPS.flatMap((a, i) => STEPS.slice(i + 1).map((b) => [a, b] as const));

const sampleSetting = process.env.LIFEBOAT_FAULT_PAIRS ?? String(ALL_PAIRS.length);
const sampleSize = Number(sampleSetting);
if (!Number.isInteger(sampleSize) || sampleSize < 1)
  throw new Error(`LIFEBOAT_FAULT_PAIRS: expected a whole number ≥ 1, got "${sampleSetting}"`);
const seed = Number(process.env.LIFEBOAT_FAULT_SEED ?? 13);
const modesSetting = process.env.LIFEBOAT_FAULT_PAIR_MODES ?? 'once';
if (modesSetting !== 'once' && modesSetting !== 'all')
  throw new Error(`LIFEBOAT_FAULT_PAIR_MODES: expected "once" or "all", got "${modesSetting}"`);
const kindModes = KIND_MODES.filter((m) => modesSetting === 'all' || m.mode === 'once');

const fw = await createFailbackFaultWorld();
afterAll(() => fw.close());

/** The clean story, counted per step. */
async function cleanStory() {
  const p = await fw.prepare();
  fw.tracer.arm([]);
  await fw.failHome(p);
  const recovery = await fw.deliverRecovery(p);
  await fw.clientWrites(p, 'outage-1');
  await fw.restoreHome(p);
  const failback = await fw.deliverFailback(p);
  return { p, recovery, failback, counts: fw.tracer.callsPerLabel() };
}

const clean = await cleanStory();

/** The seeded sample: which two steps, which call of each, which kind and mode. */
function drawPairs(): [StepFault, StepFault][] {
  const rng = new Rng(seed);
  const shuffled = [...ALL_PAIRS];
  for (let i = shuffled.length - 1; i > 0; i -= 1) {
    const j = rng.int(0, i);
    [shuffled[i], shuffled[j]] = [
      shuffled[j] as (typeof ALL_PAIRS)[number],
      shuffled[i] as (typeof ALL_PAIRS)[number],
    ];
  }
  const chosen: (readonly [string, string])[] = shuffled.slice(0, sampleSize);
  while (chosen.length < sampleSize) {
    const a = STEPS[rng.int(0, STEPS.length - 1)] as string;
    const b = STEPS[rng.int(0, STEPS.length - 1)] as string;
    chosen.push([a, b]);
  }
  const fault = (label: string): StepFault => {
    const { kind, mode } = kindModes[
      rng.int(0, kindModes.length - 1)
    ] as (typeof KIND_MODES)[number];
    return { label, k: rng.int(1, Math.max(1, clean.counts.get(label) ?? 1)), kind, mode };
  };
  return chosen.map(([a, b]) => [fault(a), fault(b)]);
}

const pairs = drawPairs();
const report: { faults: string; hit: string[]; recovery: string; failback: string }[] = [];
const name = (f: StepFault) => `${f.kind} ${f.mode} ${f.label}#${f.k}`;

describe('the recovery and failback, clean', () => {
  it('recovers, fails back and calls AWS in every one of the ten steps', () => {
    expect(clean.recovery).toBe('completed');
    expect(clean.failback).toBe('completed');
    for (const step of STEPS) expect(clean.counts.get(step) ?? 0, step).toBeGreaterThan(0);
  });
});

describe('the recovery and failback under two faults at once', () => {
  it.for(pairs.map(([a, b]) => ({ a, b, title: `${name(a)} + ${name(b)}` })))(
    'completes or resumes to the same end: $title',
    { timeout: 180_000 },
    async ({ a, b }) => {
      const p: Prepared = await fw.prepare();
      const hit: string[] = [];
      // The recovery: both faults armed; one pick-up with the faults not hit yet, then clean.
      await fw.failHome(p);
      fw.tracer.arm([a, b]);
      const recovery = await fw.deliverRecovery(p);
      hit.push(...fw.tracer.hitFaults().map(name));
      fw.tracer.keepUnhit();
      await fw.checkOnePrimary(p);
      await fw.settleRecovery(p, 1);
      hit.push(...fw.tracer.hitFaults().map(name));
      const left = [a, b].filter((f) => !hit.includes(name(f)));
      fw.tracer.disarm();
      await fw.checkRecovered(p, await fw.settleRecovery(p));
      await fw.clientWrites(p, 'outage-1');
      await fw.restoreHome(p);

      // The failback: the faults that are still to hit, the same way.
      fw.tracer.arm(left);
      const failback = await fw.deliverFailback(p);
      hit.push(...fw.tracer.hitFaults().map(name));
      fw.tracer.keepUnhit();
      await fw.checkSnapshots(p);
      await fw.checkOnePrimary(p);
      await fw.clientWrites(p, 'failback-1');
      await fw.settleFailback(p, 1);
      hit.push(...fw.tracer.hitFaults().map(name));
      fw.tracer.disarm();
      await fw.checkOnePrimary(p);
      await fw.checkFailedBack(p, await fw.settleFailback(p));
      report.push({ faults: `${name(a)} + ${name(b)}`, hit, recovery, failback });
      expect(hit.sort(), 'both faults hit a call').toEqual([name(a), name(b)].sort());
    },
  );
});

describe('the pair fault suite itself', () => {
  it('covers every pair of steps when the sample is at least the number of pairs', () => {
    const covered = new Set(pairs.map(([a, b]) => [a.label, b.label].sort().join(' + ')));
    const missing = ALL_PAIRS.map((pair) => [...pair].sort().join(' + ')).filter(
      (pair) => !covered.has(pair),
    );
    expect(missing.length).toBe(Math.max(0, ALL_PAIRS.length - sampleSize));
    if (process.env.LIFEBOAT_FAULT_REPORT)
      console.log(JSON.stringify({ counts: Object.fromEntries(clean.counts), report }, null, 2));
  });
});
