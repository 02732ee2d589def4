import type { InstanceConfig } from '../../config/schema.ts';
import type { Clock } from '../ports.ts';
import type { Observation } from './region-health.ts';

/** One endpoint to probe: an instance's endpoint in one zone of one region. */
export interface ProbeTarget {
  instanceId: string;
  region: string;
  /** The zone, or `*` when the instance publishes only a regional endpoint. */
  zone: string;
  url: string;
}

/** The raw outcome of one HTTP health check. */
export interface ProbeResponse {
  status?: number;
  /** The parsed JSON body, when there is one. */
  body?: unknown;
  error?: string;
  latencyMs: number;
}

/** Port: performs one health check with a timeout. */
export interface HealthProbe {
  check(url: string, timeoutMs: number): Promise<ProbeResponse>;
}

/** Every endpoint of every instance, zone by zone. */
export function probeTargets(instances: readonly InstanceConfig[]): ProbeTarget[] {
  const targets: ProbeTarget[] = [];
  for (const instance of instances) {
    for (const [region, endpoint] of Object.entries(instance.endpoints)) {
      const zones = Object.entries(endpoint.zones);
      if (zones.length === 0)
        targets.push({ instanceId: instance.id, region, zone: '*', url: endpoint.url });
      for (const [zone, url] of zones) targets.push({ instanceId: instance.id, region, zone, url });
    }
  }
  return targets;
}

const healthUrl = (base: string) => `${base.replace(/\/+$/, '')}/health`;

/**
 * An endpoint is healthy only when /health answers 200 and names the instance we asked for:
 * a load balancer's default page or another tenant's instance must not count as up.
 */
export function judge(
  target: ProbeTarget,
  response: ProbeResponse,
): { ok: boolean; error?: string } {
  if (response.error) return { ok: false, error: response.error };
  if (response.status !== 200) return { ok: false, error: `HTTP ${response.status}` };
  const body = response.body as { instanceId?: unknown } | undefined;
  if (body?.instanceId !== undefined && body.instanceId !== target.instanceId) {
    return { ok: false, error: `answered as instance ${String(body.instanceId)}` };
  }
  return { ok: true };
}

/** Probes every target once, in parallel, and returns one observation each. */
export async function probeRound(input: {
  vantage: string;
  targets: readonly ProbeTarget[];
  probe: HealthProbe;
  clock: Clock;
  timeoutMs: number;
}): Promise<Observation[]> {
  return Promise.all(
    input.targets.map(async (target): Promise<Observation> => {
      const at = input.clock.now().toISOString();
      const response = await input.probe.check(healthUrl(target.url), input.timeoutMs);
      const verdict = judge(target, response);
      return {
        vantage: input.vantage,
        target: target.region,
        zone: target.zone,
        instanceId: target.instanceId,
        ok: verdict.ok,
        ...(response.status !== undefined ? { status: response.status } : {}),
        ...(verdict.error ? { error: verdict.error } : {}),
        latencyMs: response.latencyMs,
        at,
      };
    }),
  );
}
