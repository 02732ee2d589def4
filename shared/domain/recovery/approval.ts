import type { InstanceConfig } from '../../config/schema.ts';
import { ApprovalError } from '../../errors.ts';
import { DetailType, RecoveryEvent } from '../events.ts';
import type { LifeboatEvent } from '../ports.ts';
import { releaseSlots, reservedSlots } from './capacity.ts';
import { dnsSpecFor } from './dns-spec.ts';
import type { RecoveryDeps, Weights } from './ports.ts';
import { type ApprovalRecord, type RecoveryRun, runEventDetail, secondsBetween } from './run.ts';
import { loadRun, saveRun } from './run-store.ts';
import { failoverWeights } from './weights.ts';

/**
 * The approval gate (`recovery.approval: required`). The planner does its work (target chosen,
 * room reserved, snapshot picked), records the plan an approver needs and announces "Recovery
 * Awaiting Approval" instead of "Recovery Planned": no function runs while the run waits, so
 * nothing holds a Lambda. `lifeboat approve` records who approved and the run goes on;
 * `lifeboat reject` ends it with its room given back and nothing else changed. The optional
 * timeout is applied by the sweeper (reconcile.ts), which runs anyway: `proceed` re-sends the
 * trigger of the restore, whose gate then records the approval as `by: timeout`.
 */

/** What the gate says about a step: go on (recording `changes` first), or wait and why. */
export type GateVerdict = { go: true; changes?: Partial<RecoveryRun> } | { go: false; why: string };

/** Who answers when the timeout proceeds for nobody. */
export const TIMEOUT_APPROVER = 'timeout';

/** True while the run has asked for an approval that nobody has given or refused. */
export function awaitingApproval(run: RecoveryRun): boolean {
  return run.kind === 'recovery' && !!run.approval?.requestedAt && !run.approval.decision;
}

/**
 * What the planner adds to its result when the instance requires approval: the plan, and the
 * timeout policy fixed at the time of asking (a config change later does not move it).
 */
export async function approvalRequest(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  run: RecoveryRun,
  planned: { target: string; snapshot: NonNullable<RecoveryRun['snapshot']> },
): Promise<Partial<RecoveryRun>> {
  if (instance.recovery.approval !== 'required' || run.approval?.decision) return {};
  const spec = dnsSpecFor(instance);
  let before: Weights | undefined;
  try {
    before = await deps.dns.readWeights(spec);
  } catch {
    // Route 53's control plane may be down with us-east-1: the plan is still worth showing.
  }
  const now = deps.clock.now();
  const reference = run.incident.outageStartedAt ?? run.incident.confirmedAt ?? run.startedAt;
  const timeout = instance.recovery.approvalTimeout;
  const approval: ApprovalRecord = {
    requestedAt: now.toISOString(),
    ...(timeout
      ? {
          timeoutAt: new Date(now.getTime() + timeout.seconds * 1000).toISOString(),
          onTimeout: timeout.onTimeout,
        }
      : {}),
    plan: {
      target: planned.target,
      snapshotId: planned.snapshot.snapshotId,
      snapshotRegion: planned.snapshot.region,
      snapshotTakenAt: planned.snapshot.takenAt,
      rpoSeconds: Math.max(0, Math.round(secondsBetween(planned.snapshot.takenAt, reference))),
      dns: {
        recordName: spec.recordName,
        ...(before ? { before } : {}),
        after: failoverWeights(Object.keys(spec.targets), planned.target),
      },
    },
  };
  return { approval };
}

/**
 * The gate in front of every recovery step after `plan`. Pure: decided from the record and the
 * time. A timeout that proceeds is applied by whichever invocation comes first after it.
 */
export function approvalGate(run: RecoveryRun, step: string, now: Date): GateVerdict {
  const a = run.approval;
  if (step === 'plan' || !a?.requestedAt || a.decision === 'approved') return { go: true };
  if (a.decision === 'rejected') return { go: false, why: `rejected by ${a.by ?? 'someone'}` };
  if (a.timeoutAt && a.onTimeout === 'proceed' && now.getTime() >= Date.parse(a.timeoutAt)) {
    return {
      go: true,
      changes: {
        approval: { ...a, decision: 'approved', by: TIMEOUT_APPROVER, at: now.toISOString() },
      },
    };
  }
  return { go: false, why: `awaiting approval since ${a.requestedAt}` };
}

/** The event a done `plan` announces: the approval request while the gate is shut. */
export function planEventFor(run: RecoveryRun): string {
  return awaitingApproval(run) ? DetailType.RecoveryAwaitingApproval : RecoveryEvent.plan;
}

/** The payload of "Recovery Awaiting Approval": the run, the plan and the timeout policy. */
export function awaitingApprovalEvent(run: RecoveryRun, extra: object = {}): LifeboatEvent {
  return {
    detailType: DetailType.RecoveryAwaitingApproval,
    detail: { ...runEventDetail(run), approval: run.approval, ...extra },
  };
}

/** How an approval or a rejection ended. */
export interface Decision {
  run: RecoveryRun;
  /** Slots given back (a rejection). */
  released: number[];
}

/**
 * Records an answer to a run's approval request, by compare-and-swap on the run (two
 * approvers racing: one wins, the other is told). A rejection ends the run: its room is given
 * back and it is recorded failed at `approval` (its report says so); nothing else had changed.
 */
export async function decideApproval(
  deps: RecoveryDeps,
  runId: string,
  decision: 'approved' | 'rejected',
  by: string,
): Promise<Decision> {
  const regions = deps.config.regions.map((r) => r.name);
  const run = await loadRun(deps, runId, regions);
  if (!run) throw new ApprovalError(runId, 'no such run in any reachable control bucket');
  if (run.kind !== 'recovery' || !run.approval?.requestedAt)
    throw new ApprovalError(runId, `the ${run.kind} asked for no approval`);
  if (run.approval.decision)
    throw new ApprovalError(
      runId,
      `already ${run.approval.decision} by ${run.approval.by} at ${run.approval.at}`,
    );
  if (run.status !== 'running')
    throw new ApprovalError(
      runId,
      `the run is ${run.status}${run.reason ? `: ${run.reason}` : ''}`,
    );
  const at = deps.clock.now().toISOString();
  const approval: ApprovalRecord = { ...run.approval, decision, by, at };
  if (decision === 'approved')
    return { run: await saveRun(deps, { ...run, approval }), released: [] };
  // Record the decision first: a racing approve then loses, and only then is the room given up.
  const decided = await saveRun(deps, { ...run, approval });
  const released = run.reservation ? await releaseOwn(deps, run.runId, run.reservation.region) : [];
  const ended = await saveRun(deps, {
    ...decided,
    reservation: undefined,
    status: 'failed',
    failedStep: 'approval',
    reason: `rejected by ${by}; nothing was changed and the reserved room is released`,
  });
  await deps.bus
    .publish([
      {
        detailType: RecoveryEvent.failed,
        detail: {
          ...runEventDetail(ended),
          step: 'approval',
          reason: ended.reason,
          rejected: true,
        },
      },
    ])
    .catch(() => undefined);
  return { run: ended, released };
}

/** Gives back the slots the region's bucket still assigns to this run (never another's). */
async function releaseOwn(deps: RecoveryDeps, runId: string, region: string): Promise<number[]> {
  const capacity = deps.config.regions.find((r) => r.name === region)?.capacity ?? 0;
  const mine = (await reservedSlots(deps.documents(region), region, capacity))
    .filter((slot) => slot.runId === runId)
    .map((slot) => slot.slot);
  await releaseSlots({ region, slots: mine, release: (key) => deps.deleteControlKey(region, key) });
  return mine;
}

/** One line for `status` and the CLI: where the gate stands and what the timeout will do. */
export function describeApproval(run: RecoveryRun, now: Date): string | undefined {
  const a = run.approval;
  if (!a?.requestedAt) return undefined;
  if (a.decision) return `${a.decision} by ${a.by} at ${a.at}`;
  const policy = !a.timeoutAt
    ? 'no timeout: waits for lifeboat approve / reject'
    : now.getTime() >= Date.parse(a.timeoutAt)
      ? `timed out at ${a.timeoutAt}; ${a.onTimeout === 'proceed' ? 'proceeds at the next sweep' : 'stays waiting'}`
      : `times out at ${a.timeoutAt}, then ${a.onTimeout === 'proceed' ? 'proceeds' : 'stays waiting'}`;
  return `AWAITING APPROVAL since ${a.requestedAt} (${policy})`;
}
