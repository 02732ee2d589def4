import type { Context } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { type CrashRecord, invokeAndKill } from '../../local/drill/crash.ts';
import {
  driveRecovery,
  runRecoveryStep,
  startRecovery,
} from '../../shared/domain/recovery/recovery-run.ts';
import { runEventDetail } from '../../shared/domain/recovery/run.ts';
import { loadRun } from '../../shared/domain/recovery/run-store.ts';
import { InvocationKilledError } from '../../shared/errors.ts';
import { buildStepHandler } from '../../shared/runtime/recovery-handler.ts';
import { readInstance } from '../support/s3.ts';
import { createRecoveryWorld, HERE } from '../worlds/moto-recovery.ts';

/**
 * The drill's real crash (`lifeboat drill --crash restore`): a restore invocation runs in a
 * worker thread of its own and the thread is terminated while the step is under way. The run
 * record must show the step unfinished, and Lambda's retry (the same event, in a new
 * invocation) must take the run on to a completed recovery with the snapshot in place.
 */

const rw = await createRecoveryWorld({ instances: ['petstore'] });
afterAll(() => rw.close());
const context = { functionName: 'restoreInstance', awsRequestId: 'retry' } as Context;

describe('invokeAndKill', () => {
  it('kills a restore mid-step, and its Lambda retry completes the recovery', async () => {
    await rw.failHome();
    const instance = rw.config.instances[0];
    if (!instance) throw new Error('test: no instance');
    const started = await startRecovery(rw.deps, {
      instance,
      failedRegion: 'us-east-1',
      claimant: 'detector-delivery',
      incident: {
        outageStartedAt: new Date(Date.now() - 90_000).toISOString(),
        confirmedAt: new Date().toISOString(),
      },
    });
    if (started.outcome !== 'started') throw new Error(`test: ${started.outcome}`);
    const planned = await runRecoveryStep(rw.deps, started.run.runId, 'plan', started.run.claimSet);
    const event = {
      version: '0',
      id: 'planned-1',
      'detail-type': 'Recovery Planned',
      source: 'lifeboat',
      account: '123456789012',
      time: new Date().toISOString(),
      region: HERE,
      resources: [],
      detail: runEventDetail(planned),
    };
    const crashes: CrashRecord[] = [];
    const killed = await invokeAndKill(
      {
        fn: 'restoreInstance',
        config: JSON.parse(JSON.stringify(rw.config)),
        controlRegion: HERE,
        endpoint: rw.world.endpoint,
        event,
      },
      // A few S3 calls into the step: past its start, well before its end.
      40,
      (crash) => crashes.push(crash),
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(killed).toBeInstanceOf(InvocationKilledError);
    expect(crashes).toEqual([expect.objectContaining({ fn: 'restoreInstance', killed: true })]);
    const afterKill = await loadRun(rw.deps, planned.runId, planned.claimSet);
    expect(afterKill?.steps.restore?.status).not.toBe('done');

    // Lambda's retry: the same event, a new invocation.
    await buildStepHandler('restoreInstance', () => rw.deps)(event, context);
    const done = await driveRecovery(
      rw.deps,
      (await loadRun(rw.deps, planned.runId, planned.claimSet)) ?? planned,
    );
    expect(done.status).toBe('completed');
    const target = done.target as string;
    const health = await rw.deps.instances.health('petstore', target);
    expect(health).toMatchObject({ ok: true, configDigest: done.snapshot?.configDigest });
    const home = await readInstance(rw.config, 'us-east-2', 'petstore');
    expect(target).toBe('us-east-2');
    expect(home.size).toBeGreaterThan(0);
  });
});
