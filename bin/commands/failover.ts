import type { InstanceConfig } from '../../shared/config/schema.ts';
import { dnsSpecFor } from '../../shared/domain/recovery/dns-spec.ts';
import { type InstancePlan, planRegionFailure } from '../../shared/domain/recovery/dry-run.ts';
import { startRecovery } from '../../shared/domain/recovery/recovery-run.ts';
import { describeWeights } from '../../shared/domain/recovery/weights.ts';
import { RunStepError } from '../../shared/errors.ts';
import { actingRegion, checkOptions, oneInstance, requiredRegion } from '../cli/args.ts';
import { driveClaim } from '../cli/drive.ts';
import { EXIT } from '../cli/exit-codes.ts';
import type { RecoveryContext, RecoveryVerb } from '../cli/recovery-io.ts';
import { claimantFor, contextFor, operation, refuse } from '../cli/recovery-io.ts';
import { OPTION, type Verb } from '../cli/verb.ts';
import { printPlan } from './plan.ts';

/** An active-active instance's failover: the planned weights, applied and read back. */
async function drain(ctx: RecoveryContext, instance: InstanceConfig, plan: InstancePlan) {
  const after = plan.dns?.after;
  if (!after) throw new RunStepError('drain', 'no planned weights');
  const spec = dnsSpecFor(instance);
  await ctx.deps.dns.applyWeights(spec, after);
  const now = await ctx.deps.dns.readWeights(spec);
  ctx.out(`drained: ${spec.recordName} now ${describeWeights(now)}`);
  return describeWeights(now) === describeWeights(after) ? EXIT.ok : EXIT.failed;
}

/** `lifeboat failover --instance ID --from R [--approve]`: a recovery started by hand. */
export const failoverVerb: RecoveryVerb = async (config, options, io = {}) => {
  checkOptions('failover', options, ['instance', 'from', 'approve', 'from-region']);
  const instance = oneInstance(config, options.instance, 'failover');
  const failed = requiredRegion(config, 'failover', 'from', options.from);
  const here = actingRegion(config, options['from-region'], failed);
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
      return refuse(
        ctx,
        'failover',
        `cannot fail ${instance.id} over out of ${failed}: ${mine?.reason}`,
      );
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
    if (started.outcome === 'not-primary') {
      return refuse(
        ctx,
        'failover',
        `${instance.id} runs in ${started.primary}, not ${failed}: nothing to fail over`,
      );
    }
    return driveClaim(ctx, 'failover', claimant, started, { resumeHint: true });
  });
};

/** The `failover` verb of the command line. */
export const failover: Verb = {
  name: 'failover',
  summary: 'recover an instance out of a region by hand (shows the plan; acts with --approve)',
  details:
    'An active-active instance only has the region drained. The run is claimed as manual:<user>@<host>:<time>.',
  options: [
    OPTION.oneInstance,
    { flags: '--from <region>', description: 'the region to recover out of (required)' },
    OPTION.approve,
    OPTION.fromRegion,
  ],
  needsAws: true,
  run: ({ config, options }) => failoverVerb(config, options),
};
