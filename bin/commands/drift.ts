import { instanceStore } from '../../shared/composition.ts';
import { findRegion } from '../../shared/config/load.ts';
import type { InstanceConfig, LifeboatConfig } from '../../shared/config/schema.ts';
import { compareRegions, type DriftReport } from '../../shared/domain/drift.ts';
import { UsageError } from '../../shared/errors.ts';
import { oneInstance } from '../cli/args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { OPTION, regionOption, type Verb } from '../cli/verb.ts';

/** Options of `lifeboat drift`. */
export interface DriftOptions {
  instance?: string[];
  region?: string[];
  json?: boolean;
}

/**
 * The regions an instance's copies live in: its active regions when it runs active-active,
 * else home and every region with an endpoint (where a recovery puts a copy).
 */
function defaultRegions(instance: InstanceConfig): string[] {
  if (instance.critical && instance.activeRegions) return instance.activeRegions;
  return [
    instance.homeRegion,
    ...Object.keys(instance.endpoints).filter((r) => r !== instance.homeRegion),
  ];
}

/** Renders a drift report for a person. */
export function renderDrift(report: DriftReport): string[] {
  const lines = [
    `${report.instanceId}: ${report.inSync ? 'in sync' : 'DRIFT'} across ${report.regions.join(', ')} (compared with ${report.reference})`,
  ];
  for (const d of report.documents) {
    const parts = [
      d.differs.length ? `differs in ${d.differs.join(', ')}` : '',
      d.missing.length ? `missing in ${d.missing.join(', ')}` : '',
      d.extra.length ? `only in ${d.extra.join(', ')}` : '',
    ].filter(Boolean);
    lines.push(`  ${d.key}: ${parts.join('; ')}`);
  }
  for (const u of report.unreachable) lines.push(`  ${u.region}: unreadable (${u.error})`);
  return lines;
}

/** `lifeboat drift --instance ID [--region R]…`: exits 1 when the regions differ. */
export async function driftVerb(config: LifeboatConfig, options: DriftOptions): Promise<number> {
  const instance = oneInstance(config, options.instance, 'drift');
  const regions = (options.region?.length ? options.region : defaultRegions(instance)).map(
    (r) => findRegion(config, r).name,
  );
  if (new Set(regions).size < 2) {
    throw new UsageError(
      `drift: needs two regions to compare, got ${regions.join(', ') || 'none'} (use --region R twice)`,
    );
  }
  const report = await compareRegions(
    instance.id,
    regions.map((region) => ({ region, store: instanceStore(config, region) })),
  );
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else for (const line of renderDrift(report)) console.log(line);
  return report.inSync ? EXIT.ok : EXIT.failed;
}

/** The `drift` verb of the command line. */
export const drift: Verb = {
  name: 'drift',
  summary: "compare an instance's documents across its regions, naming each that differs",
  details:
    'Default regions: the active regions of an active-active instance, else home and every region with an endpoint. Exits 1 on drift.',
  options: [
    OPTION.oneInstance,
    regionOption('a region to compare (repeatable; first is the reference)', { repeatable: true }),
    OPTION.json,
  ],
  needsAws: true,
  run: ({ config, options }) => driftVerb(config, options as DriftOptions),
};
