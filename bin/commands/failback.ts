import type { InstanceConfig } from '../../shared/config/schema.ts';
import { applyActiveReturn, planActiveReturn } from '../../shared/domain/recovery/active-return.ts';
import { dnsSpecFor } from '../../shared/domain/recovery/dns-spec.ts';
import { startFailback } from '../../shared/domain/recovery/failback-run.ts';
import type { RecoveryRun } from '../../shared/domain/recovery/run.ts';
import { canarySteps, describeWeights } from '../../shared/domain/recovery/weights.ts';
import {
  describeRunState,
  readDns,
  whereabouts,
} from '../../shared/domain/recovery/whereabouts.ts';
import { actingRegion, checkOptions, oneInstance } from '../cli/args.ts';
import { driveClaim } from '../cli/drive.ts';
import { EXIT } from '../cli/exit-codes.ts';
import type { RecoveryContext, RecoveryVerb } from '../cli/recovery-io.ts';
import { claimantFor, contextFor, operation, refuse } from '../cli/recovery-io.ts';
import { OPTION, type Verb } from '../cli/verb.ts';

/**
 * Failback of an active-active instance: every drained active region that answers its health
 * check gets its share back step by step, as the detector's "Region Recovered" does (which is
 * what undoes a drain the detector made; this undoes one made by hand). A region whose health
 * regresses during its steps is drained again.
 */
async function returnActiveRegions(
  ctx: RecoveryContext,
  instance: InstanceConfig,
  approve: boolean | undefined,
): Promise<number> {
  const active = instance.activeRegions ?? [];
  const spec = dnsSpecFor(instance);
  const current = await ctx.deps.dns.readWeights(spec);
  const drained = active.filter((r) => (current[r] ?? 0) === 0);
  ctx.out(`lifeboat failback plan for ${instance.id} (active-active in ${active.join(', ')})`);
  ctx.out(`  dns ${spec.recordName} now: ${describeWeights(current)}`);
  if (drained.length === 0) {
    return refuse(
      ctx,
      'failback',
      `nothing to fail back: every active region of ${instance.id} serves`,
    );
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
    return refuse(ctx, 'failback', 'no drained region is healthy yet');
  }
  const plans = planActiveReturn(instance, drained, ready, ctx.config.failback.canaryPercents);
  for (const plan of plans) {
    ctx.out(`  return ${plan.region}: ${plan.steps.map(describeWeights).join('  ->  ')}`);
  }
  ctx.out('');
  if (!approve) {
    ctx.out('approval needed: re-run with --approve to execute');
    return EXIT.approvalNeeded;
  }
  for (const plan of plans) {
    const outcome = await applyActiveReturn(ctx.deps, instance, plan, (weights) =>
      ctx.out(`  ${describeWeights(weights)}  ${plan.region} healthy`),
    );
    if (!outcome.ok) {
      return refuse(
        ctx,
        'failback',
        `${plan.region} regressed at ${describeWeights(outcome.regressedAt)} (${outcome.error}): drained again, ${describeWeights(outcome.drainedAgain)}`,
      );
    }
  }
  ctx.out(
    `returned: ${spec.recordName} now ${describeWeights(await ctx.deps.dns.readWeights(spec))}`,
  );
  return EXIT.ok;
}

/** The failback's plan, step by step, and the home instance's readiness; true when it is healthy. */
async function showFailbackPlan(
  ctx: RecoveryContext,
  instance: InstanceConfig,
  run: RecoveryRun & { target: string },
): Promise<boolean> {
  const home = instance.homeRegion;
  const from = run.target;
  const spec = dnsSpecFor(instance);
  const dns = await readDns(ctx.deps, spec);
  const policy = ctx.config.failback;
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
  return health.ok;
}

/** `lifeboat failback --instance ID [--approve]`: bring a recovered instance home by hand. */
export const failbackVerb: RecoveryVerb = async (config, options, io = {}) => {
  checkOptions('failback', options, ['instance', 'approve', 'from-region']);
  const instance = oneInstance(config, options.instance, 'failback');
  const here = actingRegion(config, options['from-region']);
  const ctx = contextFor(config, io, here);
  return operation(ctx, 'failback', async () => {
    const home = instance.homeRegion;
    const where = await whereabouts(ctx.deps, instance);
    if (where.state === 'active-active') return returnActiveRegions(ctx, instance, options.approve);
    const run = where.run;
    if (where.state !== 'recovered' || !run?.target) {
      const why =
        where.state === 'home'
          ? `it already serves from ${home}`
          : run
            ? `its latest run ${run.runId} (${run.kind}) ${describeRunState(run)}; see lifeboat resume --run ${run.runId}`
            : `its state is ${where.state}`;
      return refuse(ctx, 'failback', `nothing to fail back for ${instance.id}: ${why}`);
    }
    if (run.from !== home) {
      return refuse(
        ctx,
        'failback',
        `${instance.id} was recovered out of ${run.from}, not its home ${home}`,
      );
    }
    if (!(await showFailbackPlan(ctx, instance, { ...run, target: run.target }))) {
      // Fencing first and failing at verify would leave the instance refusing writes for nothing.
      return refuse(ctx, 'failback', `${home} is not healthy yet; not failing back`);
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
    if (started.outcome === 'nothing-to-do') {
      return refuse(ctx, 'failback', `nothing to do: ${started.reason}`);
    }
    return driveClaim(ctx, 'failback', claimant, started);
  });
};

/** The `failback` verb of the command line. */
export const failback: Verb = {
  name: 'failback',
  summary: 'bring a recovered instance home by hand (canary steps, rollback; acts with --approve)',
  details:
    'An active-active instance gets every drained region that is healthy back, step by step.',
  options: [OPTION.oneInstance, OPTION.approve, OPTION.fromRegion],
  needsAws: true,
  run: ({ config, options }) => failbackVerb(config, options),
};
