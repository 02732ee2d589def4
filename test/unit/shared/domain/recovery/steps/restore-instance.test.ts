import { describe, expect, it } from 'vitest';
import {
  runRecoveryStep,
  startRecovery,
} from '../../../../../../shared/domain/recovery/recovery-run.ts';
import { loadRun } from '../../../../../../shared/domain/recovery/run-store.ts';
import { restore } from '../../../../../../shared/domain/recovery/steps/restore-instance.ts';
import { MINUTE } from '../../../../../fakes/clock.ts';
import { recoveryWorld } from '../../../../../worlds/recovery.ts';

/**
 * A restore longer than one invocation (an API Gateway instance at AWS's control-plane pace):
 * it stops in time, records its progress, sends its trigger again, and the next invocation goes
 * on from what is in place without writing anything twice.
 */
describe('restore step', () => {
  it('continues in the next invocation without rewriting what it wrote when the invocation runs out of time', async () => {
    const w = recoveryWorld();
    await w.seed('petstore', 12);
    await w.snapshot('petstore');
    w.clock.advance(5 * MINUTE);
    w.fail('us-east-1');
    const event = w.outage('us-east-1');
    const started = await startRecovery(w.deps, {
      instance: w.instance(),
      failedRegion: 'us-east-1',
      claimant: 'delivery-a',
      incident: {
        incidentId: event.incidentId,
        outageStartedAt: event.outageStartedAt,
        confirmedAt: event.confirmedAt,
      },
    });
    if (started.outcome !== 'started') throw new Error(`test: ${started.outcome}`);
    const run = started.run;
    const planned = await runRecoveryStep(w.deps, run.runId, 'plan', run.claimSet);
    const target = planned.target as string;
    const store = w.store(target);
    const writesBefore = store.count('write');

    // The first invocation has time for 5 writes.
    let budget = 5;
    const short = { ...w.deps, workBudgetMs: () => (budget-- > 0 ? 10 * MINUTE : 0) };
    const eventsBefore = w.bus.events.length;
    const paused = await runRecoveryStep(short, run.runId, 'restore', run.claimSet);
    expect(paused.steps.restore).toMatchObject({ status: 'pending', attempts: 0 });
    expect(paused.steps.restore?.detail).toMatch(/continuing: 7 object\(s\) left/);
    expect(store.count('write') - writesBefore).toBe(5);
    // Its trigger is sent again, so a new invocation of the same function goes on.
    expect(w.bus.events.slice(eventsBefore).map((e) => e.detailType)).toEqual(['Recovery Planned']);

    const done = await runRecoveryStep(w.deps, run.runId, 'restore', run.claimSet);
    expect(done.steps.restore?.status).toBe('done');
    expect(store.count('write') - writesBefore).toBe(12);
    expect(store.contents('petstore')).toEqual(w.store('us-east-1').contents('petstore'));
  });

  it("records the restore's time at the provider's limits beside its measured time when the store's control plane is paced there", async () => {
    const { w, run } = await plannedRecovery(12);
    // A store whose control plane AWS would pace at 2 writes/s (API Gateway's, in kind).
    let writes = 100; // calls made before this restore: not its own
    const stores = w.deps.instanceStore;
    const paced = {
      ...w.deps,
      instanceStore: (region: string) => {
        const store = stores(region);
        return Object.assign(Object.create(store), {
          write: async (id: string, key: string, body: Uint8Array) => {
            writes += 1;
            return store.write(id, key, body);
          },
          pacedCalls: () => new Map([['PutThing', writes]]),
          secondsAtProviderLimits: (_id: string, calls: ReadonlyMap<string, number>) =>
            (calls.get('PutThing') ?? 0) / 2,
        });
      },
    };
    const done = await runRecoveryStep(paced, run.runId, 'restore', run.claimSet);

    expect(done.restoreOnAws?.projectedSeconds).toBe(6);
    expect(done.restoreOnAws?.measuredSeconds).toBeGreaterThanOrEqual(0);
  });

  it('records nothing of the kind for a store with no paced control plane', async () => {
    const { w, run } = await plannedRecovery(3);
    const done = await runRecoveryStep(w.deps, run.runId, 'restore', run.claimSet);
    expect(done.steps.restore?.status).toBe('done');
    expect(done.restoreOnAws).toBeUndefined();
  });
});

/** petstore (`objects` objects, snapshotted) recovering out of a failed us-east-1, planned. */
describe('a restore that another invocation overtook', () => {
  it('writes nothing and fences nothing over a copy the run has since shifted to (bug 18, sim seed 1410)', async () => {
    const { w, run } = await plannedRecovery(6);
    const stale = await loadRun(w.deps, run.runId, run.claimSet);
    if (!stale?.target) throw new Error('test: no plan');
    // The other invocation restores, verifies and shifts; the copy then takes a client write.
    for (const step of ['restore', 'verify', 'shift'] as const)
      await runRecoveryStep(w.deps, run.runId, step, run.claimSet);
    const target = w.store(stale.target);
    await target.write('petstore', 'apis/after-shift.json', Buffer.from('{"kept":true}'));
    const writes = target.count('write');
    // The late duplicate delivery's invocation read the run before all that: its take loses.
    const overtaken = {
      take: async () => (await loadRun(w.deps, run.runId, run.claimSet))?.seq === stale.seq,
      holds: async () => false,
    };
    await expect(restore(w.deps, stale, overtaken)).rejects.toThrow(/took over the restore/);
    expect(target.count('write')).toBe(writes);
    expect(target.contents('petstore').has('apis/after-shift.json')).toBe(true);
    expect(w.instances.isFenced('petstore', stale.target)).toBe(false);
  });
});

async function plannedRecovery(objects: number) {
  const w = recoveryWorld();
  await w.seed('petstore', objects);
  await w.snapshot('petstore');
  w.fail('us-east-1');
  const event = w.outage('us-east-1');
  const started = await startRecovery(w.deps, {
    instance: w.instance(),
    failedRegion: 'us-east-1',
    claimant: 'delivery-a',
    incident: { incidentId: event.incidentId, confirmedAt: event.confirmedAt },
  });
  if (started.outcome !== 'started') throw new Error(`test: ${started.outcome}`);
  const { run } = started;
  await runRecoveryStep(w.deps, run.runId, 'plan', run.claimSet);
  return { w, run };
}
