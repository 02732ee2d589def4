import { FAILBACK_TABLE } from '../../shared/domain/recovery/failback-run.ts';
import { RECOVERY_TABLE } from '../../shared/domain/recovery/recovery-run.ts';
import type { RecoveryRun } from '../../shared/domain/recovery/run.ts';
import { loadRun } from '../../shared/domain/recovery/run-store.ts';
import { runStep, type StepTable } from '../../shared/domain/recovery/step-engine.ts';
import { describeWeights } from '../../shared/domain/recovery/weights.ts';
import { RunStepError } from '../../shared/errors.ts';
import { EXIT } from './exit-codes.ts';
import { describeOwner, type RecoveryContext, refuse, undecidedClaim } from './recovery-io.ts';
import { formatAge, seconds, table } from './render.ts';

/**
 * Driving a run from the command line (`failover`, `failback`, `resume`): one step at a time,
 * so the operator sees each step as it lands, and where a run stopped.
 */

/** The step table of a run's kind. */
export const tableFor = (run: RecoveryRun): StepTable =>
  run.kind === 'failback' ? FAILBACK_TABLE : RECOVERY_TABLE;

function stepDetail(run: RecoveryRun, step: string): string {
  const snap = run.snapshot;
  const digest = snap ? `${snap.configDigest.slice(0, 16)}…` : '?';
  if (run.kind === 'recovery') {
    switch (step) {
      case 'plan':
        return `target ${run.target}${run.reservation ? ` (slots ${run.reservation.slots.join(', ')})` : ''}, snapshot ${snap?.snapshotId} from ${snap?.region}`;
      case 'restore':
        return `restored ${snap?.snapshotId} into ${run.target} and activated it`;
      case 'verify':
        return `${run.target} serves config ${digest}`;
      case 'shift':
        return run.weights
          ? `${describeWeights(run.weights.before)}  ->  ${describeWeights(run.weights.after)}`
          : '';
    }
    return '';
  }
  switch (step) {
    case 'fence':
      return `${run.from} refuses config writes from now on`;
    case 'snapshot':
      return `final snapshot ${snap?.snapshotId} committed (restoring from ${snap?.region})`;
    case 'restore':
      return `restored ${snap?.snapshotId} into ${run.target} and activated it`;
    case 'verify':
      return `${run.target} serves config ${digest}`;
    case 'shift':
      return `canary ${(run.canary ?? []).map((w) => `${run.target}=${w[run.target ?? ''] ?? 0}`).join(', ')}; now ${run.weights ? describeWeights(run.weights.after) : '?'}`;
    case 'release':
      return run.reservation
        ? `released slot(s) ${run.reservation.slots.join(', ')} in ${run.reservation.region}`
        : 'no reservation to release';
  }
  return '';
}

function printOutcome(out: (line: string) => void, run: RecoveryRun, elapsedMs: number): void {
  if (run.kind === 'recovery') {
    out(
      `completed ${run.runId} in ${seconds(elapsedMs)}: ${run.instanceId} now serves from ${run.target}`,
    );
    const m = run.metrics;
    if (m?.rtoFromConfirmedSeconds !== undefined) {
      out(`  RTO from confirmation to traffic shifted: ${m.rtoFromConfirmedSeconds.toFixed(1)} s`);
    }
    if (m?.rtoFromOutageStartSeconds !== undefined) {
      out(`  RTO from outage start: ${m.rtoFromOutageStartSeconds.toFixed(1)} s`);
    }
    if (m?.rpoSeconds !== undefined) out(`  RPO: ${formatAge(m.rpoSeconds)}`);
    if (run.snapshot) {
      const reference = run.incident.outageStartedAt ?? run.incident.confirmedAt ?? run.startedAt;
      const age = (Date.parse(reference) - Date.parse(run.snapshot.takenAt)) / 1000;
      out(
        `  data as of snapshot ${run.snapshot.snapshotId} (${formatAge(age)} before the failover started)`,
      );
    }
    return;
  }
  out(
    `completed ${run.runId} in ${seconds(elapsedMs)}: ${run.instanceId} serves from ${run.target} again`,
  );
}

/** driveRun, one step at a time, printing each step as it lands; the exit code of the drive. */
export async function driveWithProgress(ctx: RecoveryContext, run: RecoveryRun): Promise<number> {
  const steps = tableFor(run);
  const started = Date.now();
  const width = Math.max(...steps.steps.map((s) => s.length));
  let current = run;
  ctx.out(`driving ${run.runId} (${run.kind} of ${run.instanceId}):`);
  for (const step of steps.steps) {
    if (current.steps[step]?.status === 'done') {
      ctx.out(`  ${step.padEnd(width)}  already done`);
      continue;
    }
    const t0 = Date.now();
    try {
      // Every drive from here is one an operator approved, so a failed step may run again.
      current = await runStep(ctx.deps, current.runId, step, current.claimSet, steps, {
        resume: true,
      });
    } catch (error) {
      if (!(error instanceof RunStepError)) throw error;
      const stored = await loadRun(ctx.deps, current.runId, current.claimSet);
      ctx.out(
        `  ${step.padEnd(width)}  FAILED after ${stored?.steps[step]?.attempts ?? '?'} attempt(s): ${stored?.reason ?? error.message}`,
      );
      if (stored?.rolledBack) {
        ctx.out(
          `${run.runId} rolled back: traffic is on ${stored.from} again and it takes writes; it is not resumable`,
        );
      } else {
        ctx.out(
          `${run.runId} stopped at ${step}; fix the cause, then run: lifeboat resume --run ${run.runId} --approve`,
        );
      }
      return EXIT.failed;
    }
    if (current.steps[step]?.status !== 'done') {
      // The engine declined the step without an error (a run another invocation failed meanwhile).
      ctx.out(`  ${step.padEnd(width)}  not run: ${current.runId} is ${current.status}`);
      ctx.out(`see where it stopped with: lifeboat resume --run ${current.runId}`);
      return EXIT.failed;
    }
    ctx.out(
      `  ${step.padEnd(width)}  done in ${seconds(Date.now() - t0)}  ${stepDetail(current, step)}`.trimEnd(),
    );
  }
  printOutcome(ctx.out, current, Date.now() - started);
  return EXIT.ok;
}

/** A run as `resume` shows it: who, where, and each step's state. */
export function printRun(out: (line: string) => void, run: RecoveryRun, now: Date): void {
  const { steps } = tableFor(run);
  out(
    `run ${run.runId}: ${run.kind} of ${run.instanceId}, ${run.from} -> ${run.target ?? '(not planned yet)'}`,
  );
  out(`  claimant ${run.claimant}; claim set ${run.claimSet.join(', ')}`);
  out(
    `  started ${run.startedAt}; last update ${run.updatedAt} (${formatAge((now.getTime() - Date.parse(run.updatedAt)) / 1000)} ago)`,
  );
  out(
    `  status ${run.status}${run.failedStep ? ` at ${run.failedStep}: ${run.reason}` : ''}${run.rolledBack ? ' (rolled back)' : ''}`,
  );
  const rows = steps.map((step) => {
    const s = run.steps[step];
    return [
      `    ${step}`,
      s?.status ?? 'pending',
      `${s?.attempts ?? 0} attempt(s)`,
      s?.status === 'done' ? (s.at ?? '') : (s?.detail ?? ''),
    ];
  });
  for (const line of table(rows)) out(line);
}

/** The outcomes of a claim by hand that `failover` and `failback` answer alike. */
export type ClaimOutcome =
  | { outcome: 'started' | 'resumed'; run: RecoveryRun }
  | { outcome: 'duplicate'; runId: string; claimant?: string }
  | { outcome: 'undecided'; holders: Record<string, string> };

/**
 * Drives the run a claim by hand won, saying so first, or refuses naming who holds the
 * generation (with `resumeHint`, how to look at that run); the exit code.
 */
export async function driveClaim(
  ctx: RecoveryContext,
  verb: string,
  claimant: string,
  claim: ClaimOutcome,
  options: { resumeHint?: boolean } = {},
): Promise<number> {
  switch (claim.outcome) {
    case 'started':
    case 'resumed':
      ctx.out(`claimed ${claim.run.runId} as ${claimant}`);
      return driveWithProgress(ctx, claim.run);
    case 'duplicate':
      return refuse(
        ctx,
        verb,
        `claim lost: ${await describeOwner(ctx, claim.runId, claim.claimant)}`,
        ...(options.resumeHint ? [`see it with: lifeboat resume --run ${claim.runId}`] : []),
      );
    case 'undecided':
      return refuse(ctx, verb, undecidedClaim(claim.holders));
  }
}
