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
import { LifeboatError } from '../../../../../shared/errors.ts';
import { InMemoryDocumentStore } from '../../../../fakes/detection/document-store.ts';
import { recoveryWorld } from '../../../../fakes/recovery/world.ts';
import { runs, wrongTypeFor } from '../../../support/harness.ts';
import { getAt, nodePaths, withReplaced } from '../../../support/json-paths.ts';

/**
 * Run records and claims are read back from the control buckets of several regions by every
 * step, retry and operator command. Neither has a schema today (run-store.ts casts the stored
 * value); these properties pin what holds and mark what does not (docs/fuzzing.md).
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
  it('never throws, whatever a bucket holds', async () => {
    const docs = fc.oneof(
      fc.jsonValue(),
      fc
        .constantFrom(...nodePaths(storedRun))
        .chain((path) =>
          wrongTypeFor(getAt(storedRun, path)).map((v) => withReplaced(storedRun, path, v)),
        ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(docs, { minLength: 1, maxLength: 3 }), async (held) => {
        const stores = held.map(storeWith);
        const deps = { documents: (region: string) => stores[Number(region)] } as never;
        await expect(
          loadRun(
            deps,
            storedRun.runId,
            held.map((_, i) => String(i)),
          ),
        ).resolves.not.toThrow();
      }),
      { numRuns: runs(500) },
    );
  });

  it.fails('KNOWN BUG: a step over a run document with a malformed field crashes with a TypeError', async () => {
    const { world, run } = await plannedRun();
    for (const region of run.claimSet) {
      const current = await world.deps.documents(region).load(runKey(run.runId));
      await world
        .bucket(region)
        .save(runKey(run.runId), { ...(current?.value as object), steps: null }, current?.version);
    }
    await expect(
      runRecoveryStep(world.deps, run.runId, 'restore', run.claimSet),
    ).rejects.toBeInstanceOf(LifeboatError);
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
