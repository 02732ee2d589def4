import type { InstanceConfig } from '../../config/schema.ts';
import type { DnsRecordSpec } from './ports.ts';

/** The DNS record lifeboat manages for an instance: one weighted CNAME per region with an endpoint. */
export function dnsSpecFor(instance: InstanceConfig): DnsRecordSpec {
  const targets: Record<string, string> = {};
  for (const [region, endpoint] of Object.entries(instance.endpoints))
    targets[region] = new URL(endpoint.url).hostname;
  return {
    instanceId: instance.id,
    hostedZoneId: instance.dns.hostedZoneId,
    recordName: instance.dns.recordName,
    ttl: instance.dns.ttl,
    targets,
    ...(instance.dns.healthChecks ? { healthChecks: instance.dns.healthChecks } : {}),
  };
}
