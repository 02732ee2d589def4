import { hostname, userInfo } from 'node:os';
import { recoveryDeps } from '../../shared/composition.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import type { RecoveryDeps } from '../../shared/domain/recovery/ports.ts';
import type { RecoveryRun } from '../../shared/domain/recovery/run.ts';
import { loadRun } from '../../shared/domain/recovery/run-store.ts';
import { describeRunState } from '../../shared/domain/recovery/whereabouts.ts';
import { LifeboatError, UsageError } from '../../shared/errors.ts';
import { actingRegion } from './args.ts';
import { EXIT } from './exit-codes.ts';

/**
 * What the recovery verbs (`plan`, `failover`, `failback`, `status`, `resume`) share: their
 * options, their surroundings (ports, output, operator) and how a failed operation is told.
 * Every verb that changes something shows its plan first and acts only with `--approve`, so a
 * typo costs an exit code, not an incident.
 */

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

/** A recovery verb's surroundings, once it knows the region it acts from. */
export interface RecoveryContext {
  config: LifeboatConfig;
  here: string;
  deps: RecoveryDeps;
  out: (line: string) => void;
  err: (line: string) => void;
  operator: string;
}

/** A recovery verb's signature: the CLI calls it, and so do the tests. */
export type RecoveryVerb = (
  config: LifeboatConfig,
  options: RecoveryVerbOptions,
  io?: RecoveryVerbIo,
) => Promise<number>;

/** The context for acting from `here`: the config's ports with the io's laid over them. */
export function contextFor(
  config: LifeboatConfig,
  io: RecoveryVerbIo,
  here: string,
): RecoveryContext {
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

/**
 * Runs the part of a verb that talks to AWS. Argument errors (exit 2) pass through; anything
 * else is an operation that failed (exit 1), reported in one line.
 */
export async function operation(
  ctx: RecoveryContext,
  verb: string,
  work: () => Promise<number>,
): Promise<number> {
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

/** The run `runId` as the control buckets of every configured region that answers record it. */
export function storedRun(ctx: RecoveryContext, runId: string): Promise<RecoveryRun | undefined> {
  return loadRun(
    ctx.deps,
    runId,
    ctx.config.regions.map((r) => r.name),
  );
}

/**
 * The context to act on a stored run from: `--from-region` (`fromRegion`) or the first region
 * that is not `leaving` (the region a recovery leaves, which it never acts from); `probe` itself
 * when that is where it already stands.
 */
export function contextForRun(
  probe: RecoveryContext,
  io: RecoveryVerbIo,
  fromRegion: string | undefined,
  leaving: string | undefined,
): RecoveryContext {
  const here = actingRegion(probe.config, fromRegion, leaving);
  return here === probe.here ? probe : contextFor(probe.config, io, here);
}

/** The claimant of a run started by hand: `manual:<user>@<host>:<timestamp>`. */
export function claimantFor(ctx: RecoveryContext): string {
  return `manual:${ctx.operator}:${ctx.deps.clock.now().toISOString()}`;
}

/** Who owns a generation the operator lost the claim for, and how its run stands. */
export async function describeOwner(
  ctx: RecoveryContext,
  runId: string,
  claimant?: string,
): Promise<string> {
  const owner = await storedRun(ctx, runId);
  const who = claimant ?? owner?.claimant ?? 'unknown claimant';
  const state = owner
    ? `the ${owner.kind} ${describeRunState(owner)}`
    : 'no run record readable yet';
  return `run ${runId} owns this generation (claimant ${who}; ${state})`;
}

/** "no majority for the claim (r: holder, …); retry when more regions answer". */
export function undecidedClaim(holders: Record<string, string>): string {
  return `no majority for the claim (${Object.entries(holders)
    .map(([r, h]) => `${r}: ${h}`)
    .join(', ')}); retry when more regions answer`;
}

/** Tells why the verb does not act (`lifeboat <verb>: <why>`, then any hints): exit 1. */
export function refuse(ctx: RecoveryContext, verb: string, why: string, ...hints: string[]) {
  ctx.err(`lifeboat ${verb}: ${why}`);
  for (const hint of hints) ctx.err(hint);
  return EXIT.failed;
}
