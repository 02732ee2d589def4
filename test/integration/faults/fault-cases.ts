import { expect } from 'vitest';
import {
  type AwsService,
  FAULT_KINDS,
  type FaultKind,
  type FaultPlan,
  faultOnce,
  faultPersistently,
  type ProxiedCall,
} from '../../../local/fault-proxy.ts';

/** One injected fault: which call of which service, how, and for how long. */
export interface FaultCase {
  service: AwsService;
  index: number;
  kind: FaultKind;
  mode: 'once' | 'persistent';
}

export function planOf(c: FaultCase): FaultPlan {
  return c.mode === 'once'
    ? faultOnce(c.service, c.index, c.kind)
    : faultPersistently(c.service, c.index, c.kind);
}

/** Every (kind, mode) pair; 5 kinds × 2 modes, so stepping through it by one covers all ten. */
const PAIRS = FAULT_KINDS.flatMap((kind) =>
  (['once', 'persistent'] as const).map((mode) => ({ kind, mode })),
);

/**
 * The cases to run for a clean run's call counts. `LIFEBOAT_FAULTS=full` runs the whole matrix
 * (every call × every kind × once and persistent). By default every call is broken once, the
 * (kind, mode) pairs stepping along the calls so each pair meets calls all along the run: the
 * full matrix takes over ten minutes of moto time, past what one `npm test` should spend.
 */
export function faultCases(
  counts: Record<AwsService, number>,
  services: readonly AwsService[],
  env: NodeJS.ProcessEnv = process.env,
): FaultCase[] {
  const full = env.LIFEBOAT_FAULTS === 'full';
  const cases: FaultCase[] = [];
  let position = 0;
  for (const service of services) {
    for (let index = 1; index <= counts[service]; index += 1) {
      const pairs = full ? PAIRS : [PAIRS[position % PAIRS.length] as (typeof PAIRS)[number]];
      position += 1;
      for (const { kind, mode } of pairs) cases.push({ service, index, kind, mode });
    }
  }
  return cases;
}

/**
 * Every case must have broken something, or it proved nothing. With LIFEBOAT_FAULT_REPORT set,
 * prints the clean run's calls and what each case hit (docs/fault-injection.md's counts).
 */
export function expectEveryCaseHit(
  clean: { counts: unknown; calls: readonly ProxiedCall[] },
  hits: readonly { hit: string }[],
): void {
  expect(hits.filter((h) => h.hit === 'none')).toEqual([]);
  if (!process.env.LIFEBOAT_FAULT_REPORT) return;
  const calls = clean.calls.map(
    (c) => `${c.service} ${c.operation} ${c.region} ${c.path.replace(/\?.*/, '')}`,
  );
  console.log(JSON.stringify({ counts: clean.counts, calls, hits }, null, 2));
}
