import { decideApproval } from '../../shared/domain/recovery/approval.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { operation, type RecoveryVerb } from '../cli/recovery-io.ts';
import type { Verb } from '../cli/verb.ts';
import { APPROVAL_OPTIONS, approvalRequest } from './approve.ts';

/**
 * `lifeboat reject --run RUN_ID [--by NAME]`: ends a recovery that awaits approval. Nothing had
 * changed (no restore, no DNS change); the room it reserved is given back, and the run is
 * recorded failed at `approval` with who rejected it.
 */
export const rejectVerb: RecoveryVerb = async (config, options, io = {}) => {
  const { runId, ctx, by } = approvalRequest('reject', config, options, io);
  return operation(ctx, 'reject', async () => {
    const { run, released } = await decideApproval(ctx.deps, runId, 'rejected', by);
    ctx.out(`${runId}: rejected by ${by} at ${run.approval?.at}`);
    ctx.out(
      `  ${run.instanceId} stays in ${run.from}; nothing restored, DNS untouched; ${released.length ? `released slot(s) ${released.join(', ')} in ${run.target}` : 'no slot to release'}`,
    );
    return EXIT.ok;
  });
};

/** The `reject` verb of the command line. */
export const reject: Verb = {
  name: 'reject',
  summary: 'reject a recovery that awaits approval: it ends, its room released, nothing changed',
  details: 'Exits 1 when the run cannot be rejected (none asked, answered already).',
  options: APPROVAL_OPTIONS,
  needsAws: true,
  run: ({ config, options }) => rejectVerb(config, options),
};
