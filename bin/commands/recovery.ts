import { hostname, userInfo } from 'node:os';
import { recoveryDeps } from '../../shared/composition.ts';
import { findInstance, findRegion } from '../../shared/config/load.ts';
import type { InstanceConfig, LifeboatConfig } from '../../shared/config/schema.ts';
import { regionStateKey } from '../../shared/domain/detection/detect.ts';
import { reservedSlots, type SlotRecord } from '../../shared/domain/recovery/capacity.ts';
import type { ClaimRecord } from '../../shared/domain/recovery/claims.ts';
import { FAILBACK_TABLE, startFailback } from '../../shared/domain/recovery/failback-run.ts';
import type { DnsRecordSpec, Weights } from '../../shared/domain/recovery/ports.ts';
import {
  currentReservations,
  RECOVERY_TABLE,
  startRecovery,
} from '../../shared/domain/recovery/recovery-run.ts';
import {
  chooseTarget,
  type Reservation,
  type SkippedRegion,
} from '../../shared/domain/recovery/region-choice.ts';
import {
  dnsSpecFor,
  latestGeneration,
  loadRun,
  type RecoveryDeps,
  type RecoveryRun,
  runStep,
  type StepTable,
} from '../../shared/domain/recovery/run-store.ts';
import {
  activeActiveWeights,
  canarySteps,
  describeWeights,
  failoverWeights,
  returnSteps,
} from '../../shared/domain/recovery/weights.ts';
import { listCommittedSnapshotIds, readManifest } from '../../shared/domain/snapshot/catalog.ts';
import { snapshotTime } from '../../shared/domain/snapshot/format.ts';
import { LifeboatError, RunStepError, UsageError } from '../../shared/errors.ts';

/**
 * Operator verbs of the recovery chain: `plan` (dry run of a region failure), `failover`,
 * `failback`, `status` and `resume`. Every verb that changes something shows its plan first and
 * acts only with `--approve`, so a typo costs an exit code, not an incident.
 */

/** Exit codes of the recovery verbs. */
export const EXIT = { ok: 0, failed: 1, usage: 2, approvalNeeded: 3 } as const;

/** Options of the recovery verbs, as parsed from the command line. */
export interface RecoveryVerbOptions {
  instance?: string[];
  region?: string;
  from?: string;
  'from-region'?: string;
  run?: string;
  approve?: boolean;
  json?: boolean;
  /** Anything else the command line carried: rejected by the verbs it does not apply to. */
  [option: string]: unknown;
}

/** What the verbs need from their surroundings; tests replace parts of it. */
export interface RecoveryVerbIo {
  /** Ports laid over those built from config for the acting region (tests: fast sleeps, DNS). */
  deps?: Partial<RecoveryDeps>;
  /** Receives each line of normal output (default: stdout). */
  out?: (line: string) => void;
  /** Receives failure messages (default: stderr). */
  err?: (line: string) => void;
  /** Who acts, for the claimant id (default: user@host of this process). */
  operator?: string;
}

interface Context {
  config: LifeboatConfig;
  here: string;
  deps: RecoveryDeps;
  out: (line: string) => void;
  err: (line: string) => void;
  operator: string;
}

// Options every verb accepts (bin/lifeboat.ts consumes them before dispatch).
const GLOBAL_OPTIONS = new Set(['config', 'endpoint-url', 'help']);
const RUN_ID = /^[a-z0-9][a-z0-9-]{0,62}-g[1-9]\d*$/;

function contextFor(config: LifeboatConfig, io: RecoveryVerbIo, here: string): Context {
  return {
    config,
    here,
    deps: { ...recoveryDeps(config, here), ...io.deps },
    out: io.out ?? ((line) => console.log(line)),
    err: io.err ?? ((line) => console.error(line)),
    operator: io.operator ?? defaultOperator(),
  };
}

function defaultOperator(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment's name will do.
  }
  return `${user}@${hostname()}`;
}

// --- argument checks: all of them run before any I/O -------------------------------------------

function checkOptions(
  verb: string,
  options: RecoveryVerbOptions,
  allowed: readonly string[],
): void {
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || GLOBAL_OPTIONS.has(name) || allowed.includes(name)) continue;
    throw new UsageError(
      `${verb}: --${name} does not apply here (it takes ${allowed.map((o) => `--${o}`).join(', ')})`,
    );
  }
}

function oneInstance(
  config: LifeboatConfig,
  options: RecoveryVerbOptions,
  verb: string,
): InstanceConfig {
  const ids = options.instance ?? [];
  if (ids.length === 0) throw new UsageError(`${verb}: --instance ID is required`);
  if (ids.length > 1) {
    throw new UsageError(`${verb}: --instance: give exactly one instance, got ${ids.join(', ')}`);
  }
  return findInstance(config, ids[0] as string);
}

function someInstances(config: LifeboatConfig, options: RecoveryVerbOptions): Set<string> | null {
  const ids = options.instance ?? [];
  if (ids.length === 0) return null;
  return new Set(ids.map((id) => findInstance(config, id).id));
}

function requiredRegion(
  config: LifeboatConfig,
  verb: string,
  option: string,
  value: string | undefined,
): string {
  if (value === undefined || value === '') {
    throw new UsageError(`${verb}: --${option} REGION is required`);
  }
  return findRegion(config, value).name;
}

/** The region the CLI acts from: `--from-region`, else the first configured one not failing. */
function actingRegion(
  config: LifeboatConfig,
  options: RecoveryVerbOptions,
  failing?: string,
): string {
  const requested = options['from-region'];
  if (requested !== undefined) {
    const name = findRegion(config, requested).name;
    if (name === failing) {
      throw new UsageError(
        `--from-region: ${name} is the region being failed over; act from another region`,
      );
    }
    return name;
  }
  const here = config.regions.find((r) => r.name !== failing)?.name;
  if (!here) throw new UsageError(`no configured region besides ${failing} to act from`);
  return here;
}

/**
 * Runs the part of a verb that talks to AWS. Argument errors (exit 2) pass through; anything
 * else is an operation that failed (exit 1), reported in one line.
 */
async function operation(ctx: Context, verb: string, work: () => Promise<number>) {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UsageError) throw error;
    ctx.err(`lifeboat ${verb}: failed: ${(error as Error).message ?? String(error)}`);
    if (!(error instanceof LifeboatError) && (error as Error).stack)
      ctx.err(String((error as Error).stack));
    return EXIT.failed;
  }
}

// --- reading the world (never writes) ----------------------------------------------------------

/** Where an instance serves from now, as its latest generation records it. */
export type InstanceState =
  | 'home'
  | 'recovered'
  | 'recovering'
  | 'recovery-failed'
  | 'failing-back'
  | 'failback-failed'
  | 'active-active'
  | 'unknown';

interface Whereabouts {
  runsIn: string[];
  state: InstanceState;
  generation: number;
  claim?: ClaimRecord;
  run?: RecoveryRun;
}

async function whereabouts(deps: RecoveryDeps, instance: InstanceConfig): Promise<Whereabouts> {
  const { generation, claim } = await latestGeneration(deps, instance.id);
  const run = claim ? await loadRun(deps, String(claim.payload.runId), claim.claimSet) : undefined;
  const base = { generation, ...(claim ? { claim } : {}), ...(run ? { run } : {}) };
  if (instance.critical && instance.activeRegions?.length) {
    return { ...base, runsIn: [...instance.activeRegions], state: 'active-active' };
  }
  if (!claim) return { ...base, runsIn: [instance.homeRegion], state: 'home' };
  if (!run) {
    return {
      ...base,
      runsIn: [String(claim.payload.from ?? instance.homeRegion)],
      state: 'unknown',
    };
  }
  if (run.kind === 'recovery') {
    if (run.status === 'completed' && run.target) {
      return { ...base, runsIn: [run.target], state: 'recovered' };
    }
    return {
      ...base,
      runsIn: [run.from],
      state: run.status === 'failed' ? 'recovery-failed' : 'recovering',
    };
  }
  if (run.status === 'completed') {
    return { ...base, runsIn: [run.target ?? instance.homeRegion], state: 'home' };
  }
  // A failback that has not finished (or rolled back) leaves the recovered instance serving.
  return {
    ...base,
    runsIn: [run.from],
    state: run.status === 'failed' ? 'failback-failed' : 'failing-back',
  };
}

/** Current weights of an instance's records, or why they could not be read. */
interface DnsReading {
  weights?: Weights;
  error?: string;
}

async function readDns(deps: RecoveryDeps, spec: DnsRecordSpec): Promise<DnsReading> {
  try {
    return { weights: await deps.dns.readWeights(spec) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Every slot held by runs in regions other than `except`, as region-choice wants them. */
const readReservations = (
  deps: RecoveryDeps,
  _config: LifeboatConfig,
  except?: string,
): Promise<Reservation[]> => currentReservations(deps, except ?? '');

/** A committed snapshot a recovery could restore, and how old it is. */
export interface SnapshotChoice {
  snapshotId: string;
  region: string;
  takenAt: string;
  configDigest: string;
  ageSeconds: number;
}

/**
 * The snapshot the recovery's plan step would pick, read-only: the newest committed one among
 * the reachable replicas outside the failed region, preferring the target's own bucket.
 * Mirrors recovery-run.ts's newestSnapshot (which is not exported).
 */
async function newestReachableSnapshot(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  failed: string,
  target: string | undefined,
  now: Date,
): Promise<SnapshotChoice | { error: string }> {
  const replicas = instance.replicaRegions.filter((r) => r !== failed);
  const order =
    target && replicas.includes(target)
      ? [target, ...replicas.filter((r) => r !== target)]
      : replicas;
  let best: { snapshotId: string; region: string } | undefined;
  for (const region of order) {
    try {
      const [newest] = await listCommittedSnapshotIds(deps.vault(region), instance.id);
      if (newest && (!best || newest > best.snapshotId)) best = { snapshotId: newest, region };
    } catch {
      // An unreachable replica offers no copy.
    }
  }
  if (!best) {
    return {
      error: `no committed snapshot of ${instance.id} in any reachable replica outside ${failed} (${replicas.join(', ') || 'none'})`,
    };
  }
  try {
    const manifest = await readManifest(deps.vault(best.region), instance.id, best.snapshotId);
    const takenAt = snapshotTime(best.snapshotId);
    return {
      ...best,
      takenAt: takenAt.toISOString(),
      configDigest: manifest.configDigest,
      ageSeconds: Math.max(0, Math.round((now.getTime() - takenAt.getTime()) / 1000)),
    };
  } catch (error) {
    return {
      error: `snapshot ${best.snapshotId} in ${best.region} is unreadable: ${(error as Error).message}`,
    };
  }
}

/** "is running", "completed", "failed at verify: <reason>". */
function runState(run: RecoveryRun): string {
  if (run.status === 'failed') {
    return `failed${run.failedStep ? ` at ${run.failedStep}` : ''}: ${run.reason ?? 'no reason recorded'}${run.rolledBack ? ' (rolled back)' : ''}`;
  }
  return run.status === 'running' ? 'is running' : 'completed';
}

// --- plan --------------------------------------------------------------------------------------

/** What a failure of one region would do to one instance. */
export interface InstancePlan {
  instanceId: string;
  runsIn: string[];
  state: InstanceState;
  /** recover: a restore elsewhere; drain: active-active weight change only; none: unaffected. */
  action: 'recover' | 'drain' | 'none' | 'in-progress' | 'blocked';
  reason?: string;
  /** The run that already handles this region (action in-progress). */
  runId?: string;
  target?: {
    region: string;
    distanceKm: number;
    rank: number;
    units: number;
    skipped: SkippedRegion[];
  };
  snapshot?: SnapshotChoice;
  /** Data loss if the outage started now: the snapshot's age. */
  rpoSeconds?: number;
  dns?: { recordName: string; before?: Weights; after?: Weights; error?: string };
}

/** The dry run of one region's failure. */
export interface RegionFailurePlan {
  failedRegion: string;
  here: string;
  at: string;
  /** Regions the detector already holds in outage (never chosen as targets). */
  detectorUnhealthy: string[];
  instances: InstancePlan[];
}

/**
 * What would happen if `failed` failed now, instance by instance, in the order the planner takes
 * them (config order): each planned recovery takes its slots before the next one chooses, as the
 * real reservations would. Only reads; `only` limits the detail to some instances.
 */
export async function planRegionFailure(
  deps: RecoveryDeps,
  failed: string,
  here: string,
  only: Set<string> | null,
): Promise<RegionFailurePlan> {
  const { config } = deps;
  const now = deps.clock.now();
  const detectorUnhealthy = [...(await deps.unhealthyRegions())].sort();
  const unhealthy = new Set([...detectorUnhealthy, failed]);
  const reservations = await readReservations(deps, config, failed);
  const instances: InstancePlan[] = [];
  for (const instance of config.instances) {
    const detail = !only || only.has(instance.id);
    const plan = await planInstance(deps, instance, failed, unhealthy, reservations, now, detail);
    if (plan.action === 'recover' && plan.target) {
      reservations.push({
        region: plan.target.region,
        units: instance.capacityUnits,
        instanceId: instance.id,
      });
    }
    if (detail) instances.push(plan);
  }
  return { failedRegion: failed, here, at: now.toISOString(), detectorUnhealthy, instances };
}

async function planInstance(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  failed: string,
  unhealthy: ReadonlySet<string>,
  reservations: readonly Reservation[],
  now: Date,
  detail: boolean,
): Promise<InstancePlan> {
  const where = await whereabouts(deps, instance);
  const base = { instanceId: instance.id, runsIn: where.runsIn, state: where.state };
  const spec = dnsSpecFor(instance);
  const regions = Object.keys(spec.targets);
  if (where.state === 'active-active') {
    if (!where.runsIn.includes(failed)) {
      return { ...base, action: 'none', reason: `active-active, not active in ${failed}` };
    }
    if (!detail) return { ...base, action: 'drain' };
    const dns = await readDns(deps, spec);
    if (!dns.weights) {
      return {
        ...base,
        action: 'blocked',
        reason: `cannot read DNS: ${dns.error}`,
        dns: { recordName: spec.recordName, error: dns.error },
      };
    }
    // As respondToOutage does: regions already at 0 stay drained.
    const active = instance.activeRegions ?? [];
    const before = dns.weights;
    const drained = new Set([failed, ...active.filter((r) => before[r] === 0)]);
    try {
      const shares = activeActiveWeights(active, drained);
      const after = Object.fromEntries(regions.map((r) => [r, shares[r] ?? 0]));
      return { ...base, action: 'drain', dns: { recordName: spec.recordName, before, after } };
    } catch (error) {
      return {
        ...base,
        action: 'blocked',
        reason: (error as Error).message,
        dns: { recordName: spec.recordName, before },
      };
    }
  }
  if (
    where.claim &&
    String(where.claim.payload.from) === failed &&
    where.run?.status !== 'completed'
  ) {
    // The planner treats this as the same outage: nothing new starts; the run is resumed.
    const run = where.run;
    const runId = String(where.claim.payload.runId);
    return {
      ...base,
      action: 'in-progress',
      runId,
      reason: run
        ? `${run.kind} run ${runId} out of ${failed} ${runState(run)}`
        : `run ${runId} out of ${failed} is claimed but its record is unreadable`,
    };
  }
  if (!where.runsIn.includes(failed)) {
    return { ...base, action: 'none', reason: `runs in ${where.runsIn.join(', ')}, not ${failed}` };
  }
  const choice = chooseTarget({
    config: deps.config,
    instance,
    failedRegion: failed,
    unhealthy,
    reservations,
  });
  const target = choice.ok
    ? {
        region: choice.region,
        distanceKm: choice.distanceKm,
        rank: choice.rank,
        units: choice.region === instance.homeRegion ? 0 : instance.capacityUnits,
        skipped: choice.skipped,
      }
    : undefined;
  if (!detail) {
    return choice.ok
      ? { ...base, action: 'recover', ...(target ? { target } : {}) }
      : { ...base, action: 'blocked', reason: choice.reason };
  }
  const snapshot = await newestReachableSnapshot(deps, instance, failed, target?.region, now);
  const dns = await readDns(deps, spec);
  const plan: InstancePlan = {
    ...base,
    action: 'recover',
    ...(target ? { target } : {}),
    dns: {
      recordName: spec.recordName,
      ...(dns.weights ? { before: dns.weights } : { error: dns.error }),
      ...(target ? { after: failoverWeights(regions, target.region) } : {}),
    },
  };
  if ('snapshotId' in snapshot) {
    plan.snapshot = snapshot;
    plan.rpoSeconds = snapshot.ageSeconds;
  }
  if (!choice.ok) return { ...plan, action: 'blocked', reason: choice.reason };
  if ('error' in snapshot) return { ...plan, action: 'blocked', reason: snapshot.error };
  return plan;
}

// --- rendering ---------------------------------------------------------------------------------

/** "42 s", "5m 04s", "2h 03m", "3d 04h": short enough for a table cell. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function weightsLine(weights: Weights | undefined): string {
  return weights ? describeWeights(weights) || '(no records)' : '?';
}

function printPlan(out: (line: string) => void, plan: RegionFailurePlan): void {
  out(`lifeboat plan: if ${plan.failedRegion} failed at ${plan.at} (dry run: nothing was written)`);
  out(
    `acting from ${plan.here}; regions the detector holds unhealthy: ${plan.detectorUnhealthy.join(', ') || 'none'}`,
  );
  out('');
  if (plan.instances.length === 0) {
    out('no instances configured');
    return;
  }
  const rows = [['INSTANCE', 'RUNS IN', 'ACTION', 'TARGET', 'SNAPSHOT', 'RPO IF NOW']];
  for (const p of plan.instances) {
    rows.push([
      p.instanceId,
      p.runsIn.join(','),
      p.action,
      p.target
        ? `${p.target.region} (choice ${p.target.rank}, ${p.target.distanceKm} km)`
        : p.action === 'drain'
          ? '(other active regions)'
          : '-',
      p.snapshot ? `${p.snapshot.snapshotId} in ${p.snapshot.region}` : '-',
      p.rpoSeconds !== undefined ? formatAge(p.rpoSeconds) : '-',
    ]);
  }
  for (const line of table(rows)) out(line);
  for (const p of plan.instances) {
    const notes: string[] = [];
    if (p.reason) notes.push(p.reason);
    if (p.target?.skipped.length) {
      notes.push(`passed over: ${p.target.skipped.map((s) => s.detail).join('; ')}`);
    }
    if (p.target && p.target.units > 0) {
      notes.push(`reserves ${p.target.units} slot(s) in ${p.target.region}`);
    }
    if (p.runId) notes.push(`resume it with: lifeboat resume --run ${p.runId} --approve`);
    if (p.dns) {
      notes.push(
        p.dns.error && !p.dns.before
          ? `dns ${p.dns.recordName}: unreadable (${p.dns.error})`
          : `dns ${p.dns.recordName}: ${weightsLine(p.dns.before)}${p.dns.after ? `  ->  ${weightsLine(p.dns.after)}` : ''}`,
      );
    }
    if (notes.length === 0) continue;
    out('');
    out(`${p.instanceId}:`);
    for (const note of notes) out(`  ${note}`);
  }
}

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

function printOutcome(ctx: Context, run: RecoveryRun, elapsedMs: number): void {
  const { out } = ctx;
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

// --- driving runs ------------------------------------------------------------------------------

/** The step table of a run's kind. */
export const tableFor = (run: RecoveryRun): StepTable =>
  run.kind === 'failback' ? FAILBACK_TABLE : RECOVERY_TABLE;

/** driveRun, one step at a time, so the operator sees each step as it lands. */
async function driveWithProgress(ctx: Context, run: RecoveryRun): Promise<number> {
  const table = tableFor(run);
  const started = Date.now();
  const width = Math.max(...table.steps.map((s) => s.length));
  let current = run;
  ctx.out(`driving ${run.runId} (${run.kind} of ${run.instanceId}):`);
  for (const step of table.steps) {
    if (current.steps[step]?.status === 'done') {
      ctx.out(`  ${step.padEnd(width)}  already done`);
      continue;
    }
    const t0 = Date.now();
    try {
      // Every drive from here is one an operator approved, so a failed step may run again.
      current = await runStep(ctx.deps, current.runId, step, current.claimSet, table, {
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
  printOutcome(ctx, current, Date.now() - started);
  return EXIT.ok;
}

function claimantFor(ctx: Context): string {
  return `manual:${ctx.operator}:${ctx.deps.clock.now().toISOString()}`;
}

async function describeOwner(ctx: Context, runId: string, claimant?: string): Promise<string> {
  const owner = await loadRun(
    ctx.deps,
    runId,
    ctx.config.regions.map((r) => r.name),
  );
  const who = claimant ?? owner?.claimant ?? 'unknown claimant';
  const state = owner ? `the ${owner.kind} ${runState(owner)}` : 'no run record readable yet';
  return `run ${runId} owns this generation (claimant ${who}; ${state})`;
}

// --- verbs -------------------------------------------------------------------------------------

/** `lifeboat plan --region R [--instance ID]… [--json]`: a dry run of R failing now. */
export async function planVerb(
  config: LifeboatConfig,
  options: RecoveryVerbOptions,
  io: RecoveryVerbIo = {},
): Promise<number> {
  checkOptions('plan', options, ['region', 'instance', 'json', 'from-region']);
  const failed = requiredRegion(config, 'plan', 'region', options.region);
  const only = someInstances(config, options);
  const here = actingRegion(config, options, failed);
  const ctx = contextFor(config, io, here);
  return operation(ctx, 'plan', async () => {
    const plan = await planRegionFailure(ctx.deps, failed, here, only);
    if (options.json) ctx.out(JSON.stringify(plan, null, 2));
    else printPlan(ctx.out, plan);
    // A plan that cannot place an instance is a readiness failure worth a non-zero exit.
    return plan.instances.some((p) => p.action === 'blocked') ? EXIT.failed : EXIT.ok;
  });
}

/** `lifeboat failover --instance ID --from R [--approve]`: a recovery started by hand. */
export async function failoverVerb(
  config: LifeboatConfig,
  options: RecoveryVerbOptions,
  io: RecoveryVerbIo = {},
): Promise<number> {
  checkOptions('failover', options, ['instance', 'from', 'approve', 'from-region']);
  const instance = oneInstance(config, options, 'failover');
  const failed = requiredRegion(config, 'failover', 'from', options.from);
  const here = actingRegion(config, options, failed);
  const ctx = contextFor(config, io, here);
  return operation(ctx, 'failover', async () => {
    const plan = await planRegionFailure(ctx.deps, failed, here, new Set([instance.id]));
    printPlan(ctx.out, plan);
    ctx.out('');
    const mine = plan.instances[0];
    if (
      !mine ||
      mine.action === 'none' ||
      mine.action === 'in-progress' ||
      mine.action === 'blocked'
    ) {
      ctx.err(
        `lifeboat failover: cannot fail ${instance.id} over out of ${failed}: ${mine?.reason}`,
      );
      return EXIT.failed;
    }
    if (!options.approve) {
      ctx.out('approval needed: re-run with --approve to execute');
      return EXIT.approvalNeeded;
    }
    if (mine.action === 'drain') return drain(ctx, instance, mine);
    const claimant = claimantFor(ctx);
    const started = await startRecovery(ctx.deps, {
      instance,
      failedRegion: failed,
      claimant,
      incident: { confirmedAt: ctx.deps.clock.now().toISOString() },
    });
    switch (started.outcome) {
      case 'started':
      case 'resumed':
        ctx.out(`claimed ${started.run.runId} as ${claimant}`);
        return driveWithProgress(ctx, started.run);
      case 'duplicate':
        ctx.err(
          `lifeboat failover: claim lost: ${await describeOwner(ctx, started.runId, started.claimant)}`,
        );
        ctx.err(`see it with: lifeboat resume --run ${started.runId}`);
        return EXIT.failed;
      case 'not-primary':
        ctx.err(
          `lifeboat failover: ${instance.id} runs in ${started.primary}, not ${failed}: nothing to fail over`,
        );
        return EXIT.failed;
      case 'undecided':
        ctx.err(
          `lifeboat failover: no majority for the claim (${Object.entries(started.holders)
            .map(([r, h]) => `${r}: ${h}`)
            .join(', ')}); retry when more regions answer`,
        );
        return EXIT.failed;
    }
  });
}

async function drain(ctx: Context, instance: InstanceConfig, plan: InstancePlan) {
  const after = plan.dns?.after;
  if (!after) throw new RunStepError('drain', 'no planned weights');
  const spec = dnsSpecFor(instance);
  await ctx.deps.dns.applyWeights(spec, after);
  const now = await ctx.deps.dns.readWeights(spec);
  ctx.out(`drained: ${spec.recordName} now ${describeWeights(now)}`);
  return describeWeights(now) === describeWeights(after) ? EXIT.ok : EXIT.failed;
}

/** `lifeboat failback --instance ID [--approve]`: bring a recovered instance home by hand. */
export async function failbackVerb(
  config: LifeboatConfig,
  options: RecoveryVerbOptions,
  io: RecoveryVerbIo = {},
): Promise<number> {
  checkOptions('failback', options, ['instance', 'approve', 'from-region']);
  const instance = oneInstance(config, options, 'failback');
  const here = actingRegion(config, options);
  const ctx = contextFor(config, io, here);
  return operation(ctx, 'failback', async () => {
    const home = instance.homeRegion;
    const where = await whereabouts(ctx.deps, instance);
    if (where.state === 'active-active') return returnActiveRegions(ctx, instance, options);
    const run = where.run;
    if (where.state !== 'recovered' || !run?.target) {
      const why =
        where.state === 'home'
          ? `it already serves from ${home}`
          : where.run
            ? `its latest run ${where.run.runId} (${where.run.kind}) ${runState(where.run)}; see lifeboat resume --run ${where.run.runId}`
            : `its state is ${where.state}`;
      ctx.err(`lifeboat failback: nothing to fail back for ${instance.id}: ${why}`);
      return EXIT.failed;
    }
    if (run.from !== home) {
      ctx.err(
        `lifeboat failback: ${instance.id} was recovered out of ${run.from}, not its home ${home}`,
      );
      return EXIT.failed;
    }
    const from = run.target;
    const spec = dnsSpecFor(instance);
    const dns = await readDns(ctx.deps, spec);
    const policy = config.failback;
    const steps = canarySteps(from, home, Object.keys(spec.targets), policy.canaryPercents);
    const health = await ctx.deps.instances.health(instance.id, home);
    const unhealthy = await ctx.deps.unhealthyRegions();
    ctx.out(`lifeboat failback plan for ${instance.id}: ${from} -> ${home} (home)`);
    ctx.out(`  recovered by ${run.runId} (${run.status} ${run.updatedAt})`);
    ctx.out(`  1 fence       ${instance.id} in ${from} refuses config writes`);
    ctx.out(`  2 snapshot    final snapshot of ${from} into ${instance.replicaRegions.join(', ')}`);
    ctx.out(`  3 restore     into ${home}, then activate`);
    ctx.out(`  4 verify      ${home} serves the final snapshot's config`);
    ctx.out(
      `  5 shift       ${steps.map((w) => `${home}=${w[home] ?? 0}`).join(' -> ')}, ${policy.stepSeconds} s and ${policy.healthChecksPerStep} health check(s) per step; rollback to ${from} on regression`,
    );
    ctx.out(
      `  6 release     ${run.reservation ? `slot(s) ${run.reservation.slots.join(', ')} in ${run.reservation.region}` : 'no reservation held'}`,
    );
    ctx.out(
      `  dns ${spec.recordName} now: ${dns.weights ? describeWeights(dns.weights) : `unreadable (${dns.error})`}`,
    );
    ctx.out(
      `  ${home} instance: ${health.ok ? `healthy, serving config ${health.configDigest?.slice(0, 16) ?? '?'}…` : `not healthy (${health.error ?? 'unknown'})`}; detector: ${unhealthy.has(home) ? 'still holds it unhealthy' : 'not unhealthy'}`,
    );
    ctx.out('');
    if (!health.ok) {
      // Fencing first and failing at verify would leave the instance refusing writes for nothing.
      ctx.err(`lifeboat failback: ${home} is not healthy yet; not failing back`);
      return EXIT.failed;
    }
    if (!options.approve) {
      ctx.out('approval needed: re-run with --approve to execute');
      return EXIT.approvalNeeded;
    }
    const claimant = claimantFor(ctx);
    const started = await startFailback(ctx.deps, {
      instance,
      home,
      claimant,
      retryRolledBack: true,
    });
    switch (started.outcome) {
      case 'started':
      case 'resumed':
        ctx.out(`claimed ${started.run.runId} as ${claimant}`);
        return driveWithProgress(ctx, started.run);
      case 'duplicate':
        ctx.err(`lifeboat failback: claim lost: ${await describeOwner(ctx, started.runId)}`);
        return EXIT.failed;
      case 'nothing-to-do':
        ctx.err(`lifeboat failback: nothing to do: ${started.reason}`);
        return EXIT.failed;
      case 'undecided':
        ctx.err(
          `lifeboat failback: no majority for the claim (${Object.entries(started.holders)
            .map(([r, h]) => `${r}: ${h}`)
            .join(', ')}); retry when more regions answer`,
        );
        return EXIT.failed;
    }
  });
}

/**
 * Failback of an active-active instance: every drained active region that answers its health
 * check gets its share back step by step, as respond.ts does on "Region Recovered" (which is
 * what undoes a drain the detector made; this undoes one made by hand). A region whose health
 * regresses during its steps is drained again.
 */
async function returnActiveRegions(
  ctx: Context,
  instance: InstanceConfig,
  options: RecoveryVerbOptions,
): Promise<number> {
  const active = instance.activeRegions ?? [];
  const spec = dnsSpecFor(instance);
  const regions = Object.keys(spec.targets);
  const policy = ctx.config.failback;
  const widen = (shares: Weights): Weights =>
    Object.fromEntries(regions.map((r) => [r, shares[r] ?? 0]));
  const current = await ctx.deps.dns.readWeights(spec);
  const drained = active.filter((r) => (current[r] ?? 0) === 0);
  ctx.out(`lifeboat failback plan for ${instance.id} (active-active in ${active.join(', ')})`);
  ctx.out(`  dns ${spec.recordName} now: ${describeWeights(current)}`);
  if (drained.length === 0) {
    ctx.err(
      `lifeboat failback: nothing to fail back: every active region of ${instance.id} serves`,
    );
    return EXIT.failed;
  }
  const ready: string[] = [];
  for (const region of drained) {
    const health = await ctx.deps.instances.health(instance.id, region);
    ctx.out(
      `  ${region}: drained; instance ${health.ok ? 'healthy' : `not healthy (${health.error ?? 'unknown'}), stays drained`}`,
    );
    if (health.ok) ready.push(region);
  }
  if (ready.length === 0) {
    ctx.err('lifeboat failback: no drained region is healthy yet');
    return EXIT.failed;
  }
  let stillDrained = new Set(drained);
  const plans = ready.map((region) => {
    stillDrained = new Set([...stillDrained].filter((r) => r !== region));
    return { region, steps: returnSteps(active, region, policy.canaryPercents, stillDrained) };
  });
  for (const plan of plans) {
    ctx.out(
      `  return ${plan.region}: ${plan.steps.map((w) => describeWeights(widen(w))).join('  ->  ')}`,
    );
  }
  ctx.out('');
  if (!options.approve) {
    ctx.out('approval needed: re-run with --approve to execute');
    return EXIT.approvalNeeded;
  }
  let drainedNow = new Set(drained);
  for (const plan of plans) {
    for (const shares of plan.steps) {
      const weights = widen(shares);
      await ctx.deps.dns.applyWeights(spec, weights);
      await ctx.deps.sleep(policy.stepSeconds * 1000);
      const health = await ctx.deps.instances.health(instance.id, plan.region);
      if (!health.ok) {
        const back = widen(activeActiveWeights(active, drainedNow));
        await ctx.deps.dns.applyWeights(spec, back);
        ctx.err(
          `lifeboat failback: ${plan.region} regressed at ${describeWeights(weights)} (${health.error ?? 'unhealthy'}): drained again, ${describeWeights(back)}`,
        );
        return EXIT.failed;
      }
      ctx.out(`  ${describeWeights(weights)}  ${plan.region} healthy`);
    }
    drainedNow = new Set([...drainedNow].filter((r) => r !== plan.region));
  }
  ctx.out(
    `returned: ${spec.recordName} now ${describeWeights(await ctx.deps.dns.readWeights(spec))}`,
  );
  return EXIT.ok;
}

/** One region as `status` shows it. */
export interface RegionStatus {
  region: string;
  detector: {
    status: string;
    since?: string;
    incidentId?: string;
    degradedZones: string[];
  } | null;
  capacity: number;
  home: number;
  reserved?: number;
  free?: number;
  reservations?: { slot: number; runId: string; instanceId: string }[];
  error?: string;
}

/** One instance as `status` shows it. */
export interface InstanceStatus {
  instanceId: string;
  homeRegion: string;
  runsIn: string[];
  state: InstanceState;
  generation: number;
  latest?: {
    runId: string;
    kind: string;
    status: string;
    from: string;
    target?: string;
    failedStep?: string;
    reason?: string;
    updatedAt: string;
    metrics?: RecoveryRun['metrics'];
  };
  dns: { recordName: string; weights?: Weights; error?: string };
  snapshots: { region: string; snapshotId?: string; ageSeconds?: number; error?: string }[];
}

/** What `status` reports. */
export interface StatusReport {
  at: string;
  /** Whose control bucket the detector states were read from. */
  detectorView?: string;
  regions: RegionStatus[];
  instances: InstanceStatus[];
}

async function detectorStates(ctx: Context) {
  const names = ctx.config.regions.map((r) => r.name);
  for (const source of [ctx.here, ...names.filter((r) => r !== ctx.here)]) {
    try {
      const store = ctx.deps.documents(source);
      const states = await Promise.all(
        names.map(async (r) => [r, (await store.load(regionStateKey(r)))?.value] as const),
      );
      return { source, states: new Map(states) };
    } catch {
      // Unreachable: the next region's detector has its own view.
    }
  }
  return { source: undefined, states: new Map<string, unknown>() };
}

/** Reads everything `status` shows. Only reads. */
export async function collectStatus(
  ctx: Pick<Context, 'config' | 'deps' | 'here'>,
  only: Set<string> | null,
): Promise<StatusReport> {
  const { config, deps } = ctx;
  const now = deps.clock.now();
  const view = await detectorStates(ctx as Context);
  const regions: RegionStatus[] = [];
  for (const region of config.regions) {
    const raw = view.states.get(region.name) as
      | { status?: string; statusSince?: string; incidentId?: string; degradedZones?: object }
      | undefined;
    const home = config.instances
      .filter((i) => i.homeRegion === region.name)
      .reduce((sum, i) => sum + i.capacityUnits, 0);
    const entry: RegionStatus = {
      region: region.name,
      detector: raw?.status
        ? {
            status: raw.status,
            ...(raw.statusSince ? { since: raw.statusSince } : {}),
            ...(raw.incidentId ? { incidentId: raw.incidentId } : {}),
            degradedZones: Object.keys(raw.degradedZones ?? {}),
          }
        : null,
      capacity: region.capacity,
      home,
    };
    try {
      const slots: SlotRecord[] = await reservedSlots(
        deps.documents(region.name),
        region.name,
        region.capacity,
      );
      entry.reserved = slots.length;
      entry.free = region.capacity - home - slots.length;
      entry.reservations = slots.map((s) => ({
        slot: s.slot,
        runId: s.runId,
        instanceId: s.instanceId,
      }));
    } catch (error) {
      entry.error = `control bucket unreachable: ${(error as Error).message}`;
    }
    regions.push(entry);
  }
  const instances: InstanceStatus[] = [];
  for (const instance of config.instances) {
    if (only && !only.has(instance.id)) continue;
    const where = await whereabouts(deps, instance);
    const spec = dnsSpecFor(instance);
    const dns = await readDns(deps, spec);
    const snapshots: InstanceStatus['snapshots'] = [];
    for (const region of instance.replicaRegions) {
      try {
        const [newest] = await listCommittedSnapshotIds(deps.vault(region), instance.id);
        snapshots.push(
          newest
            ? {
                region,
                snapshotId: newest,
                ageSeconds: Math.round((now.getTime() - snapshotTime(newest).getTime()) / 1000),
              }
            : { region },
        );
      } catch (error) {
        snapshots.push({ region, error: (error as Error).message });
      }
    }
    const run = where.run;
    instances.push({
      instanceId: instance.id,
      homeRegion: instance.homeRegion,
      runsIn: where.runsIn,
      state: where.state,
      generation: where.generation,
      ...(run
        ? {
            latest: {
              runId: run.runId,
              kind: run.kind,
              status: run.status,
              from: run.from,
              ...(run.target ? { target: run.target } : {}),
              ...(run.failedStep ? { failedStep: run.failedStep, reason: run.reason } : {}),
              updatedAt: run.updatedAt,
              ...(run.metrics ? { metrics: run.metrics } : {}),
            },
          }
        : {}),
      dns: {
        recordName: spec.recordName,
        ...(dns.weights ? { weights: dns.weights } : { error: dns.error }),
      },
      snapshots,
    });
  }
  return {
    at: now.toISOString(),
    ...(view.source ? { detectorView: view.source } : {}),
    regions,
    instances,
  };
}

function printStatus(out: (line: string) => void, report: StatusReport): void {
  out(
    `lifeboat status at ${report.at} (detector states as ${report.detectorView ? `${report.detectorView} sees them` : 'no control bucket answered'})`,
  );
  out('');
  const regionRows = [['REGION', 'DETECTOR', 'CAPACITY', 'HOME', 'RESERVED', 'FREE']];
  for (const r of report.regions) {
    const detector = r.detector
      ? `${r.detector.status}${r.detector.degradedZones.length ? ` (degraded: ${r.detector.degradedZones.join(', ')})` : ''}`
      : 'no data';
    regionRows.push([
      r.region,
      detector,
      String(r.capacity),
      String(r.home),
      r.reserved === undefined ? '?' : String(r.reserved),
      r.free === undefined ? '? (unreachable)' : String(r.free),
    ]);
  }
  for (const line of table(regionRows)) out(line);
  for (const r of report.regions) {
    for (const s of r.reservations ?? []) {
      out(`  ${r.region} slot ${s.slot}: held by ${s.runId} (${s.instanceId})`);
    }
  }
  out('');
  if (report.instances.length === 0) {
    out('no instances');
    return;
  }
  const rows = [['INSTANCE', 'HOME', 'RUNS IN', 'STATE', 'LATEST RUN']];
  for (const i of report.instances) {
    rows.push([
      i.instanceId,
      i.homeRegion,
      i.runsIn.join(','),
      i.state,
      i.latest
        ? `${i.latest.runId} ${i.latest.kind} ${i.latest.status} (${i.latest.from} -> ${i.latest.target ?? '?'})`
        : i.generation > 0
          ? `generation ${i.generation} (record unreadable)`
          : '-',
    ]);
  }
  for (const line of table(rows)) out(line);
  for (const i of report.instances) {
    out('');
    out(`${i.instanceId}:`);
    if (i.latest?.failedStep) out(`  failed at ${i.latest.failedStep}: ${i.latest.reason}`);
    const m = i.latest?.metrics;
    if (m?.rtoFromConfirmedSeconds !== undefined) {
      out(
        `  shifted at ${m.shiftedAt}: RTO ${m.rtoFromConfirmedSeconds.toFixed(1)} s from confirmation${m.rpoSeconds !== undefined ? `, RPO ${formatAge(m.rpoSeconds)}` : ''}`,
      );
    }
    out(
      `  dns ${i.dns.recordName}: ${i.dns.weights ? describeWeights(i.dns.weights) || '(no records)' : `unreadable (${i.dns.error})`}`,
    );
    out(
      `  snapshots: ${i.snapshots
        .map((s) =>
          s.error
            ? `${s.region} unreachable`
            : s.snapshotId
              ? `${s.region} ${s.snapshotId} (${formatAge(s.ageSeconds ?? 0)} old)`
              : `${s.region} none`,
        )
        .join('; ')}`,
    );
  }
}

/** `lifeboat status [--instance ID]… [--json]`: regions, capacity, runs, DNS and snapshots. */
export async function statusVerb(
  config: LifeboatConfig,
  options: RecoveryVerbOptions,
  io: RecoveryVerbIo = {},
): Promise<number> {
  checkOptions('status', options, ['instance', 'json', 'from-region']);
  const only = someInstances(config, options);
  const here = actingRegion(config, options);
  const ctx = contextFor(config, io, here);
  return operation(ctx, 'status', async () => {
    const report = await collectStatus(ctx, only);
    if (options.json) ctx.out(JSON.stringify(report, null, 2));
    else printStatus(ctx.out, report);
    return EXIT.ok;
  });
}

function printRun(out: (line: string) => void, run: RecoveryRun, now: Date): void {
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

/** `lifeboat resume --run RUN_ID [--approve]`: show where a run stopped; continue it. */
export async function resumeVerb(
  config: LifeboatConfig,
  options: RecoveryVerbOptions,
  io: RecoveryVerbIo = {},
): Promise<number> {
  checkOptions('resume', options, ['run', 'approve', 'from-region']);
  const runId = options.run;
  if (runId === undefined || runId === '') {
    throw new UsageError('resume: --run RUN_ID is required');
  }
  if (!RUN_ID.test(runId)) {
    throw new UsageError(
      `--run: "${runId}" is not a run id (expected <instance>-g<generation>, e.g. petstore-g1)`,
    );
  }
  if (options['from-region'] !== undefined) findRegion(config, options['from-region']);
  const regions = config.regions.map((r) => r.name);
  const probe = contextFor(config, io, actingRegion(config, options));
  return operation(probe, 'resume', async () => {
    const run = await loadRun(probe.deps, runId, regions);
    if (!run) {
      throw new UsageError(
        `--run: no run "${runId}" recorded in any reachable control bucket (${regions.join(', ')})`,
      );
    }
    findInstance(config, run.instanceId);
    // A recovery acts from outside the region it leaves; a failback from anywhere.
    const here = actingRegion(config, options, run.kind === 'recovery' ? run.from : undefined);
    const ctx = here === probe.here ? probe : contextFor(config, io, here);
    const now = ctx.deps.clock.now();
    printRun(ctx.out, run, now);
    ctx.out('');
    if (run.status === 'completed') {
      ctx.out(`nothing to resume: ${run.runId} completed`);
      return EXIT.ok;
    }
    if (run.rolledBack) {
      // A failback rolled back: the recovered instance was unfenced and may have taken writes
      // since the final snapshot, so re-running the shift would drop them. A recovery that kept
      // home (its home returned before the shift) is over: home serves, the copy is stale.
      ctx.err(
        run.kind === 'failback'
          ? `lifeboat resume: ${run.runId} rolled back to ${run.from}, which takes writes again; resuming it would lose them. A new failback is needed.`
          : `lifeboat resume: ${run.runId} kept ${run.from}, which came back before the shift and serves again; its copy in ${run.target ?? 'the target'} is stale. A new outage of ${run.from} starts a new recovery.`,
      );
      return EXIT.failed;
    }
    const next = tableFor(run).steps.find((s) => run.steps[s]?.status !== 'done');
    if (run.status === 'running') {
      ctx.out(
        `note: ${run.runId} is marked running; if another invocation is still driving it, both only repeat idempotent steps`,
      );
    }
    if (!options.approve) {
      ctx.out(`approval needed: re-run with --approve to continue from ${next}`);
      return EXIT.approvalNeeded;
    }
    return driveWithProgress(ctx, run);
  });
}
