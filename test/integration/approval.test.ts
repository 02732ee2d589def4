import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecoveryVerbIo } from '../../bin/cli/recovery-io.ts';
import { approveVerb } from '../../bin/commands/approve.ts';
import { rejectVerb } from '../../bin/commands/reject.ts';
import { statusVerb } from '../../bin/commands/status.ts';
import { parseConfig, regionBuckets } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { DetailType } from '../../shared/domain/events.ts';
import { reservedSlots } from '../../shared/domain/recovery/capacity.ts';
import { runRecoveryStep, startRecovery } from '../../shared/domain/recovery/recovery-run.ts';
import type { RunReport } from '../../shared/domain/recovery/run-report.ts';
import {
  loadRun,
  type RecoveryDeps,
  type RecoveryRun,
} from '../../shared/domain/recovery/run-store.ts';
import { subscribe } from '../support/bus.ts';
import { bucketVersions, recordSets } from '../support/world-state.ts';
import {
  createRecoveryWorld,
  HERE,
  outageEvent,
  type RecoveryWorld,
} from '../worlds/moto-recovery.ts';

let rw: RecoveryWorld;
let config: LifeboatConfig;
let deps: RecoveryDeps;

beforeEach(async () => {
  rw = await createRecoveryWorld({ instances: ['petstore'] });
  // The same world, with petstore behind the approval gate.
  const raw = JSON.parse(JSON.stringify(rw.config));
  raw.instances[0].recovery = { approval: 'required' };
  config = parseConfig(raw, 'approval world');
  deps = { ...rw.deps, config };
});
afterEach(async () => {
  await rw?.close();
});

function io(): { io: RecoveryVerbIo; text: () => string } {
  const lines: string[] = [];
  return {
    io: { deps, out: (l) => lines.push(l), err: (l) => lines.push(l), operator: 'tester@ci' },
    text: () => lines.join('\n'),
  };
}

/** us-east-1 fails for real; the planner runs as its function would, on the outage. */
async function planned(): Promise<RecoveryRun> {
  await rw.failHome();
  const event = outageEvent('delivery-1');
  const started = await startRecovery(deps, {
    instance: config.instances[0] as LifeboatConfig['instances'][number],
    failedRegion: 'us-east-1',
    claimant: event.id,
    incident: {
      incidentId: event.detail.incidentId,
      outageStartedAt: event.detail.outageStartedAt,
      confirmedAt: event.detail.confirmedAt,
    },
  });
  if (started.outcome !== 'started') throw new Error(`test: ${started.outcome}`);
  return runRecoveryStep(deps, started.run.runId, 'plan', started.run.claimSet);
}

async function controlObject(region: string, key: string): Promise<string | undefined> {
  const configured = config.regions.find((r) => r.name === region);
  if (!configured) throw new Error(`test: no region ${region}`);
  const s3 = new S3Client({ region, endpoint: rw.world.endpoint, forcePathStyle: true });
  try {
    const got = await s3.send(
      new GetObjectCommand({ Bucket: regionBuckets(config, configured).control, Key: key }),
    );
    return await got.Body?.transformToString();
  } catch {
    return undefined;
  }
}

describe('the approval gate (moto)', () => {
  it('announces the plan and changes nothing until approve, which recovers and leaves reports in the control buckets', async () => {
    const announced = await subscribe(config, HERE, [
      DetailType.RecoveryAwaitingApproval,
      DetailType.RecoveryPlanned,
    ]);
    const dnsBefore = await recordSets(rw);
    const targetBefore = await bucketVersions(rw, 'us-east-2', ['instanceStore']);

    const run = await planned();
    // A restore triggered anyway (a stray redelivery) does nothing while the gate is shut.
    await runRecoveryStep(deps, run.runId, 'restore', run.claimSet);

    const events = await announced.received();
    expect(events.map((e) => e['detail-type'])).toEqual([DetailType.RecoveryAwaitingApproval]);
    expect(await recordSets(rw)).toBe(dnsBefore);
    expect(await bucketVersions(rw, 'us-east-2', ['instanceStore'])).toEqual(targetBefore);
    const shown = io();
    expect(await statusVerb(config, { instance: ['petstore'] }, shown.io)).toBe(0);
    expect(shown.text()).toContain('approval: AWAITING APPROVAL since');
    expect(shown.text()).toContain(`lifeboat approve --run ${run.runId}`);

    const approved = io();
    const code = await approveVerb(config, { run: run.runId, by: 'alice' }, approved.io);
    expect(code, approved.text()).toBe(0);
    const done = await loadRun(deps, run.runId, run.claimSet);
    expect(done).toMatchObject({
      status: 'completed',
      approval: { decision: 'approved', by: 'alice' },
    });
    expect(await recordSets(rw)).not.toBe(dnsBefore);
    // The report of the real run, JSON and HTML, in every region of the claim set.
    for (const region of run.claimSet) {
      const json = await controlObject(region, `reports/${run.runId}.json`);
      expect(json, region).toBeDefined();
      const report = JSON.parse(json as string) as RunReport;
      expect(report).toMatchObject({
        runId: run.runId,
        status: 'completed',
        approvedBy: 'alice',
        target: 'us-east-2',
      });
      expect(report.rtoSeconds).toBeGreaterThan(0);
      expect(await controlObject(region, `reports/${run.runId}.html`)).toContain(
        'approved by alice',
      );
    }
  });

  it('ends the run cleanly on reject: room released, nothing restored, DNS untouched, a report written', async () => {
    const dnsBefore = await recordSets(rw);
    const targetBefore = await bucketVersions(rw, 'us-east-2', ['instanceStore']);
    const run = await planned();
    expect(await reservedSlots(deps.documents('us-east-2'), 'us-east-2', 10)).toHaveLength(1);

    const rejected = io();
    expect(
      await rejectVerb(config, { run: run.runId, by: 'bob' }, rejected.io),
      rejected.text(),
    ).toBe(0);

    expect(await reservedSlots(deps.documents('us-east-2'), 'us-east-2', 10)).toEqual([]);
    expect(await recordSets(rw)).toBe(dnsBefore);
    expect(await bucketVersions(rw, 'us-east-2', ['instanceStore'])).toEqual(targetBefore);
    const ended = await loadRun(deps, run.runId, run.claimSet);
    expect(ended).toMatchObject({
      status: 'failed',
      failedStep: 'approval',
      approval: { decision: 'rejected', by: 'bob' },
    });
    const report = JSON.parse(
      (await controlObject('us-west-2', `reports/${run.runId}.json`)) ?? '{}',
    ) as RunReport;
    expect(report).toMatchObject({ status: 'failed', failedStep: 'approval' });
    // Answering again is refused: exit 1, naming the first answer.
    const again = io();
    expect(await approveVerb(config, { run: run.runId }, again.io)).toBe(1);
    expect(again.text()).toContain('already rejected by bob');
  });
});
