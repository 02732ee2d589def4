import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { InstanceConfig, LifeboatConfig } from '../../config/schema.ts';
import {
  CorruptStateError,
  RunFailedError,
  RunStepError,
  WriteConflictError,
} from '../../errors.ts';
import { firstProblem } from '../../validation.ts';
import type { BlobStore, Clock, DocumentStore, EventBus, InstanceStore } from '../ports.ts';
import { type ClaimRecord, readClaim } from './claims.ts';
import type { DnsRecordSpec, DnsRouting, InstanceControl, Weights } from './ports.ts';

/**
 * Runs: a recovery out of a failed region, or a failback home, recorded step by step in the
 * control buckets of the run's claim set so any invocation (a retry, another region, the CLI)
 * resumes from where the last one stopped. Each step is idempotent; this module is the engine,
 * recovery-run.ts and failback-run.ts say what the steps do.
 */

/** How one step went. */
export interface StepRecord {
  status: 'pending' | 'done' | 'failed';
  attempts: number;
  at?: string;
  detail?: string;
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
  rolledBack?: boolean;
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

/** Everything a run needs from outside. */
export interface RecoveryDeps {
  config: LifeboatConfig;
  /** The region this copy of the control plane runs in. */
  region: string;
  clock: Clock;
  /** A region's control bucket, as compare-and-swap documents. */
  documents(region: string): DocumentStore;
  /** Deletes a key from a region's control bucket (capacity release). */
  deleteControlKey(region: string, key: string): Promise<void>;
  vault(region: string): BlobStore;
  instanceStore(region: string): InstanceStore;
  dns: DnsRouting;
  instances: InstanceControl;
  bus: EventBus;
  /** Regions the detector currently holds in outage (never chosen as targets). */
  unhealthyRegions(): Promise<Set<string>>;
  /** Waits between attempts of a step. */
  sleep(ms: number): Promise<void>;
  /** Attempts per step before the run fails (resumable). */
  stepAttempts?: number;
  verifyAttempts?: number;
  /** Names an invocation that takes a run (`StepContext.take`); random unless a test fixes it. */
  newDriverId?: () => string;
}

export const generationKey = (instanceId: string, generation: number) =>
  `instances/${instanceId}/generations/${String(generation).padStart(6, '0')}.json`;
export const runKey = (runId: string) => `runs/${runId}.json`;
export const secondsBetween = (from: string, to: string) =>
  (Date.parse(to) - Date.parse(from)) / 1000;

/** The DNS record lifeboat manages for an instance: one weighted CNAME per region with an endpoint. */
export function dnsSpecFor(instance: InstanceConfig): DnsRecordSpec {
  const targets: Record<string, string> = {};
  for (const [region, endpoint] of Object.entries(instance.endpoints))
    targets[region] = new URL(endpoint.url).hostname;
  return {
    instanceId: instance.id,
    hostedZoneId: instance.dns.hostedZoneId,
    recordName: instance.dns.recordName,
    ttl: instance.dns.ttl,
    targets,
    ...(instance.dns.healthChecks ? { healthChecks: instance.dns.healthChecks } : {}),
  };
}

const StoredWeights = z.record(z.string(), z.number());

/**
 * A run as read back from a control bucket. Only the fields the engine and the steps read or
 * branch on are checked (loose: the rest is our own output); a copy edited by hand or cut short
 * must be refused here, not crash a step halfway with a TypeError.
 */
const StoredRun = z.looseObject({
  runId: z.string(),
  kind: z.enum(['recovery', 'failback']),
  instanceId: z.string(),
  generation: z.number(),
  from: z.string(),
  claimant: z.string(),
  claimSet: z.array(z.string()),
  status: z.enum(['running', 'completed', 'failed']),
  reason: z.string().optional(),
  failedStep: z.string().optional(),
  incident: z.looseObject({
    incidentId: z.string().optional(),
    outageStartedAt: z.string().optional(),
    confirmedAt: z.string().optional(),
  }),
  target: z.string().optional(),
  reservation: z.looseObject({ region: z.string(), slots: z.array(z.number()) }).optional(),
  snapshot: z
    .looseObject({
      snapshotId: z.string(),
      region: z.string(),
      configDigest: z.string(),
      takenAt: z.string(),
    })
    .optional(),
  weights: z.looseObject({ before: StoredWeights, after: StoredWeights }).optional(),
  recoveryRunId: z.string().optional(),
  canary: z.array(StoredWeights).optional(),
  rolledBack: z.boolean().optional(),
  driver: z.string().optional(),
  metrics: z.looseObject({ shiftedAt: z.string() }).optional(),
  steps: z.record(
    z.string(),
    z.looseObject({ status: z.enum(['pending', 'done', 'failed']), attempts: z.number() }),
  ),
  seq: z.number(),
  startedAt: z.string(),
  updatedAt: z.string(),
});

type StoredCopy = { run: RecoveryRun } | { corrupt: CorruptStateError };

function readStoredRun(location: string, key: string, value: unknown): StoredCopy {
  const parsed = StoredRun.safeParse(value);
  if (parsed.success) return { run: parsed.data as RecoveryRun };
  const { field, message } = firstProblem(parsed.error);
  return {
    corrupt: new CorruptStateError(`${location} ${key}`, `${field || '(document)'}: ${message}`),
  };
}

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
  const copies = await Promise.all(
    regions.map(async (region): Promise<StoredCopy | undefined> => {
      try {
        const store = deps.documents(region);
        const loaded = await store.load(key);
        return loaded ? readStoredRun(store.location, key, loaded.value) : undefined;
      } catch {
        // An unreachable region holds no vote here.
        return undefined;
      }
    }),
  );
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
 * Records the run in every reachable bucket of its claim set. Only the claim's owner writes a
 * run, so the compare-and-swap guards against a stale owner (an older invocation still going)
 * rather than against a rival.
 */
/**
 * Attempts per control bucket to record a run. With three regions and one down, a claim set can
 * be a single bucket: one S3 error there used to leave the run unrecorded (sim bug 4).
 */
const RECORD_ATTEMPTS = 3;

/** JSON with keys sorted, so a copy read back (its fields in schema order) compares equal. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

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
            if (attempt > 1 && canonicalJson(stored.run) === canonicalJson(next)) written += 1;
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

/** The configured instance a run is about. */
export function instanceOf(deps: RecoveryDeps, run: RecoveryRun): InstanceConfig {
  const instance = deps.config.instances.find((i) => i.id === run.instanceId);
  if (!instance)
    throw new RunStepError('plan', `instance ${run.instanceId} is no longer configured`);
  return instance;
}

/**
 * Health-checks an instance with backoff until it answers and serves exactly `digest`: a
 * restore only counts once the running instance proves it serves the restored config.
 */
export async function awaitServing(
  deps: RecoveryDeps,
  instanceId: string,
  region: string,
  digest: string,
  step: string,
): Promise<void> {
  const attempts = deps.verifyAttempts ?? 10;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const health = await deps.instances.health(instanceId, region);
    if (health.ok && health.configDigest === digest) return;
    last = health.ok
      ? `serves config ${health.configDigest}, expected ${digest}`
      : (health.error ?? 'unhealthy');
    await deps.sleep(Math.min(5000, 200 * 2 ** attempt));
  }
  throw new RunStepError(
    step,
    `instance ${instanceId} in ${region} did not verify after ${attempts} checks: ${last}`,
  );
}

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

/** The fields the chain's events carry; the sweeper re-emits them the same way (reconcile.ts). */
export function runEventDetail(run: RecoveryRun) {
  return {
    runId: run.runId,
    kind: run.kind,
    instanceId: run.instanceId,
    ...(run.rolledBack ? { rolledBack: true } : {}),
    from: run.from,
    target: run.target,
    snapshot: run.snapshot,
    incident: run.incident,
    claimSet: run.claimSet,
    weights: run.weights,
    metrics: run.metrics,
  };
}

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
  const eventType = table.events[step];
  if (run.steps[step]?.status === 'done') {
    if (eventType) await deps.bus.publish([{ detailType: eventType, detail: runEventDetail(run) }]);
    return run;
  }
  const attempts = deps.stepAttempts ?? 3;
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
    if (eventType) await deps.bus.publish([{ detailType: eventType, detail: runEventDetail(run) }]);
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
