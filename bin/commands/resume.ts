import { findInstance, findRegion } from '../../shared/config/load.ts';
import { UsageError } from '../../shared/errors.ts';
import { actingRegion, checkOptions, requiredRunId } from '../cli/args.ts';
import { driveWithProgress, printRun, tableFor } from '../cli/drive.ts';
import { EXIT } from '../cli/exit-codes.ts';
import type { RecoveryVerb } from '../cli/recovery-io.ts';
import { contextFor, contextForRun, operation, refuse, storedRun } from '../cli/recovery-io.ts';
import { OPTION, type Verb } from '../cli/verb.ts';

/** `lifeboat resume --run RUN_ID [--approve]`: show where a run stopped; continue it. */
export const resumeVerb: RecoveryVerb = async (config, options, io = {}) => {
  checkOptions('resume', options, ['run', 'approve', 'from-region']);
  const runId = requiredRunId('resume', options.run);
  if (options['from-region'] !== undefined) findRegion(config, options['from-region']);
  const regions = config.regions.map((r) => r.name);
  const probe = contextFor(config, io, actingRegion(config, options['from-region']));
  return operation(probe, 'resume', async () => {
    const run = await storedRun(probe, runId);
    if (!run) {
      throw new UsageError(
        `--run: no run "${runId}" recorded in any reachable control bucket (${regions.join(', ')})`,
      );
    }
    findInstance(config, run.instanceId);
    // A recovery acts from outside the region it leaves; a failback from anywhere.
    const ctx = contextForRun(
      probe,
      io,
      options['from-region'],
      run.kind === 'recovery' ? run.from : undefined,
    );
    printRun(ctx.out, run, ctx.deps.clock.now());
    ctx.out('');
    if (run.status === 'completed') {
      ctx.out(`nothing to resume: ${run.runId} completed`);
      return EXIT.ok;
    }
    if (run.approval?.decision === 'rejected') {
      return refuse(
        ctx,
        'resume',
        `${run.runId} was rejected by ${run.approval.by}; a rejected run is over`,
      );
    }
    if (run.approval?.requestedAt && !run.approval.decision) {
      return refuse(
        ctx,
        'resume',
        `${run.runId} awaits approval`,
        `answer it with: lifeboat approve --run ${run.runId}  (or lifeboat reject --run ${run.runId})`,
      );
    }
    if (run.rolledBack) {
      // A failback rolled back: the recovered instance was unfenced and may have taken writes
      // since the final snapshot, so re-running the shift would drop them. A recovery that kept
      // home (its home returned before the shift) is over: home serves, the copy is stale.
      return refuse(
        ctx,
        'resume',
        run.kind === 'failback'
          ? `${run.runId} rolled back to ${run.from}, which takes writes again; resuming it would lose them. A new failback is needed.`
          : `${run.runId} kept ${run.from}, which came back before the shift and serves again; its copy in ${run.target ?? 'the target'} is stale. A new outage of ${run.from} starts a new recovery.`,
      );
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
};

/** The `resume` verb of the command line. */
export const resume: Verb = {
  name: 'resume',
  summary: 'show where a run stopped; continue it with --approve',
  details:
    'A run id is <instance>-g<generation>, e.g. petstore-g1 (status and the events name it).',
  options: [
    { flags: '--run <run-id>', description: 'the run to resume (required)' },
    OPTION.approve,
    OPTION.fromRegion,
  ],
  needsAws: true,
  run: ({ config, options }) => resumeVerb(config, options),
};
