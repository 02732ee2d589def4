import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readClaim } from '../../../../../shared/domain/recovery/claims.ts';
import {
  runRecoveryStep,
  startRecovery,
} from '../../../../../shared/domain/recovery/recovery-run.ts';
import {
  loadRun,
  type RecoveryRun,
  runKey,
} from '../../../../../shared/domain/recovery/run-store.ts';
import { CorruptStateError } from '../../../../../shared/errors.ts';
import { InMemoryDocumentStore } from '../../../../fakes/detection/document-store.ts';
import { recoveryWorld } from '../../../../worlds/recovery.ts';
import { runs, wrongTypeFor } from '../../../support/harness.ts';
import { getAt, nodePaths, withReplaced } from '../../../support/json-paths.ts';

/**
 * Run records and claims are read back from the control buckets of several regions by every
 * step, retry and operator command. A copy that is corrupt or was edited by hand must be passed
 * over while another copy is good, and otherwise stop the step with CorruptStateError naming the
 * field; it must never crash a step halfway with a TypeError (docs/fuzzing.md).
 */

/** A world with a recovery claimed and planned, not yet restored: its stored run document. */
async function plannedRun() {
  const world = recoveryWorld();
  await world.seed();
  await world.snapshot();
  world.fail('us-east-1');
  const event = world.outage('us-east-1');
  const started = await startRecovery(world.deps, {
    instance: world.instance(),
    failedRegion: 'us-east-1',
    claimant: event.deliveryId,
    incident: { incidentId: event.incidentId, confirmedAt: event.confirmedAt },
  });
  if (started.outcome !== 'started') throw new Error(`test: ${started.outcome}`);
  const { run } = started;
  const stored = (await world.deps.documents(run.claimSet[0] as string).load(runKey(run.runId)))
    ?.value as RecoveryRun;
  return { world, run, stored };
}

const { stored: storedRun } = await plannedRun();

const storeWith = (doc: unknown) => {
  const store = new InMemoryDocumentStore();
  store.seed(runKey(storedRun.runId), doc);
  return store;
};

describe('loadRun over stored run documents', () => {
  it('takes the newest good copy, and fails with CorruptStateError only when no copy is good', async () => {
    type Held = { doc: unknown; good: boolean };
    const goodCopy = fc
      .nat({ max: 20 })
      .map((seq): Held => ({ doc: { ...storedRun, seq }, good: true }));
    const anyCopy = fc.oneof(
      goodCopy,
      fc.jsonValue().map((doc): Held => ({ doc, good: false })),
      fc
        .constantFrom(...nodePaths(storedRun))
        .chain((path) =>
          wrongTypeFor(getAt(storedRun, path)).map(
            (v): Held => ({ doc: withReplaced(storedRun, path, v), good: false }),
          ),
        ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(anyCopy, { minLength: 1, maxLength: 3 }), async (held) => {
        const stores = held.map(({ doc }) => storeWith(doc));
        const deps = { documents: (region: string) => stores[Number(region)] } as never;
        let run: RecoveryRun | undefined;
        let error: unknown;
        try {
          run = await loadRun(
            deps,
            storedRun.runId,
            held.map((_, i) => String(i)),
          );
        } catch (caught) {
          error = caught;
        }
        const good = held.filter((h) => h.good);
        if (good.length > 0) {
          expect(error).toBeUndefined();
          const newestGood = Math.max(...good.map((h) => (h.doc as RecoveryRun).seq));
          expect(run?.seq).toBeGreaterThanOrEqual(newestGood);
        }
        if (error !== undefined) {
          expect(error).toBeInstanceOf(CorruptStateError);
          expect((error as Error).message).toContain(runKey(storedRun.runId));
        } else {
          // A copy as it was stored, never something patched together or nothing at all.
          expect(held.map((h) => h.doc)).toContainEqual(run);
        }
      }),
      { numRuns: runs(500) },
    );
  });

  // Regression (docs/fuzzing.md): the run was cast, not parsed, so this was a TypeError.
  it('stops a step over a run whose every copy is malformed with CorruptStateError naming the field', async () => {
    const { world, run } = await plannedRun();
    for (const region of run.claimSet) {
      const current = await world.deps.documents(region).load(runKey(run.runId));
      await world
        .bucket(region)
        .save(runKey(run.runId), { ...(current?.value as object), steps: null }, current?.version);
    }
    const failure = await runRecoveryStep(world.deps, run.runId, 'restore', run.claimSet).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(CorruptStateError);
    expect((failure as Error).message).toContain('steps: ');
  });

  it('passes over a malformed copy, even one with a higher seq, while another copy is good', async () => {
    const { world, run } = await plannedRun();
    const [corrupted, good] = run.claimSet as [string, string];
    const current = await world.deps.documents(corrupted).load(runKey(run.runId));
    const stored = current?.value as RecoveryRun;
    await world
      .bucket(corrupted)
      .save(runKey(run.runId), { ...stored, seq: stored.seq + 10, steps: null }, current?.version);
    expect(await loadRun(world.deps, run.runId, run.claimSet)).toEqual(stored);
    const planned = await runRecoveryStep(world.deps, run.runId, 'plan', run.claimSet);
    expect(planned.steps.plan?.status).toBe('done');
    // The next save repairs the corrupt copy instead of deferring to its seq.
    const repaired = await world.deps.documents(corrupted).load(runKey(run.runId));
    expect(repaired?.value).toEqual(
      (await world.deps.documents(good).load(runKey(run.runId)))?.value,
    );
  });
});

describe('readClaim over stored claim documents', () => {
  it('never throws, and returns only records with a claimant and a claim set', async () => {
    const claim = {
      key: 'instances/petstore/generations/000001.json',
      claimant: 'delivery-a',
      claimSet: ['us-east-2', 'us-west-2', 'eu-west-1'],
      claimedAt: '2026-11-25T06:00:00.000Z',
      payload: {},
    };
    const docs = fc.oneof(
      fc.constant(claim),
      fc.jsonValue(),
      fc
        .constantFrom(...nodePaths(claim))
        .chain((path) => wrongTypeFor(getAt(claim, path)).map((v) => withReplaced(claim, path, v))),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(docs, { minLength: 3, maxLength: 3 }), async (held) => {
        const stores = held.map((doc) => {
          const store = new InMemoryDocumentStore();
          store.seed(claim.key, doc);
          return store;
        });
        const record = await readClaim(
          claim.key,
          ['0', '1', '2'],
          (r) => stores[Number(r)] as never,
        );
        if (record === undefined) return;
        expect(typeof record.claimant).toBe('string');
        expect(Array.isArray(record.claimSet)).toBe(true);
      }),
      { numRuns: runs(1000) },
    );
  });
});
