import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { decideApproval, describeApproval } from '../../shared/domain/recovery/approval.ts';
import { UsageError } from '../../shared/errors.ts';
import { actingRegion, checkOptions, requiredRunId } from '../cli/args.ts';
import { driveWithProgress, printRun } from '../cli/drive.ts';
import { EXIT } from '../cli/exit-codes.ts';
import type {
  RecoveryContext,
  RecoveryVerb,
  RecoveryVerbIo,
  RecoveryVerbOptions,
} from '../cli/recovery-io.ts';
import { contextFor, contextForRun, operation, refuse, storedRun } from '../cli/recovery-io.ts';
import { OPTION, type Verb, type VerbOption } from '../cli/verb.ts';

/** `--by NAME`: who answers, recorded in the run and its report (default: the caller). */
export function approver(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'string' ||
    !/^[^\s\p{C}][^\p{C}]{0,127}$/u.test(value) ||
    value.trim() !== value
  )
    throw new UsageError(
      '--by: give a name of 1-128 printable characters, without leading or trailing spaces',
    );
  return value;
}

/** The options `approve` and `reject` share. */
export const APPROVAL_OPTIONS: readonly VerbOption[] = [
  { flags: '--run <run-id>', description: 'the run awaiting approval (required)' },
  { flags: '--by <name>', description: 'who answers (default: you, as user@host)' },
  OPTION.fromRegion,
];

/** What `approve` and `reject` start with: the run asked about, where to act from, who answers. */
export function approvalRequest(
  verb: 'approve' | 'reject',
  config: LifeboatConfig,
  options: RecoveryVerbOptions,
  io: RecoveryVerbIo,
): { runId: string; ctx: RecoveryContext; by: string } {
  checkOptions(verb, options, ['run', 'by', 'from-region']);
  const runId = requiredRunId(verb, options.run);
  const ctx = contextFor(config, io, actingRegion(config, options['from-region']));
  return { runId, ctx, by: approver(options.by, ctx.operator) };
}

/**
 * `lifeboat approve --run RUN_ID [--by NAME]`: approves a recovery that `recovery.approval:
 * required` holds, then drives its remaining steps here (restore, verify, shift), as `resume`
 * does. Should this process die, the sweeper re-sends the restore's trigger.
 */
export const approveVerb: RecoveryVerb = async (config, options, io = {}) => {
  const { runId, ctx: probe, by } = approvalRequest('approve', config, options, io);
  return operation(probe, 'approve', async () => {
    const stored = await storedRun(probe, runId);
    if (!stored)
      return refuse(probe, 'approve', `no run "${runId}" in any reachable control bucket`);
    // A recovery acts from outside the region it leaves.
    const ctx = contextForRun(probe, io, options['from-region'], stored.from);
    const { run } = await decideApproval(ctx.deps, runId, 'approved', by);
    ctx.out(`${runId}: ${describeApproval(run, ctx.deps.clock.now())}`);
    printRun(ctx.out, run, ctx.deps.clock.now());
    ctx.out('');
    const code = await driveWithProgress(ctx, run);
    return code === EXIT.ok ? EXIT.ok : EXIT.failed;
  });
};

/** The `approve` verb of the command line. */
export const approve: Verb = {
  name: 'approve',
  summary: 'approve a recovery that awaits approval, and drive it to the end',
  details:
    'The run (see `lifeboat status`) was planned with recovery.approval: required. Exits 1 when the run cannot be approved (none asked, answered already) or a step fails.',
  options: APPROVAL_OPTIONS,
  needsAws: true,
  run: ({ config, options }) => approveVerb(config, options),
};
