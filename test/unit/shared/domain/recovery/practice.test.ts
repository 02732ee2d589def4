import { describe, expect, it } from 'vitest';
import {
  practiceView,
  ReadOnlyDns,
  StoreReadbackControl,
} from '../../../../../shared/adapters/practice-identity.ts';
import { DetailType } from '../../../../../shared/domain/events.ts';
import { reservedSlots } from '../../../../../shared/domain/recovery/capacity.ts';
import { dnsSpecFor } from '../../../../../shared/domain/recovery/dns-spec.ts';
import {
  PRACTICE_RUN_ID,
  type PracticeDeps,
  practiceIdFor,
  practiceRunIdFor,
  runPractice,
} from '../../../../../shared/domain/recovery/practice.ts';
import { reportKey } from '../../../../../shared/domain/recovery/run-report.ts';
import { PracticeError } from '../../../../../shared/errors.ts';
import { MINUTE } from '../../../../fakes/clock.ts';
import {
  type RecoveryWorld,
  recoveryWorld,
  type WorldOptions,
} from '../../../../worlds/recovery.ts';

const PRACTICE_ID = practiceIdFor('petstore');

/** petstore seeded at home and snapshotted, ten minutes ago; its practice ports over the world's. */
async function practiceWorld(options: WorldOptions = {}) {
  const w = recoveryWorld(options);
  await w.seed();
  await w.snapshot();
  w.clock.advance(10 * MINUTE);
  const deps: PracticeDeps = {
    ...w.deps,
    practiceId: PRACTICE_ID,
    practiceStore: (region) => practiceView(w.store(region), PRACTICE_ID),
    instances: new StoreReadbackControl(w.store),
    dns: new ReadOnlyDns(w.dns),
    discard: async (region) => {
      const keys = (await w.store(region).list(PRACTICE_ID)).map((e) => e.key);
      if (keys.length) await w.store(region).delete(PRACTICE_ID, keys);
    },
  };
  return { w, deps };
}

const homeContents = (w: RecoveryWorld) => [...w.store('us-east-1').contents('petstore')];

describe('runPractice', () => {
  it('restores into the region a recovery would choose, verifies, removes the copy and reports the would-be RTO', async () => {
    const { w, deps } = await practiceWorld();
    const dns = w.dns.weightsOf('petstore');
    const home = homeContents(w);
    const report = await runPractice(deps, w.instance(), { by: 'tester' });
    expect(report).toMatchObject({
      practice: true,
      passed: true,
      target: 'us-east-2',
      status: 'completed',
      dnsUntouched: true,
      leftovers: 0,
      rpoSeconds: 600,
      claimant: 'practice:tester',
    });
    expect(report.steps.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(report.rtoSeconds).toBeGreaterThanOrEqual(0);
    expect(w.dns.applied).toEqual([]);
    expect(w.dns.weightsOf('petstore')).toEqual(dns);
    expect(homeContents(w)).toEqual(home);
    expect(w.store('us-east-2').contents(PRACTICE_ID).size).toBe(0);
    expect(w.store('us-east-2').contents('petstore').size).toBe(0);
    expect(await reservedSlots(w.bucket('us-east-2'), 'us-east-2', 4)).toEqual([]);
    expect(w.bucket('us-west-2').peek(reportKey(report.runId))).toMatchObject({ practice: true });
    expect(w.bus.events.map((e) => e.detailType)).toEqual([DetailType.PracticeCompleted]);
  });

  it('fails at verify and still removes the copy and the room when the copy does not serve the snapshot', async () => {
    const { w, deps } = await practiceWorld({ verifyAttempts: 2 });
    // A store that loses the last object it is given: the copy's digest is not the snapshot's.
    const lossy = (region: string) => {
      const view = practiceView(w.store(region), PRACTICE_ID);
      let writes = 0;
      return {
        ...view,
        write: async (id: string, key: string, body: Uint8Array) => {
          writes += 1;
          if (writes > 1) await view.write(id, key, body);
        },
      };
    };
    const report = await runPractice({ ...deps, practiceStore: lossy }, w.instance(), {
      by: 'tester',
    });
    expect(report).toMatchObject({
      passed: false,
      status: 'failed',
      failedStep: 'verify',
      leftovers: 0,
    });
    expect(report.reason).toContain('did not verify');
    expect(w.store('us-east-2').contents(PRACTICE_ID).size).toBe(0);
    expect(await reservedSlots(w.bucket('us-east-2'), 'us-east-2', 4)).toEqual([]);
    expect(w.bus.events.map((e) => e.detailType)).toEqual([DetailType.PracticeFailed]);
  });

  it('fails at plan with nothing restored when the target has no room', async () => {
    const { w, deps } = await practiceWorld({ capacity: { 'eu-west-1': 0 } });
    const report = await runPractice(deps, w.instance(), { to: 'eu-west-1', by: 'tester' });
    expect(report).toMatchObject({ passed: false, failedStep: 'plan', target: 'eu-west-1' });
    expect(report.reason).toContain('no room');
    expect(w.store('eu-west-1').contents(PRACTICE_ID).size).toBe(0);
  });

  it('refuses to practise in the home region', async () => {
    const { w, deps } = await practiceWorld();
    const report = await runPractice(deps, w.instance(), { to: 'us-east-1', by: 'tester' });
    expect(report).toMatchObject({ passed: false, failedStep: 'plan' });
    expect(homeContents(w).length).toBeGreaterThan(0);
  });
});

describe('the practice identity', () => {
  it('names runs so that report can tell them from recoveries', () => {
    const id = practiceRunIdFor('petstore', new Date('2026-12-02T15:04:05.678Z'));
    expect(id).toBe('petstore-practice-20261202t150405z');
    expect(PRACTICE_RUN_ID.test(id)).toBe(true);
  });

  it('refuses every DNS change when a practice asks for one', async () => {
    const w = recoveryWorld();
    const dns = new ReadOnlyDns(w.dns);
    const spec = dnsSpecFor(w.instance());
    await expect(dns.applyWeights(spec)).rejects.toBeInstanceOf(PracticeError);
    expect(await dns.readWeights(spec)).toEqual(w.dns.weightsOf('petstore'));
  });
});
