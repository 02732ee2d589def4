import { recoveryDeps } from '../../shared/composition.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { dnsSpecFor } from '../../shared/domain/recovery/dns-spec.ts';
import type { DnsRouting, Weights } from '../../shared/domain/recovery/ports.ts';
import {
  activeActiveWeights,
  describeWeights,
  homeWeights,
} from '../../shared/domain/recovery/weights.ts';
import { UsageError } from '../../shared/errors.ts';
import { OPTION, type Verb } from '../cli/verb.ts';

/** What `lifeboat dns precreate` needs; tests pass their own DNS and output. */
export interface DnsVerbIo {
  dns?: DnsRouting;
  out?: (line: string) => void;
}

/**
 * `lifeboat dns precreate [--approve]`: creates every instance's weighted records (one per
 * region, tied to its health check) before any outage, so failover never depends on creating
 * records during one. Records that already exist are left as they are: their weights are
 * lifeboat's state, not the config's.
 */
export async function dnsVerb(
  config: LifeboatConfig,
  args: string[],
  options: { approve?: boolean },
  io: DnsVerbIo = {},
): Promise<number> {
  const [action] = args;
  if (action !== 'precreate')
    throw new UsageError(`dns: expected "precreate", got ${action ?? 'nothing'}`);
  const dns = io.dns ?? recoveryDeps(config, config.regions[0]?.name ?? 'us-east-1').dns;
  const out = io.out ?? ((line: string) => console.log(line));
  const missing: { instanceId: string; weights: Weights; spec: ReturnType<typeof dnsSpecFor> }[] =
    [];
  for (const instance of config.instances) {
    const spec = dnsSpecFor(instance);
    const regions = Object.keys(spec.targets);
    const current = await dns.readWeights(spec);
    const absent = regions.filter((r) => current[r] === undefined);
    if (absent.length === 0) {
      out(
        `${instance.id}: ${spec.recordName} has a record per region (${describeWeights(current)})`,
      );
      continue;
    }
    const weights = instance.critical
      ? Object.fromEntries(
          regions.map((r) => [
            r,
            activeActiveWeights(instance.activeRegions ?? [], new Set())[r] ?? 0,
          ]),
        )
      : homeWeights(regions, instance.homeRegion);
    const checks = Object.keys(spec.healthChecks ?? {}).length;
    out(
      `${instance.id}: ${spec.recordName} lacks ${absent.join(', ')}; would create ${describeWeights(weights)}` +
        (checks
          ? ` with ${checks} health check(s)`
          : ' (no health checks configured: dns.healthChecks)'),
    );
    missing.push({ instanceId: instance.id, weights, spec });
  }
  if (missing.length === 0) return 0;
  if (!options.approve) {
    out('re-run with --approve to create them');
    return 3;
  }
  for (const { instanceId, spec, weights } of missing) {
    const result = await dns.applyWeights(spec, weights);
    out(
      `${instanceId}: created (change ${result.changeId}, ${result.insync ? 'INSYNC' : 'pending'})`,
    );
  }
  return 0;
}

/** The `dns` verb of the command line. */
export const dns: Verb = {
  name: 'dns',
  args: '[action]',
  summary: "precreate: create every instance's weighted records before any outage",
  details:
    "Records that exist are left as they are: their weights are lifeboat's state, not the config's.",
  options: [OPTION.approve],
  needsAws: true,
  run: ({ config, args, options }) => dnsVerb(config, args, options),
};
