import { randomUUID } from 'node:crypto';
import {
  EventPublishError,
  RestoreIncompleteError,
  RunFailedError,
  RunStepError,
} from '../../errors.ts';
import type { RecoveryDeps } from './ports.ts';
import { type RecoveryRun, runEventDetail, type StepRecord } from './run.ts';
import { loadRun, saveRun } from './run-store.ts';

/**
 * The step engine: runs a run's steps in order, each recorded before the next starts, retried,
 * and resumable after a crash. recovery-run.ts and failback-run.ts say what the steps do.
 */

/**
 * What a step's work can ask of the engine while it runs. Two invocations can drive one run at
 * once (a Lambda retry or a duplicate delivery of the same event, an operator's resume). Most
 * steps are idempotent, so that is harmless; a step that must never run twice at once (the
 * failback canary, which moves traffic and may unfence) takes the run first and stops acting
 * as soon as another invocation has taken it since.
 */
export interface StepContext {
  /**
   * Records this invocation as the run's driver, with `changes`, by compare-and-swap on the run
   * record. False when another invocation has written the run since this step read it: the
   * caller must then do nothing more. Throws when the record cannot be written anywhere.
   */
  take(changes?: Partial<RecoveryRun>): Promise<boolean>;
  /** Whether this invocation still drives the run: nobody has written it since `take`. */
  holds(): Promise<boolean>;
}

/**
 * What a step throws when another invocation has taken its run since (`StepContext.take` or
 * `holds` said no): it stops without acting, and the engine leaves the run to the other one.
 */
export const takenOverError = (step: string, work: string, run: RecoveryRun) =>
  new RunStepError(step, `another invocation took over the ${work} of ${run.runId}`);

/** What a kind of run does: its steps in order, their work, and the event each step emits. */
export interface StepTable {
  steps: readonly string[];
  work: Record<
    string,
    (deps: RecoveryDeps, run: RecoveryRun, context: StepContext) => Promise<Partial<RecoveryRun>>
  >;
  /** Detail type emitted when a step is done (none for steps that only matter internally). */
  events: Record<string, string | undefined>;
  failedEvent: string;
  /** The event a done step announces instead of `events[step]` (the plan awaiting approval). */
  eventFor?: (step: string, run: RecoveryRun) => string | undefined;
  /**
   * Whether a step may run now (the approval gate): when shut, the step is neither run nor
   * recorded and the run waits, with no invocation held; when open with `changes`, those are
   * recorded first (an approval the timeout gave).
   */
  gate?: (
    run: RecoveryRun,
    step: string,
    now: Date,
  ) => { go: true; changes?: Partial<RecoveryRun> } | { go: false; why: string };
  /**
   * Undoes what a failed step leaves behind (e.g. a fence) before the run is marked failed.
   * Returns run fields the clean-up invalidated, recorded with the failure: `steps` here are
   * merged, so a clean-up that undoes earlier steps' work sends them back to pending.
   */
  onFailure?: (
    deps: RecoveryDeps,
    run: RecoveryRun,
    step: string,
  ) => Promise<Partial<RecoveryRun> | undefined>;
}

/**
 * Tries of a step within one invocation, 1, 2, 4 and 8 s apart (15 s of waiting, well inside
 * every step function's timeout). Three tries, 3 s in all, let a restore or a shift fail its run
 * on a short burst of S3 or Route 53 errors during the outage, and the run then waited for an
 * operator past the RTO (docs/simulation.md, bug 14).
 */
const STEP_ATTEMPTS = 5;

/**
 * Runs one step of a run, unless it is already done (then only its event is re-emitted, which
 * heals a chain whose event was lost). Retries the step; when it gives up the run is marked
 * failed with the step and the reason, and stays resumable.
 */
export async function runStep(
  deps: RecoveryDeps,
  runId: string,
  step: string,
  regions: readonly string[],
  table: StepTable,
  options: { resume?: boolean } = {},
): Promise<RecoveryRun> {
  const loaded = await loadRun(deps, runId, regions);
  if (!loaded) throw new RunStepError(step, `no recorded run ${runId}`);
  let run: RecoveryRun = loaded;
  // A failed run waits for an operator (`lifeboat resume`): automatic redeliveries of its
  // events must not run the failed step again behind their back.
  if (run.status === 'failed' && !options.resume) return run;
  const index = table.steps.indexOf(step);
  if (index === -1) throw new RunStepError(step, `a ${run.kind} run has no step ${step}`);
  const previous = table.steps[index - 1];
  if (previous && run.steps[previous]?.status !== 'done') {
    throw new RunStepError(step, `run ${runId} cannot ${step} before ${previous} is done`);
  }
  const eventOf = (r: RecoveryRun) => table.eventFor?.(step, r) ?? table.events[step];
  if (run.steps[step]?.status === 'done') {
    const eventType = eventOf(run);
    if (eventType) await deps.bus.publish([{ detailType: eventType, detail: runEventDetail(run) }]);
    return run;
  }
  const verdict = table.gate?.(run, step, deps.clock.now());
  if (verdict && !verdict.go) return run;
  if (verdict?.changes) run = await saveRun(deps, { ...run, ...verdict.changes });
  const attempts = deps.stepAttempts ?? STEP_ATTEMPTS;
  const priorAttempts = run.steps[step]?.attempts ?? 0;
  const last = index === table.steps.length - 1;
  const driver = (deps.newDriverId ?? randomUUID)();
  let took = false;
  const context: StepContext = {
    take: async (changes = {}) => {
      const stored = await loadRun(deps, runId, regions);
      if (stored?.seq !== run.seq) return false;
      run = await saveRun(deps, { ...run, ...changes, driver });
      took = true;
      return true;
    },
    holds: async () => {
      const stored = await loadRun(deps, runId, regions);
      return stored?.driver === driver && stored.seq === run.seq;
    },
  };
  /**
   * The stored run when another invocation has moved it on since this one read or took it:
   * this one then neither records nor cleans up anything, since the other's view is newer.
   */
  const supersededBy = async (): Promise<RecoveryRun | undefined> => {
    const stored = await loadRun(deps, runId, regions);
    if (!stored) return undefined;
    const movedOn =
      stored.seq > run.seq || (took && stored.seq === run.seq && stored.driver !== driver);
    return movedOn ? stored : undefined;
  };
  let failure: unknown;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    let changes: Partial<RecoveryRun>;
    try {
      changes = (await table.work[step]?.(deps, run, context)) ?? {};
    } catch (error) {
      if (error instanceof RestoreIncompleteError && previous) {
        return continueLater(deps, run, step, previous, table, error);
      }
      failure = error;
      // A step that decided the run is over (a rollback) must not be retried.
      if (error instanceof RunStepError && error.final) break;
      if (attempt < attempts) await deps.sleep(Math.min(10_000, 500 * 2 ** attempt));
      continue;
    }
    if (took) {
      const newer = await supersededBy();
      if (newer) return newer;
    }
    const done: StepRecord = {
      status: 'done',
      attempts: priorAttempts + attempt,
      at: deps.clock.now().toISOString(),
    };
    run = await saveRun(deps, {
      ...run,
      ...changes,
      status: last ? 'completed' : 'running',
      reason: undefined,
      failedStep: undefined,
      steps: { ...run.steps, [step]: done },
    });
    const eventType = eventOf(run);
    if (eventType) await publishStepEvent(deps, eventType, run);
    return run;
  }
  // A stale invocation must not undo what the current one did (e.g. unfence behind its canary).
  const newer = await supersededBy();
  if (newer) return newer;
  let cleanup: Partial<RecoveryRun> = {};
  if (table.onFailure) {
    try {
      cleanup = (await table.onFailure(deps, run, step)) ?? {};
    } catch {
      // Best effort: the failure being recorded matters more than the clean-up.
    }
  }
  const reason = (failure as Error)?.message ?? String(failure);
  const changes = (failure instanceof RunStepError && failure.changes) || {};
  run = await saveRun(deps, {
    ...run,
    ...changes,
    ...cleanup,
    status: 'failed',
    failedStep: step,
    reason,
    steps: {
      ...run.steps,
      ...cleanup.steps,
      [step]: { status: 'failed', attempts: priorAttempts + attempts, detail: reason },
    },
  });
  await deps.bus.publish([
    { detailType: table.failedEvent, detail: { ...runEventDetail(run), step, reason } },
  ]);
  throw new RunFailedError(step, `run ${runId} failed at ${step}: ${reason}`, { cause: failure });
}

/** Publishes of a done step's event before the invocation gives up (and Lambda retries). */
const PUBLISH_ATTEMPTS = 4;

/**
 * Publishes the event of a step just recorded as done, retrying a throttled or failing
 * PutEvents in place: the step is recorded, so only its event is missing, and a Lambda retry
 * (60 s, then 120 s) would cost minutes of RTO for one throttled call (bug 4 of
 * docs/simulation.md).
 */
async function publishStepEvent(deps: RecoveryDeps, eventType: string, run: RecoveryRun) {
  const events = [{ detailType: eventType, detail: runEventDetail(run) }];
  for (let attempt = 1; ; attempt += 1) {
    try {
      await deps.bus.publish(events);
      return;
    } catch (error) {
      if (!(error instanceof EventPublishError) || attempt >= PUBLISH_ATTEMPTS) throw error;
      await deps.sleep(Math.min(5_000, 250 * 2 ** attempt));
    }
  }
}

/**
 * A step whose work outlasts one invocation (a long API Gateway restore at AWS's pace) stops in
 * time: its progress is recorded, and the event that triggers it is sent again, so a new
 * invocation goes on from what is in place. Attempts are not spent: the step did not fail.
 */
async function continueLater(
  deps: RecoveryDeps,
  run: RecoveryRun,
  step: string,
  previous: string,
  table: StepTable,
  paused: RestoreIncompleteError,
): Promise<RecoveryRun> {
  const prior = run.steps[step];
  const saved = await saveRun(deps, {
    ...run,
    steps: {
      ...run.steps,
      [step]: {
        status: 'pending',
        attempts: prior?.attempts ?? 0,
        at: deps.clock.now().toISOString(),
        detail: `continuing: ${paused.objectsLeft} object(s) left`,
      },
    },
  });
  const trigger = table.events[previous];
  if (trigger) await deps.bus.publish([{ detailType: trigger, detail: runEventDetail(saved) }]);
  return saved;
}

/** Runs every remaining step in order: `lifeboat resume`, failback, and the chain in one process. */
export async function driveRun(
  deps: RecoveryDeps,
  run: RecoveryRun,
  table: StepTable,
  options: { resume?: boolean } = {},
): Promise<RecoveryRun> {
  // Work from the stored run, not the caller's copy, which may be older.
  let current = (await loadRun(deps, run.runId, run.claimSet)) ?? run;
  let ran = false;
  for (const step of table.steps) {
    if (current.steps[step]?.status === 'done') continue;
    current = await runStep(deps, current.runId, step, current.claimSet, table, options);
    ran = true;
    // A failed run stays where it stopped until an operator resumes it; a step another
    // invocation took over is that invocation's to finish.
    if (current.status === 'failed' || current.steps[step]?.status !== 'done') return current;
  }
  const last = table.steps[table.steps.length - 1];
  if (!ran && last) {
    // Everything was already done: a crash may have lost the final event, so send it again.
    current = await runStep(deps, current.runId, last, current.claimSet, table, options);
  }
  return current;
}
