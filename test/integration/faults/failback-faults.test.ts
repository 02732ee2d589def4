import { afterAll, describe, expect, it } from 'vitest';
import type { InstanceControl } from '../../../shared/domain/recovery/ports.ts';
import {
  createFailbackFaultWorld,
  FAILBACK_LABELS,
  type Prepared,
  type StepFault,
  stepCases,
} from '../../worlds/failback-faults.ts';

/**
 * Every S3, Route 53 and EventBridge call of a failback (claim, fence, final snapshot, restore
 * home, verify, each canary step, release, run records, events), and of a canary that rolls
 * back, broken one at a time. The instance was recovered out of us-east-1 (clean), took writes
 * during the outage, and us-east-1 is back. After the faulted delivery, and again once the
 * system's own ways of picking a run up (a redelivery, `lifeboat resume`, `lifeboat failback
 * --approve` after a rollback) have run with the fault gone: no partial snapshot is visible,
 * at most one region is a primary, and in the end the failback is completed with every write
 * any region accepted at home.
 */

const fw = await createFailbackFaultWorld();
afterAll(() => fw.close());

const full = process.env.LIFEBOAT_FAULTS === 'full';
/**
 * Calls broken per step. A clean failback makes ~150 calls and each case costs a recovery and
 * a failback (3–5 s here), so CI breaks 3 calls per step, spread evenly over the step (first
 * and last included). `LIFEBOAT_FAULT_PER_STEP=all` breaks every call once (the kinds stepping
 * along); `LIFEBOAT_FAULTS=full` breaks every call with every kind, once and persistently.
 */
const perStepSetting = process.env.LIFEBOAT_FAULT_PER_STEP ?? '3';
const perStep = perStepSetting === 'all' ? Number.POSITIVE_INFINITY : Number(perStepSetting);
if (!(perStep >= 1))
  throw new Error(
    `LIFEBOAT_FAULT_PER_STEP: expected a count ≥ 1 or "all", got "${perStepSetting}"`,
  );

/** Home's health regresses once, at the canary's first check: the canary rolls back. */
function regressOnce(p: Prepared): void {
  const inner = p.deps.instances;
  let regressed = false;
  const instances: InstanceControl = {
    activate: (id, region) => inner.activate(id, region),
    fence: (id, region) => inner.fence(id, region),
    unfence: (id, region) => inner.unfence(id, region),
    health: async (id, region) => {
      if (!regressed && region === 'us-east-1' && fw.tracer.current === 'failback:shift') {
        regressed = true;
        return { ok: false, error: 'injected regression (503)' };
      }
      return inner.health(id, region);
    },
  };
  p.deps = { ...p.deps, instances };
}

/** The clean failback and the clean rollback, counted per step. */
async function cleanRun(rollback: boolean) {
  const p = await fw.prepare();
  await fw.recovered(p);
  if (rollback) regressOnce(p);
  fw.tracer.arm([]);
  const outcome = await fw.deliverFailback(p);
  const counts = fw.tracer.callsPerLabel();
  const run = await fw.settleFailback(p);
  return { p, outcome, counts, run };
}

const clean = await cleanRun(false);
const cleanRollback = await cleanRun(true);
const cases: { scenario: 'failback' | 'rollback'; fault: StepFault }[] = [
  ...stepCases(clean.counts, FAILBACK_LABELS, { full, perStep }).map((fault) => ({
    scenario: 'failback' as const,
    fault,
  })),
  // The rollback's own calls are those of the shift step that regresses.
  ...stepCases(cleanRollback.counts, ['failback:shift'], { full, perStep }).map((fault) => ({
    scenario: 'rollback' as const,
    fault,
  })),
];
const hits: { name: string; hit: string; first: string }[] = [];

describe('the failback path, clean', () => {
  it('completes home with every outage write and calls S3, Route 53 and EventBridge in each step', async () => {
    expect(clean.outcome).toBe('completed');
    for (const label of FAILBACK_LABELS)
      expect(clean.counts.get(label) ?? 0, label).toBeGreaterThan(0);
    await fw.checkFailedBack(clean.p, clean.run);
  });

  it('rolls back on a regression and completes when the operator tries again', async () => {
    expect(cleanRollback.outcome).toMatch(/failed at shift: home health regressed .*rolled back/);
    expect(cleanRollback.run?.runId).toBe(`${cleanRollback.p.id}-g3`);
    await fw.checkFailedBack(cleanRollback.p, cleanRollback.run);
  });
});

describe('the failback path under one injected fault', () => {
  it.for(cases)(
    'completes or resumes to the same end: $scenario, $fault.kind $fault.mode at $fault.label call $fault.k',
    { timeout: 180_000 },
    async ({ scenario, fault }) => {
      const p = await fw.prepare();
      await fw.recovered(p);
      if (scenario === 'rollback') regressOnce(p);
      fw.tracer.arm([fault]);
      const first = await fw.deliverFailback(p);
      const [hit] = fw.tracer.hits();
      fw.tracer.disarm();
      hits.push({
        name: `${scenario}: ${fault.kind} ${fault.mode} ${fault.label}#${fault.k}`,
        hit: hit
          ? `${hit.call.operation} ${hit.call.region} ${hit.call.path.replace(/\?.*/, '')}`
          : 'none',
        first,
      });
      // Wherever it stopped: nothing half-visible, one primary, and clients' writes are kept.
      await fw.checkSnapshots(p);
      await fw.checkOnePrimary(p);
      await fw.clientWrites(p, 'after-fault');
      const run = await fw.settleFailback(p);
      await fw.checkFailedBack(p, run);
    },
  );
});

describe('the failback fault suite itself', () => {
  it('hit a call in every case', () => {
    expect(hits.filter((h) => h.hit === 'none')).toEqual([]);
    if (process.env.LIFEBOAT_FAULT_REPORT)
      console.log(
        JSON.stringify(
          {
            counts: Object.fromEntries(clean.counts),
            rollback: Object.fromEntries(cleanRollback.counts),
            hits,
          },
          null,
          2,
        ),
      );
  });
});
