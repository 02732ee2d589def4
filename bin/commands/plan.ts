import { planRegionFailure, type RegionFailurePlan } from '../../shared/domain/recovery/dry-run.ts';
import { actingRegion, checkOptions, requiredRegion, someInstances } from '../cli/args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { contextFor, operation, type RecoveryVerb } from '../cli/recovery-io.ts';
import { formatAge, table, weightsLine } from '../cli/render.ts';
import { OPTION, regionOption, type Verb } from '../cli/verb.ts';

/** Prints a dry run as `plan` and `failover` show it: a table, then notes per instance. */
export function printPlan(out: (line: string) => void, plan: RegionFailurePlan): void {
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

/** `lifeboat plan --region R [--instance ID]… [--json]`: a dry run of R failing now. */
export const planVerb: RecoveryVerb = async (config, options, io = {}) => {
  checkOptions('plan', options, ['region', 'instance', 'json', 'from-region']);
  const failed = requiredRegion(config, 'plan', 'region', options.region);
  const only = someInstances(config, options.instance);
  const here = actingRegion(config, options['from-region'], failed);
  const ctx = contextFor(config, io, here);
  return operation(ctx, 'plan', async () => {
    const plan = await planRegionFailure(ctx.deps, failed, here, only);
    if (options.json) ctx.out(JSON.stringify(plan, null, 2));
    else printPlan(ctx.out, plan);
    // A plan that cannot place an instance is a readiness failure worth a non-zero exit.
    return plan.instances.some((p) => p.action === 'blocked') ? EXIT.failed : EXIT.ok;
  });
};

/** The `plan` verb of the command line. */
export const plan: Verb = {
  name: 'plan',
  summary: 'dry run: what a failure of a region would do now; writes nothing',
  details:
    'Exits 1 when some instance it would have to recover has no target or no snapshot: a readiness check for CI.',
  options: [
    regionOption('the region whose failure to plan (required)'),
    OPTION.instance,
    OPTION.json,
    OPTION.fromRegion,
  ],
  needsAws: true,
  run: ({ config, options }) => planVerb(config, options),
};
