import canonicalize from 'canonicalize';
import type { CorruptStateError } from '../../errors.ts';
import { RunStepError, WriteConflictError } from '../../errors.ts';
import { runStartedPoints } from '../metrics.ts';
import { type ClaimRecord, readClaim } from './claims.ts';
import type { RecoveryDeps } from './ports.ts';
import { generationKey, type RecoveryRun, runKey } from './run.ts';
import { writeRunReport } from './run-report.ts';
import { readStoredRun, type StoredCopy } from './run-schema.ts';

/**
 * The run store: a recovery out of a failed region, or a failback home, recorded step by step in
 * the control buckets of the run's claim set so any invocation (a retry, another region, the CLI)
 * resumes from where the last one stopped. The run itself is in run.ts, its schema in
 * run-schema.ts, the step engine in step-engine.ts, the steps in steps/.
 */

// The run's pieces live beside this file; these re-exports keep the importers that predate the
// split working (handlers, CLI, local world).
export { dnsSpecFor } from './dns-spec.ts';
export type { RecoveryDeps } from './ports.ts';
export {
  generationKey,
  instanceOf,
  type RecoveryRun,
  runEventDetail,
  runKey,
  type StepRecord,
  secondsBetween,
} from './run.ts';
export { driveRun, runStep, type StepContext, type StepTable } from './step-engine.ts';
export { awaitServing } from './steps/verify-instance.ts';

/**
 * Reads a run from the reachable buckets of its claim set: the most advanced valid copy wins.
 * A corrupt copy is passed over like an unreachable bucket while another copy is good (the
 * next save repairs it); with no good copy left it is a CorruptStateError naming the field.
 */
export async function loadRun(
  deps: RecoveryDeps,
  runId: string,
  regions: readonly string[],
): Promise<RecoveryRun | undefined> {
  const key = runKey(runId);
  const readFrom = async (region: string): Promise<{ copy?: StoredCopy } | 'unreachable'> => {
    try {
      const store = deps.documents(region);
      const loaded = await store.load(key);
      return { copy: loaded ? readStoredRun(store.location, key, loaded.value) : undefined };
    } catch {
      return 'unreachable';
    }
  };
  const copies: (StoredCopy | undefined)[] = [];
  let unanswered = [...regions];
  // An unreachable region holds no vote. But when no region answers at all (a claim set can be
  // a single bucket), one S3 error used to read as "no recorded run" and fail a plan that had
  // just recorded it (sim seed 2036451): reads are safe to repeat, so those are retried in
  // place. Only then, so that a dead region in a larger set costs no waiting.
  for (let attempt = 1; attempt <= RECORD_ATTEMPTS; attempt += 1) {
    const answers = await Promise.all(unanswered.map(async (r) => [r, await readFrom(r)] as const));
    unanswered = answers.filter(([, a]) => a === 'unreachable').map(([r]) => r);
    for (const [, answer] of answers) if (answer !== 'unreachable') copies.push(answer.copy);
    if (answers.length > unanswered.length) break;
    if (attempt < RECORD_ATTEMPTS) await deps.sleep(200 * 2 ** attempt);
  }
  let best: RecoveryRun | undefined;
  let corrupt: CorruptStateError | undefined;
  for (const copy of copies) {
    if (!copy) continue;
    if ('corrupt' in copy) corrupt ??= copy.corrupt;
    else if (!best || copy.run.seq > best.seq) best = copy.run;
  }
  if (!best && corrupt) throw corrupt;
  return best;
}

/**
 * Attempts per control bucket to record a run. With three regions and one down, a claim set can
 * be a single bucket: one S3 error there used to leave the run unrecorded (sim bug 4).
 */
const RECORD_ATTEMPTS = 3;

/**
 * Records the run in every reachable bucket of its claim set. Only the claim's owner writes a
 * run, so the compare-and-swap guards against a stale owner (an older invocation still going)
 * rather than against a rival.
 *
 * A copy read back has its fields in schema order, so it is compared in RFC 8785 canonical
 * JSON (the `canonicalize` package) rather than by JSON.stringify.
 */
export async function saveRun(deps: RecoveryDeps, run: RecoveryRun): Promise<RecoveryRun> {
  const next: RecoveryRun = { ...run, seq: run.seq + 1, updatedAt: deps.clock.now().toISOString() };
  const key = runKey(run.runId);
  let written = 0;
  await Promise.all(
    run.claimSet.map(async (region) => {
      const store = deps.documents(region);
      for (let attempt = 1; attempt <= RECORD_ATTEMPTS; attempt += 1) {
        try {
          const current = await store.load(key);
          const stored = current && readStoredRun(store.location, key, current.value);
          // A corrupt copy holds no claim to be newer: this write repairs it.
          if (stored && 'run' in stored && stored.run.seq >= next.seq) {
            // Our own write, whose answer was lost on an earlier attempt, counts as written.
            if (attempt > 1 && canonicalize(stored.run) === canonicalize(next)) written += 1;
            return; // otherwise someone newer wrote
          }
          await store.save(key, next, current?.version);
          written += 1;
          return;
        } catch (error) {
          // Someone else's write won: theirs stands. Any other error: read again and retry.
          if (error instanceof WriteConflictError) return;
          if (attempt < RECORD_ATTEMPTS) await deps.sleep(200 * 2 ** attempt);
        }
      }
    }),
  );
  if (written === 0) {
    throw new RunStepError(
      'plan',
      `run ${run.runId} could not be recorded in any region of ${run.claimSet.join(', ')}`,
    );
  }
  // Every run that ends (completed or failed, by any path: chain, CLI, resume) leaves its report.
  if (next.status !== 'running') await writeRunReport(deps, next);
  else if (next.seq === 1) deps.metrics?.record(runStartedPoints(next, deps.region));
  return next;
}

/** The newest generation decided for an instance, and its run id. */
export async function latestGeneration(
  deps: RecoveryDeps,
  instanceId: string,
): Promise<{ generation: number; claim?: ClaimRecord }> {
  const regions = deps.config.regions.map((r) => r.name);
  let generation = 0;
  let latest: ClaimRecord | undefined;
  for (;;) {
    const next = await readClaim(generationKey(instanceId, generation + 1), regions, (r) =>
      deps.documents(r),
    );
    if (!next) return { generation, ...(latest ? { claim: latest } : {}) };
    generation += 1;
    latest = next;
  }
}
