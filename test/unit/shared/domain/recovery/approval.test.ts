import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../../shared/config/load.ts';
import { DetailType } from '../../../../../shared/domain/events.ts';
import {
  approvalGate,
  decideApproval,
  describeApproval,
} from '../../../../../shared/domain/recovery/approval.ts';
import { reservedSlots } from '../../../../../shared/domain/recovery/capacity.ts';
import {
  driveRecovery,
  runRecoveryStep,
  startRecovery,
} from '../../../../../shared/domain/recovery/recovery-run.ts';
import { type RunReport, reportKey } from '../../../../../shared/domain/recovery/run-report.ts';
import { loadRun, type RecoveryRun } from '../../../../../shared/domain/recovery/run-store.ts';
import {
  judgeRun,
  RECONCILE_POLICY,
} from '../../../../../shared/domain/recovery/steps/reconcile.ts';
import { ApprovalError, ConfigError } from '../../../../../shared/errors.ts';
import { MINUTE } from '../../../../fakes/clock.ts';
import { type InstanceSpec, recoveryWorld, worldConfig } from '../../../../worlds/recovery.ts';

/** petstore requires approval; seeded and snapshotted, then us-east-1 fails 5 minutes later. */
async function gatedWorld(recovery: InstanceSpec['recovery'] = { approval: 'required' }) {
  const w = recoveryWorld({ instances: [{ id: 'petstore', recovery }] });
  await w.seed();
  await w.snapshot();
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
  const dnsBefore = w.dns.weightsOf('petstore');
  // The chain as the functions run it: plan, then whatever its event triggers.
  const planned = await runRecoveryStep(w.deps, started.run.runId, 'plan', started.run.claimSet);
  return { w, run: planned, dnsBefore };
}

const stored = async (w: ReturnType<typeof recoveryWorld>, run: RecoveryRun) =>
  (await loadRun(w.deps, run.runId, run.claimSet)) as RecoveryRun;

describe('the approval gate', () => {
  it('records the plan and announces "Recovery Awaiting Approval" instead of "Recovery Planned" when approval is required', async () => {
    const { w, run } = await gatedWorld();
    const types = w.bus.events.map((e) => e.detailType);
    expect(types).toContain(DetailType.RecoveryAwaitingApproval);
    expect(types).not.toContain(DetailType.RecoveryPlanned);
    expect(run.approval).toMatchObject({
      requestedAt: '2026-11-25T06:05:00.000Z',
      plan: {
        target: 'us-east-2',
        snapshotId: run.snapshot?.snapshotId,
        rpoSeconds: 240,
        dns: {
          recordName: 'petstore.api.example.com',
          before: { 'us-east-1': 100, 'us-east-2': 0 },
          after: { 'us-east-1': 0, 'us-east-2': 100, 'us-west-2': 0, 'eu-west-1': 0 },
        },
      },
    });
    expect(run.approval?.decision).toBeUndefined();
  });

  it('leaves the run waiting and changes nothing when a restore is triggered before anyone answers', async () => {
    const { w, run, dnsBefore } = await gatedWorld();
    const after = await runRecoveryStep(w.deps, run.runId, 'restore', run.claimSet);
    expect(after.status).toBe('running');
    expect(after.steps.restore).toEqual({ status: 'pending', attempts: 0 });
    expect(w.store('us-east-2').contents('petstore').size).toBe(0);
    expect(w.dns.weightsOf('petstore')).toEqual(dnsBefore);
    // A drive in one process stops at the gate too.
    const driven = await driveRecovery(w.deps, run);
    expect(driven.steps.restore?.status).toBe('pending');
  });

  it('goes on to completion with the approver recorded in the run and its report when approved', async () => {
    const { w, run } = await gatedWorld();
    w.clock.advance(2 * MINUTE);
    await decideApproval(w.deps, run.runId, 'approved', 'alice');
    const done = await driveRecovery(w.deps, await stored(w, run));
    expect(done.status).toBe('completed');
    expect(done.approval).toMatchObject({
      decision: 'approved',
      by: 'alice',
      at: '2026-11-25T06:07:00.000Z',
    });
    expect(w.dns.weightsOf('petstore')['us-east-2']).toBe(100);
    const report = w.bucket('us-west-2').peek(reportKey(run.runId)) as RunReport;
    expect(report.approvedBy).toBe('alice');
    expect(report.timeline.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['approval requested', 'run approved']),
    );
  });

  it('ends the run failed at approval with its slots released and nothing restored when rejected', async () => {
    const { w, run, dnsBefore } = await gatedWorld();
    expect(await reservedSlots(w.bucket('us-east-2'), 'us-east-2', 4)).toHaveLength(1);
    const { run: ended, released } = await decideApproval(w.deps, run.runId, 'rejected', 'bob');
    expect(ended).toMatchObject({ status: 'failed', failedStep: 'approval' });
    expect(ended.reason).toContain('rejected by bob');
    expect(released).toHaveLength(1);
    expect(await reservedSlots(w.bucket('us-east-2'), 'us-east-2', 4)).toEqual([]);
    // A late trigger of the restore does nothing for a rejected run.
    await runRecoveryStep(w.deps, run.runId, 'restore', run.claimSet);
    expect(w.store('us-east-2').contents('petstore').size).toBe(0);
    expect(w.dns.weightsOf('petstore')).toEqual(dnsBefore);
    const report = w.bucket('eu-west-1').peek(reportKey(run.runId)) as RunReport;
    expect(report).toMatchObject({ status: 'failed', failedStep: 'approval' });
    expect(report.approvedBy).toBeUndefined();
    expect(w.bus.events.map((e) => e.detailType)).toContain(DetailType.RecoveryFailed);
  });

  it('refuses a second answer naming the first when the run was answered already', async () => {
    const { w, run } = await gatedWorld();
    await decideApproval(w.deps, run.runId, 'approved', 'alice');
    const error = await decideApproval(w.deps, run.runId, 'rejected', 'bob').catch((e) => e);
    expect(error).toBeInstanceOf(ApprovalError);
    expect((error as Error).message).toContain('already approved by alice');
  });

  it('refuses an approval when the run asked for none', async () => {
    const { w, run } = await gatedWorld({ approval: 'automatic' });
    expect(run.approval).toBeUndefined();
    expect(w.bus.events.map((e) => e.detailType)).toContain(DetailType.RecoveryPlanned);
    await expect(decideApproval(w.deps, run.runId, 'approved', 'alice')).rejects.toThrow(
      /asked for no approval/,
    );
  });

  it('proceeds with the approval recorded as by timeout when the timeout passed and the policy proceeds', async () => {
    const { w, run } = await gatedWorld({
      approval: 'required',
      approvalTimeout: { seconds: 600, onTimeout: 'proceed' },
    });
    expect(run.approval).toMatchObject({
      timeoutAt: '2026-11-25T06:15:00.000Z',
      onTimeout: 'proceed',
    });
    w.clock.advance(5 * MINUTE);
    expect(
      (await runRecoveryStep(w.deps, run.runId, 'restore', run.claimSet)).steps.restore?.status,
    ).toBe('pending');
    w.clock.advance(6 * MINUTE);
    const restored = await runRecoveryStep(w.deps, run.runId, 'restore', run.claimSet);
    expect(restored.steps.restore?.status).toBe('done');
    expect(restored.approval).toMatchObject({ decision: 'approved', by: 'timeout' });
  });

  it('keeps waiting past the timeout when the policy is wait', async () => {
    const { w, run } = await gatedWorld({
      approval: 'required',
      approvalTimeout: { seconds: 600, onTimeout: 'wait' },
    });
    w.clock.advance(60 * MINUTE);
    const after = await runRecoveryStep(w.deps, run.runId, 'restore', run.claimSet);
    expect(after.steps.restore?.status).toBe('pending');
    expect(describeApproval(after, w.clock.peek())).toContain(
      'timed out at 2026-11-25T06:15:00.000Z; stays waiting',
    );
  });
});

describe('approvalGate', () => {
  const base = { kind: 'recovery', steps: {} } as unknown as RecoveryRun;
  const now = new Date('2026-11-25T07:00:00Z');
  it('opens every step when the run asked for no approval', () => {
    expect(approvalGate(base, 'restore', now)).toEqual({ go: true });
  });
  it('never holds the plan itself when approval is pending', () => {
    const run = { ...base, approval: { requestedAt: '2026-11-25T06:00:00Z' } };
    expect(approvalGate(run, 'plan', now)).toEqual({ go: true });
    expect(approvalGate(run, 'verify', now)).toMatchObject({ go: false });
  });
});

describe('the sweeper and the approval timeout', () => {
  const sweep = (run: RecoveryRun, minutesAfterTimeout: number, here = run.claimSet[0] as string) =>
    judgeRun(run, {
      now: new Date(
        Date.parse(run.approval?.timeoutAt ?? run.updatedAt) + minutesAfterTimeout * MINUTE,
      ),
      here,
      newestGeneration: run.generation,
      policy: RECONCILE_POLICY,
    });

  it('does not call a waiting run stalled when it has waited for hours without a timeout', async () => {
    const { run } = await gatedWorld();
    expect(sweep(run, 10 * 60)).toMatchObject({ action: 'none', why: 'awaiting-approval' });
  });

  it('re-sends "Recovery Planned" from the first region of the claim set when the timeout proceeds', async () => {
    const { run } = await gatedWorld({
      approval: 'required',
      approvalTimeout: { seconds: 600, onTimeout: 'proceed' },
    });
    expect(sweep(run, -1)).toMatchObject({ action: 'none', why: 'awaiting-approval' });
    expect(sweep(run, 1, run.claimSet[1])).toMatchObject({ action: 'none', why: 'another-region' });
    const verdict = sweep(run, 1);
    expect(verdict).toMatchObject({ action: 'nudge', step: 'restore' });
    if (verdict.action === 'none') return;
    expect(verdict.event.detailType).toBe(DetailType.RecoveryPlanned);
  });

  it('reminds once with "Recovery Awaiting Approval" when the timeout policy is wait', async () => {
    const { run } = await gatedWorld({
      approval: 'required',
      approvalTimeout: { seconds: 600, onTimeout: 'wait' },
    });
    const verdict = sweep(run, 1);
    expect(verdict).toMatchObject({ action: 'report', step: 'approval' });
    if (verdict.action === 'none') return;
    expect(verdict.event).toMatchObject({
      detailType: DetailType.RecoveryAwaitingApproval,
      detail: { runId: run.runId, timedOut: true },
    });
    expect(sweep(run, 6)).toMatchObject({ action: 'none' });
    expect(sweep(run, 24 * 60)).toMatchObject({ action: 'none' });
  });
});

describe('recovery.approval in the config', () => {
  /** The world's config with petstore's `recovery` replaced. */
  const withRecovery = (recovery: unknown) => {
    const doc = JSON.parse(JSON.stringify(worldConfig())) as { instances: object[] };
    Object.assign(doc.instances[0] as object, { recovery });
    return doc;
  };
  it('defaults to automatic when the instance says nothing', () => {
    expect(worldConfig().instances[0]?.recovery).toEqual({ approval: 'automatic' });
  });
  it('names the field when the approval mode is not one it knows', () => {
    const doc = withRecovery({ approval: 'sometimes' });
    expect(() => parseConfig(doc, 'c.yml')).toThrow(ConfigError);
    expect(() => parseConfig(doc, 'c.yml')).toThrow(/instances\[0\]\.recovery\.approval/);
  });
  it('names the field when a timeout is given without approval required', () => {
    const doc = withRecovery({ approvalTimeout: { seconds: 600, onTimeout: 'proceed' } });
    expect(() => parseConfig(doc, 'c.yml')).toThrow(
      /instances\[0\]\.recovery\.approvalTimeout: applies only with recovery.approval: required/,
    );
  });
  it('names the field when the timeout policy is neither proceed nor wait', () => {
    const doc = withRecovery({
      approval: 'required',
      approvalTimeout: { seconds: 600, onTimeout: 'shrug' },
    });
    expect(() => parseConfig(doc, 'c.yml')).toThrow(/recovery\.approvalTimeout\.onTimeout/);
  });
});
