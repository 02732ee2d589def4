import type { InstanceConfig } from '../../config/schema.ts';
import { RunStepError } from '../../errors.ts';
import type { RecoveryDeps, Weights } from './ports.ts';

/** The recorded state of a run (recovery or failback), where it is kept, and what its events carry. */

/** How one step went. */
export interface StepRecord {
  status: 'pending' | 'done' | 'failed';
  attempts: number;
  at?: string;
  detail?: string;
}

/** The plan an approver is shown: where to, from which snapshot, what it loses, what DNS does. */
export interface ApprovalPlan {
  target: string;
  snapshotId: string;
  snapshotRegion: string;
  snapshotTakenAt: string;
  /** Outage start (or confirmation) − snapshot time: the writes a recovery would not carry. */
  rpoSeconds: number;
  dns: { recordName: string; before?: Weights; after: Weights };
}

/** An approval gate on a run (recovery.approval: required): asked, then answered or timed out. */
export interface ApprovalRecord {
  requestedAt?: string;
  /** When the timeout policy applies; absent: the run waits for an answer however long. */
  timeoutAt?: string;
  onTimeout?: 'proceed' | 'wait';
  plan?: ApprovalPlan;
  decision?: 'approved' | 'rejected';
  /** Who answered: the caller, `--by NAME`, or `timeout` when the policy proceeded. */
  by?: string;
  at?: string;
}

/** The recorded state of a run, stored in the control buckets of its claim set. */
export interface RecoveryRun {
  runId: string;
  kind: 'recovery' | 'failback';
  instanceId: string;
  generation: number;
  from: string;
  claimant: string;
  claimSet: string[];
  status: 'running' | 'completed' | 'failed';
  reason?: string;
  failedStep?: string;
  incident: { incidentId?: string; outageStartedAt?: string; confirmedAt?: string };
  target?: string;
  reservation?: { region: string; slots: number[] };
  snapshot?: { snapshotId: string; region: string; configDigest: string; takenAt: string };
  weights?: { before: Weights; after: Weights };
  /** Failback only: the recovery it undoes, the canary steps applied, and whether it rolled back. */
  recoveryRunId?: string;
  canary?: Weights[];
  /** When each canary step's weights took effect (same order as `canary`). */
  canaryAt?: string[];
  rolledBack?: boolean;
  /**
   * Recovery only, for a kind whose restore is paced by its provider (API Gateway): the restore's
   * measured time and its time at the provider's documented control-plane limits. Against an
   * emulator the restore ran unpaced; reports add the difference to project the RTO on AWS.
   */
  restoreOnAws?: { measuredSeconds: number; projectedSeconds: number };
  /** When an approval gate held the run: what was asked, who answered, how, and when. */
  approval?: ApprovalRecord;
  /**
   * The invocation that last took the run for a step two invocations must never run at once
   * (the failback canary); see `StepContext.take`.
   */
  driver?: string;
  metrics?: {
    shiftedAt: string;
    rtoFromConfirmedSeconds?: number;
    rtoFromOutageStartSeconds?: number;
    rpoSeconds?: number;
  };
  steps: Record<string, StepRecord>;
  /** Bumped on every write; readers take the highest they can reach. */
  seq: number;
  startedAt: string;
  updatedAt: string;
}

/** Where a generation's claim lives in the control buckets. */
export const generationKey = (instanceId: string, generation: number) =>
  `instances/${instanceId}/generations/${String(generation).padStart(6, '0')}.json`;
/** Where a run's record lives in the control buckets. */
export const runKey = (runId: string) => `runs/${runId}.json`;
/** Seconds from one ISO time to another. */
export const secondsBetween = (from: string, to: string) =>
  (Date.parse(to) - Date.parse(from)) / 1000;

/** The configured instance a run is about. */
export function instanceOf(deps: RecoveryDeps, run: RecoveryRun): InstanceConfig {
  const instance = deps.config.instances.find((i) => i.id === run.instanceId);
  if (!instance)
    throw new RunStepError('plan', `instance ${run.instanceId} is no longer configured`);
  return instance;
}

/** The fields the chain's events carry; the sweeper re-emits them the same way (reconcile.ts). */
export function runEventDetail(run: RecoveryRun) {
  return {
    runId: run.runId,
    kind: run.kind,
    instanceId: run.instanceId,
    ...(run.rolledBack ? { rolledBack: true } : {}),
    ...(run.restoreOnAws ? { restoreOnAws: run.restoreOnAws } : {}),
    from: run.from,
    target: run.target,
    snapshot: run.snapshot,
    incident: run.incident,
    claimSet: run.claimSet,
    weights: run.weights,
    metrics: run.metrics,
    ...(run.approval ? { approval: run.approval } : {}),
  };
}
