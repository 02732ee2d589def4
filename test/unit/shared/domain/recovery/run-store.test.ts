import { describe, expect, it } from 'vitest';
import { SimulatedCrash } from '../../../../../shared/adapters/memory/crash.ts';
import { parseConfig } from '../../../../../shared/config/load.ts';
import { claim } from '../../../../../shared/domain/recovery/claims.ts';
import {
  dnsSpecFor,
  driveRun,
  generationKey,
  instanceOf,
  latestGeneration,
  loadRun,
  type RecoveryDeps,
  type RecoveryRun,
  runKey,
  runStep,
  type StepContext,
  type StepTable,
  saveRun,
  secondsBetween,
} from '../../../../../shared/domain/recovery/run-store.ts';
import { RunStepError, StorageUnavailableError } from '../../../../../shared/errors.ts';
import { MINUTE } from '../../../../fakes/clock.ts';
import { type RecoveryWorld, recoveryWorld } from '../../../../worlds/recovery.ts';

const SET = ['eu-west-1', 'us-east-2', 'us-west-2'];
const RUN = 'petstore-g1';

/** A three-step table whose work the test scripts; counts every execution. */
function testTable(
  script: Partial<Record<'a' | 'b' | 'c', (n: number) => Partial<RecoveryRun>>> = {},
) {
  const executions = { a: 0, b: 0, c: 0 };
  const work = (step: 'a' | 'b' | 'c') => async () => {
    executions[step] += 1;
    return script[step]?.(executions[step]) ?? {};
  };
  const table: StepTable = {
    steps: ['a', 'b', 'c'],
    work: { a: work('a'), b: work('b'), c: work('c') },
    events: { a: 'A Done', b: undefined, c: 'C Done' },
    failedEvent: 'Test Failed',
  };
  return { table, executions };
}

function freshRun(w: RecoveryWorld, overrides: Partial<RecoveryRun> = {}): RecoveryRun {
  const now = w.clock.now().toISOString();
  return {
    runId: RUN,
    kind: 'recovery',
    instanceId: 'petstore',
    generation: 1,
    from: 'us-east-1',
    claimant: 'delivery-a',
    claimSet: SET,
    status: 'running',
    incident: { incidentId: 'us-east-1-incident-1' },
    steps: {
      a: { status: 'pending', attempts: 0 },
      b: { status: 'pending', attempts: 0 },
      c: { status: 'pending', attempts: 0 },
    },
    seq: 0,
    startedAt: now,
    updatedAt: now,
    ...overrides,
  };
}

const stored = (w: RecoveryWorld, region: string) =>
  w.bucket(region).peek(runKey(RUN)) as RecoveryRun | undefined;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('test: expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('keys and helpers', () => {
  it('pads generations to six digits and names runs by id when building keys', () => {
    expect(generationKey('petstore', 12)).toBe('instances/petstore/generations/000012.json');
    expect(runKey('petstore-g2')).toBe('runs/petstore-g2.json');
  });

  it('measures seconds between two ISO times when the second is later', () => {
    expect(secondsBetween('2026-11-25T06:00:00.000Z', '2026-11-25T06:01:30.500Z')).toBe(90.5);
  });

  it('builds one weighted target per endpoint region when making the DNS spec', () => {
    const w = recoveryWorld({
      instances: [{ id: 'petstore', endpointRegions: ['us-east-1', 'us-east-2'] }],
    });
    expect(dnsSpecFor(w.instance())).toEqual({
      instanceId: 'petstore',
      hostedZoneId: 'Z0TEST',
      recordName: 'petstore.api.example.com',
      ttl: 30,
      targets: {
        'us-east-1': 'petstore.us-east-1.example.com',
        'us-east-2': 'petstore.us-east-2.example.com',
      },
    });
  });

  it('refuses a run when its instance is no longer configured', () => {
    const w = recoveryWorld();
    expect(() => instanceOf(w.deps, freshRun(w, { instanceId: 'gone' }))).toThrow(RunStepError);
    expect(instanceOf(w.deps, freshRun(w)).id).toBe('petstore');
  });
});

describe('saveRun', () => {
  it('writes the next seq to every bucket of the claim set when all answer', async () => {
    const w = recoveryWorld();
    w.clock.advance(MINUTE);
    const saved = await saveRun(w.deps, freshRun(w));
    expect(saved.seq).toBe(1);
    expect(saved.updatedAt).toBe('2026-11-25T06:01:00.000Z');
    for (const region of SET) expect(stored(w, region)).toEqual(saved);
    expect(w.bucket('us-east-1').peek(runKey(RUN))).toBeUndefined();
  });

  it('records the run in the buckets that answer when one is unreachable', async () => {
    const w = recoveryWorld();
    w.bucket('us-west-2').unreachable = true;
    const saved = await saveRun(w.deps, freshRun(w));
    expect(stored(w, 'eu-west-1')).toEqual(saved);
    expect(stored(w, 'us-east-2')).toEqual(saved);
    w.bucket('us-west-2').unreachable = false;
    expect(stored(w, 'us-west-2')).toBeUndefined();
  });

  it('throws a RunStepError when no bucket of the claim set answers', async () => {
    const w = recoveryWorld();
    for (const region of SET) w.bucket(region).unreachable = true;
    expect(await rejection(saveRun(w.deps, freshRun(w)))).toBeInstanceOf(RunStepError);
  });

  it('never lets an older copy overwrite a newer one when a stale invocation saves', async () => {
    const w = recoveryWorld();
    const first = await saveRun(w.deps, freshRun(w));
    const newer = await saveRun(w.deps, { ...first, target: 'us-east-2' });
    // A stale invocation still holds `first` (seq 1) and saves seq 2 over the stored seq 2.
    const error = await rejection(saveRun(w.deps, { ...first, target: 'us-west-2' }));
    expect(error).toBeInstanceOf(RunStepError);
    for (const region of SET) expect(stored(w, region)).toEqual(newer);
  });

  it('updates only the buckets that hold an older copy when the copies differ', async () => {
    const w = recoveryWorld();
    const v1 = await saveRun(w.deps, freshRun(w));
    w.bucket('us-west-2').unreachable = true;
    const v2 = await saveRun(w.deps, { ...v1, target: 'us-east-2' });
    w.bucket('us-west-2').unreachable = false;
    const v3 = await saveRun(w.deps, { ...v2, status: 'completed' });
    expect(SET.map((r) => stored(w, r)?.seq)).toEqual([3, 3, 3]);
    expect(stored(w, 'us-west-2')).toEqual(v3);
  });

  it('leaves the stored copy alone when another writer changes it between the read and the write', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    for (const region of SET) w.bucket(region).inner.conflictNextSaves = 1;
    expect(await rejection(saveRun(w.deps, { ...freshRun(w), seq: 1 }))).toBeInstanceOf(
      RunStepError,
    );
    for (const region of SET) expect(stored(w, region)?.seq).toBe(1);
  });
});

describe('saveRun against a failing bucket', () => {
  const alone = ['us-east-2'];

  it('records the run in a one-bucket claim set whose first attempt fails with a storage error', async () => {
    const w = recoveryWorld();
    let failures = 1;
    w.bucket('us-east-2').inner.hook = ({ op }) => {
      if (op === 'save' && failures-- > 0)
        throw new StorageUnavailableError('us-east-2: connect ECONNRESET');
    };
    const saved = await saveRun(w.deps, freshRun(w, { claimSet: alone }));
    expect(stored(w, 'us-east-2')).toEqual(saved);
  });

  it('counts its own write whose answer was lost, and writes it once', async () => {
    const w = recoveryWorld();
    const bucket = w.bucket('us-east-2');
    let lost = 1;
    const deps = {
      ...w.deps,
      documents: (region: string) => {
        const real = w.deps.documents(region);
        return {
          ...real,
          load: (key: string) => real.load(key),
          list: (prefix: string) => real.list(prefix),
          save: async (key: string, value: unknown, version: string | undefined) => {
            const written = await real.save(key, value, version);
            if (lost-- > 0) throw new StorageUnavailableError('us-east-2: read ETIMEDOUT');
            return written;
          },
        };
      },
    };
    const saved = await saveRun(deps, freshRun(w, { claimSet: alone }));
    expect(stored(w, 'us-east-2')).toEqual(saved);
    expect(bucket.savesOf(/^runs\//)).toBe(1);
  });

  it('gives up, naming the run, when the only bucket keeps failing', async () => {
    const w = recoveryWorld();
    w.bucket('us-east-2').inner.hook = ({ op }) => {
      if (op === 'save') throw new StorageUnavailableError('us-east-2: connect ECONNREFUSED');
    };
    const error = await rejection(saveRun(w.deps, freshRun(w, { claimSet: alone })));
    expect(error).toBeInstanceOf(RunStepError);
    expect((error as Error).message).toContain(`run ${RUN} could not be recorded`);
  });
});

describe('loadRun', () => {
  it('returns the copy with the highest seq when the buckets disagree', async () => {
    const w = recoveryWorld();
    const v1 = await saveRun(w.deps, freshRun(w));
    w.bucket('eu-west-1').unreachable = true;
    w.bucket('us-east-2').unreachable = true;
    const v2 = await saveRun(w.deps, { ...v1, target: 'us-west-2' });
    w.bucket('eu-west-1').unreachable = false;
    w.bucket('us-east-2').unreachable = false;
    expect(await loadRun(w.deps, RUN, SET)).toEqual(v2);
  });

  it('reads past unreachable buckets and returns nothing when no copy exists', async () => {
    const w = recoveryWorld();
    const v1 = await saveRun(w.deps, freshRun(w));
    w.bucket('eu-west-1').unreachable = true;
    expect(await loadRun(w.deps, RUN, SET)).toEqual(v1);
    expect(await loadRun(w.deps, 'petstore-g9', SET)).toBeUndefined();
  });

  /** The deps with each region's reads failing `failures` times before they answer. */
  function flakyReads(w: RecoveryWorld, failures: number) {
    const left = new Map<string, number>();
    let reads = 0;
    const deps: RecoveryDeps = {
      ...w.deps,
      documents: (region) => {
        const store = w.deps.documents(region);
        return {
          ...store,
          load: async (key) => {
            reads += 1;
            const n = left.get(region) ?? failures;
            left.set(region, n - 1);
            if (n > 0) throw new StorageUnavailableError(`flaky ${region} ${key}`);
            return store.load(key);
          },
        };
      },
    };
    return { deps, reads: () => reads };
  }

  it('retries in place when no bucket of a one-bucket claim set answers (sim seed 2036451)', async () => {
    const w = recoveryWorld();
    const v1 = await saveRun(w.deps, { ...freshRun(w), claimSet: ['us-east-2'] });
    const flaky = flakyReads(w, 2);
    expect(await loadRun(flaky.deps, RUN, ['us-east-2'])).toEqual(v1);
    expect(flaky.reads()).toBe(3);
  });

  it('does not wait on a dead bucket when another of the set answered', async () => {
    const w = recoveryWorld();
    const v1 = await saveRun(w.deps, freshRun(w));
    w.bucket('eu-west-1').unreachable = true;
    const before = w.clock.now().getTime();
    expect(await loadRun(w.deps, RUN, SET)).toEqual(v1);
    expect(w.clock.now().getTime()).toBe(before);
  });
});

describe('latestGeneration', () => {
  it('is generation 0 without a claim when the instance was never recovered', async () => {
    const w = recoveryWorld();
    expect(await latestGeneration(w.deps, 'petstore')).toEqual({ generation: 0 });
  });

  it('follows decided generations when a later one reached only a minority', async () => {
    const w = recoveryWorld();
    for (const generation of [1, 2]) {
      await claim(
        {
          key: generationKey('petstore', generation),
          claimant: `delivery-${generation}`,
          claimSet: SET,
          claimedAt: w.clock.now().toISOString(),
          payload: { runId: `petstore-g${generation}` },
        },
        (r) => w.bucket(r),
      );
    }
    // Generation 3 reached one bucket only: no majority, not decided.
    w.bucket('eu-west-1').inner.seed(generationKey('petstore', 3), {
      key: generationKey('petstore', 3),
      claimant: 'delivery-3',
      claimSet: SET,
      claimedAt: w.clock.now().toISOString(),
      payload: { runId: 'petstore-g3' },
    });
    const latest = await latestGeneration(w.deps, 'petstore');
    expect(latest.generation).toBe(2);
    expect(latest.claim).toMatchObject({
      claimant: 'delivery-2',
      payload: { runId: 'petstore-g2' },
    });
  });
});

describe('runStep', () => {
  it('does the step, records it done and emits its event when the previous step is done', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table, executions } = testTable({ a: () => ({ target: 'us-east-2' }) });

    const run = await runStep(w.deps, RUN, 'a', SET, table);

    expect(executions).toEqual({ a: 1, b: 0, c: 0 });
    expect(run).toMatchObject({ status: 'running', target: 'us-east-2', seq: 2 });
    expect(run.steps.a).toEqual({ status: 'done', attempts: 1, at: '2026-11-25T06:00:00.000Z' });
    expect(stored(w, 'us-east-2')).toEqual(run);
    expect(w.bus.events.map((e) => e.detailType)).toEqual(['A Done']);
    expect(w.bus.details('A Done')[0]).toMatchObject({
      runId: RUN,
      instanceId: 'petstore',
      target: 'us-east-2',
      claimSet: SET,
    });
  });

  it('only re-emits the event when the step is already done', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table, executions } = testTable();
    const done = await runStep(w.deps, RUN, 'a', SET, table);

    const again = await runStep(w.deps, RUN, 'a', SET, table);

    expect(executions.a).toBe(1);
    expect(again).toEqual(done);
    expect(w.bus.events.map((e) => e.detailType)).toEqual(['A Done', 'A Done']);
  });

  it('emits nothing when the step has no event', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table } = testTable();
    await runStep(w.deps, RUN, 'a', SET, table);
    await runStep(w.deps, RUN, 'b', SET, table);
    expect(w.bus.events.map((e) => e.detailType)).toEqual(['A Done']);
  });

  it('refuses a step when the step before it is not done', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table, executions } = testTable();
    const error = await rejection(runStep(w.deps, RUN, 'b', SET, table));
    expect(error).toBeInstanceOf(RunStepError);
    expect((error as RunStepError).step).toBe('b');
    expect((error as Error).message).toMatch(/cannot b before a is done/);
    expect(executions.b).toBe(0);
    expect(stored(w, 'us-east-2')?.seq).toBe(1);
  });

  it('refuses the step when the table lacks it or the run was never recorded', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table } = testTable();
    expect((await rejection(runStep(w.deps, RUN, 'z', SET, table))) as Error).toMatchObject({
      name: 'RunStepError',
      message: expect.stringMatching(/no step z/),
    });
    expect(
      (await rejection(runStep(w.deps, 'petstore-g7', 'a', SET, table))) as Error,
    ).toMatchObject({
      name: 'RunStepError',
      message: expect.stringMatching(/no recorded run petstore-g7/),
    });
  });

  it('retries with growing back-off and counts the attempts when the step fails a few times', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table, executions } = testTable({
      a: (n) => {
        if (n < 3) throw new Error(`flaky ${n}`);
        return {};
      },
    });
    const run = await runStep(w.deps, RUN, 'a', SET, table);
    expect(executions.a).toBe(3);
    expect(run.steps.a).toMatchObject({ status: 'done', attempts: 3 });
    expect(w.sleeps).toEqual([1000, 2000]);
    expect(w.bus.details('Test Failed')).toEqual([]);
  });

  it('marks the run failed with the step and the reason and emits the failure when every attempt fails', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table, executions } = testTable({
      b: () => {
        throw new Error('no region has room');
      },
    });
    await runStep(w.deps, RUN, 'a', SET, table);

    const error = await rejection(runStep(w.deps, RUN, 'b', SET, table));

    expect(error).toBeInstanceOf(RunStepError);
    expect((error as RunStepError).message).toBe(`run ${RUN} failed at b: no region has room`);
    expect((error as RunStepError).cause).toMatchObject({ message: 'no region has room' });
    expect(executions.b).toBe(3);
    const run = stored(w, 'us-east-2');
    expect(run).toMatchObject({ status: 'failed', failedStep: 'b', reason: 'no region has room' });
    expect(run?.steps.b).toEqual({ status: 'failed', attempts: 3, detail: 'no region has room' });
    expect(w.bus.details('Test Failed')).toEqual([
      expect.objectContaining({ runId: RUN, step: 'b', reason: 'no region has room' }),
    ]);
  });

  it('leaves a failed run as it is when a redelivery asks for its step again', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    let broken = true;
    const { table, executions } = testTable({
      a: () => {
        if (broken) throw new Error('bucket throttled');
        return {};
      },
    });
    await rejection(runStep(w.deps, RUN, 'a', SET, table));
    const failed = stored(w, 'us-east-2');
    broken = false;

    const again = await runStep(w.deps, RUN, 'a', SET, table);

    expect(again).toEqual(failed);
    expect(executions.a).toBe(3);
    expect(stored(w, 'us-east-2')).toEqual(failed);
  });

  it('resumes a failed run, clearing the failure and adding up the attempts, when an operator resumes it', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    let broken = true;
    const { table } = testTable({
      a: () => {
        if (broken) throw new Error('bucket throttled');
        return {};
      },
    });
    await rejection(runStep(w.deps, RUN, 'a', SET, table));
    broken = false;

    const run = await runStep(w.deps, RUN, 'a', SET, table, { resume: true });

    expect(run.status).toBe('running');
    expect(run.reason).toBeUndefined();
    expect(run.failedStep).toBeUndefined();
    expect(run.steps.a).toMatchObject({ status: 'done', attempts: 4 });
  });

  it('does not retry and records the changes it asks for when the step fails with a final error', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table, executions } = testTable({
      a: () => {
        throw new RunStepError('a', 'rolled back', { final: true, changes: { rolledBack: true } });
      },
    });
    const error = await rejection(runStep(w.deps, RUN, 'a', SET, table));
    expect(error).toBeInstanceOf(RunStepError);
    expect(executions.a).toBe(1);
    expect(w.sleeps).toEqual([]);
    expect(stored(w, 'us-east-2')).toMatchObject({
      status: 'failed',
      failedStep: 'a',
      rolledBack: true,
      reason: 'rolled back',
    });
  });

  it('retries a RunStepError when it is not final', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table, executions } = testTable({
      a: () => {
        throw new RunStepError('a', 'not yet');
      },
    });
    await rejection(runStep(w.deps, RUN, 'a', SET, table));
    expect(executions.a).toBe(3);
  });

  it('marks the run completed when the last step is done', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table } = testTable();
    for (const step of ['a', 'b']) await runStep(w.deps, RUN, step, SET, table);
    const run = await runStep(w.deps, RUN, 'c', SET, table);
    expect(run.status).toBe('completed');
    expect(w.bus.events.map((e) => e.detailType)).toEqual(['A Done', 'C Done']);
  });

  it('makes the configured number of attempts when the step keeps failing', async () => {
    const w = recoveryWorld({ stepAttempts: 5 });
    await saveRun(w.deps, freshRun(w));
    const { table, executions } = testTable({
      a: () => {
        throw new Error('down');
      },
    });
    await rejection(runStep(w.deps, RUN, 'a', SET, table));
    expect(executions.a).toBe(5);
    expect(w.sleeps).toEqual([1000, 2000, 4000, 8000]);
  });
});

describe('driveRun', () => {
  it('runs every remaining step once, in order, when started from a fresh run', async () => {
    const w = recoveryWorld();
    const run = await saveRun(w.deps, freshRun(w));
    const order: string[] = [];
    const { table, executions } = testTable({
      a: () => {
        order.push('a');
        return {};
      },
      b: () => {
        order.push('b');
        return {};
      },
      c: () => {
        order.push('c');
        return {};
      },
    });
    const done = await driveRun(w.deps, run, table);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(executions).toEqual({ a: 1, b: 1, c: 1 });
    expect(done.status).toBe('completed');
  });

  it('stops at a failed run and carries it on when resumed', async () => {
    const w = recoveryWorld();
    const run = await saveRun(w.deps, freshRun(w));
    let broken = true;
    const { table, executions } = testTable({
      b: () => {
        if (broken) throw new Error('no room');
        return {};
      },
    });
    expect(await rejection(driveRun(w.deps, run, table))).toBeInstanceOf(RunStepError);
    broken = false;

    const redelivered = await driveRun(w.deps, run, table);
    expect(redelivered).toMatchObject({ status: 'failed', failedStep: 'b' });
    expect(executions).toEqual({ a: 1, b: 3, c: 0 });

    // The operator resumes from the run as recorded now.
    const recorded = (await loadRun(w.deps, RUN, SET)) as RecoveryRun;
    const resumed = await driveRun(w.deps, recorded, table, { resume: true });
    expect(resumed.status).toBe('completed');
    expect(executions).toEqual({ a: 1, b: 4, c: 1 });
  });

  /** A run whose process dies right after `crashAfter` is recorded, before its event is sent. */
  async function crashedAfter(crashAfter: 'a' | 'b' | 'c') {
    const w = recoveryWorld();
    const run = await saveRun(w.deps, freshRun(w));
    const { table, executions } = testTable();
    table.events = { a: 'A Done', b: 'B Done', c: 'C Done' };
    const lost = `${crashAfter.toUpperCase()} Done`;
    let armed = true;
    w.bus.publish = async (events) => {
      if (armed && events.some((e) => e.detailType === lost)) {
        armed = false;
        throw new SimulatedCrash(`after ${crashAfter}`);
      }
      w.bus.events.push(...events);
    };
    expect(await rejection(driveRun(w.deps, run, table))).toBeInstanceOf(SimulatedCrash);
    expect(stored(w, 'us-east-2')?.steps[crashAfter]?.status).toBe('done');
    return { w, run, table, executions, lost };
  }

  it.each(['a', 'b', 'c'] as const)(
    'resumes to completion doing each step once when the process died after step %s was recorded',
    async (crashAfter) => {
      const { w, run, table, executions } = await crashedAfter(crashAfter);
      // The resumer only has the run as it was first recorded.
      const done = await driveRun(w.deps, run, table);
      expect(done.status).toBe('completed');
      expect(executions).toEqual({ a: 1, b: 1, c: 1 });
      expect(stored(w, 'us-east-2')?.status).toBe('completed');
    },
  );

  // Only the final step's event is re-sent: re-sending an intermediate one would trigger that
  // step's handler concurrently with the resume that is already running the step itself.
  it.each(['c'] as const)(
    're-sends the event lost in a crash after step %s when the run is resumed',
    async (crashAfter) => {
      const { w, run, table, lost } = await crashedAfter(crashAfter);
      await driveRun(w.deps, run, table);
      expect(w.bus.events.filter((e) => e.detailType === lost)).toHaveLength(1);
    },
  );
});

describe('dnsSpecFor', () => {
  it('ties each region record to its configured health check when the config names them', () => {
    const config = parseConfig(
      {
        version: 1,
        regions: ['us-east-1', 'us-east-2'].map((name, i) => ({
          name,
          location: { lat: 38 + i, lon: -77 - i },
          capacity: 2,
          zones: [`${name}a`],
        })),
        instances: [
          {
            id: 'petstore',
            homeRegion: 'us-east-1',
            replicaRegions: ['us-east-1'],
            dns: {
              hostedZoneId: 'Z1',
              recordName: 'petstore.example.com',
              healthChecks: { 'us-east-1': 'hc-1', 'us-east-2': 'hc-2' },
            },
            endpoints: {
              'us-east-1': { url: 'https://a.example.com' },
              'us-east-2': { url: 'https://b.example.com' },
            },
          },
        ],
      },
      'test',
    );
    const spec = dnsSpecFor(config.instances[0] as (typeof config.instances)[number]);
    expect(spec.healthChecks).toEqual({ 'us-east-1': 'hc-1', 'us-east-2': 'hc-2' });
    expect(spec.targets).toEqual({ 'us-east-1': 'a.example.com', 'us-east-2': 'b.example.com' });
  });
});

/** What another invocation of the same run does meanwhile: it writes the run (a step, a take). */
async function anotherInvocationWrites(w: RecoveryWorld): Promise<RecoveryRun> {
  const current = (await loadRun(w.deps, RUN, SET)) as RecoveryRun;
  return saveRun(w.deps, { ...current, driver: 'another-invocation' });
}

/** A table whose step b is `work`, with a clean-up that records every call. */
function tableWithB(
  work: (context: StepContext) => Promise<Partial<RecoveryRun>>,
  onFailure?: StepTable['onFailure'],
) {
  const cleanups: string[] = [];
  const { table } = testTable();
  const withB: StepTable = {
    ...table,
    work: { ...table.work, b: (_deps, _run, context) => work(context) },
    onFailure: async (deps, run, step) => {
      cleanups.push(step);
      return onFailure?.(deps, run, step);
    },
  };
  return { table: withB, cleanups };
}

describe('runStep clean-up', () => {
  it('records the run fields the clean-up returns, sending earlier steps back to pending, when a step fails', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w, { target: 'us-east-2' }));
    const { table, cleanups } = tableWithB(
      async () => {
        throw new Error('lost the fence');
      },
      async (deps) => ({
        target: undefined,
        steps: { a: { status: 'pending', attempts: 1, at: deps.clock.now().toISOString() } },
      }),
    );
    await runStep(w.deps, RUN, 'a', SET, table);

    await rejection(runStep(w.deps, RUN, 'b', SET, table));

    expect(cleanups).toEqual(['b']);
    const run = stored(w, 'us-east-2');
    expect(run).toMatchObject({ status: 'failed', failedStep: 'b' });
    expect(run?.target).toBeUndefined();
    expect(run?.steps.a?.status).toBe('pending');
    expect(run?.steps.b).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it('neither cleans up nor records a failure when another invocation wrote the run during the step', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table, cleanups } = tableWithB(async () => {
      await anotherInvocationWrites(w);
      throw new Error('timed out');
    });
    await runStep(w.deps, RUN, 'a', SET, table);

    const run = await runStep(w.deps, RUN, 'b', SET, table);

    expect(cleanups).toEqual([]);
    expect(run).toMatchObject({ status: 'running', driver: 'another-invocation' });
    expect(run.steps.b?.status).toBe('pending');
    expect(stored(w, 'us-east-2')).toEqual(run);
    expect(w.bus.details('Test Failed')).toEqual([]);
  });
});

describe('runStep context', () => {
  it('takes the run, recording the changes and this invocation as its driver, when nobody wrote it since the step read it', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const seen: boolean[] = [];
    const { table } = tableWithB(async (context) => {
      seen.push(await context.take({ canary: [] }));
      seen.push(await context.holds());
      return {};
    });
    await runStep(w.deps, RUN, 'a', SET, table);

    const run = await runStep({ ...w.deps, newDriverId: () => 'driver-1' }, RUN, 'b', SET, table);

    expect(seen).toEqual([true, true]);
    // a, the take, b.
    expect(run).toMatchObject({ seq: 4, driver: 'driver-1', canary: [] });
    expect(run.steps.b?.status).toBe('done');
  });

  it('refuses to take the run when another invocation wrote it after the step read it', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const { table, cleanups } = tableWithB(async (context) => {
      await anotherInvocationWrites(w);
      if (!(await context.take())) throw new Error('taken over');
      return { target: 'us-west-2' };
    });
    await runStep(w.deps, RUN, 'a', SET, table);

    const run = await runStep(w.deps, RUN, 'b', SET, table);

    expect(run.driver).toBe('another-invocation');
    expect(run.target).toBeUndefined();
    expect(run.steps.b?.status).toBe('pending');
    expect(cleanups).toEqual([]);
  });

  it('stops holding the run, and records nothing, when another invocation took it after this one did', async () => {
    const w = recoveryWorld();
    await saveRun(w.deps, freshRun(w));
    const held: boolean[] = [];
    const { table, cleanups } = tableWithB(async (context) => {
      await context.take();
      await anotherInvocationWrites(w);
      held.push(await context.holds());
      return { target: 'us-west-2' };
    });
    await runStep(w.deps, RUN, 'a', SET, table);

    const run = await runStep(w.deps, RUN, 'b', SET, table);

    expect(held).toEqual([false]);
    expect(run).toMatchObject({ driver: 'another-invocation', status: 'running' });
    expect(run.target).toBeUndefined();
    expect(run.steps.b?.status).toBe('pending');
    expect(stored(w, 'us-east-2')).toEqual(run);
    expect(cleanups).toEqual([]);
  });

  it('stops driving, without an error, at a step another invocation took over', async () => {
    const w = recoveryWorld();
    const fresh = await saveRun(w.deps, freshRun(w));
    let cRan = false;
    const { table } = tableWithB(async (context) => {
      await context.take();
      await anotherInvocationWrites(w);
      if (!(await context.holds())) throw new Error('taken over');
      return {};
    });
    table.work.c = async () => {
      cRan = true;
      return {};
    };

    const run = await driveRun(w.deps, fresh, table);

    expect(cRan).toBe(false);
    expect(run.steps.a?.status).toBe('done');
    expect(run.steps.b?.status).toBe('pending');
    expect(run.status).toBe('running');
  });
});
