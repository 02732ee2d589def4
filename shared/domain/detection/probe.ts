import type { InstanceConfig } from '../../config/schema.ts';
import { DetailType } from '../events.ts';
import type { Clock, EventBus } from '../ports.ts';
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

/**
 * Probes every target once, in parallel, and returns one observation each. Every observation
 * of the round carries the round's instant: the detector replays a vantage's history instant by
 * instant, and takes the vantage's cadence from the gaps between instants. Stamped one by one,
 * a round of 200 checks spread over ~50 distinct milliseconds (starting 200 requests takes
 * that long), so the median of the last five gaps was 1–2 ms, the cadence fell back to the
 * interval, and rounds that came 1 s apart on a busy machine never made a steady run: the
 * drill at N = 50 confirmed no outage (docs/benchmarks.md, "Overlapping invocations").
 */
export async function probeRound(input: {
  vantage: string;
  targets: readonly ProbeTarget[];
  probe: HealthProbe;
  clock: Clock;
  timeoutMs: number;
}): Promise<Observation[]> {
  const at = input.clock.now().toISOString();
  return Promise.all(
    input.targets.map(async (target): Promise<Observation> => {
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

/** Summary of one invocation's rounds. */
export interface ProbeSummary {
  vantage: string;
  rounds: number;
  observations: number;
  failures: { target: string; zone: string; instanceId: string; error?: string }[];
}

/** What a minute of probing needs: the targets, the ports, and the detection timing. */
export interface ProbeRunInput {
  vantage: string;
  targets: readonly ProbeTarget[];
  probe: HealthProbe;
  bus: EventBus;
  clock: Clock;
  wait(ms: number): Promise<void>;
  /** detection.intervalSeconds: one round per interval. */
  intervalSeconds: number;
  /** detection.probeTimeoutMs: each check's timeout. */
  timeoutMs: number;
  /** How long one invocation keeps probing: the schedule's period. */
  invocationSeconds: number;
}

/**
 * Probes every target from one vantage, one round per interval, for one schedule period,
 * publishing each round's observations as "Health Observed". EventBridge schedules fire at most
 * once a minute, so for shorter intervals one invocation loops (docs/detection.md prices this).
 * Rounds are bounded by time as well as by count, so slow probes never run the invocation past
 * its schedule period (and into the Lambda timeout).
 */
export async function runProbes(input: ProbeRunInput): Promise<ProbeSummary> {
  const interval = input.intervalSeconds;
  const rounds =
    interval >= input.invocationSeconds ? 1 : Math.floor(input.invocationSeconds / interval);
  const summary: ProbeSummary = {
    vantage: input.vantage,
    rounds: 0,
    observations: 0,
    failures: [],
  };
  const deadline = input.clock.now().getTime() + input.invocationSeconds * 1000;
  for (let round = 0; round < rounds; round += 1) {
    const started = input.clock.now().getTime();
    if (round > 0 && started + input.timeoutMs > deadline) break;
    summary.rounds += 1;
    const observations = await probeRound({ ...input, timeoutMs: input.timeoutMs });
    await input.bus.publish([
      { detailType: DetailType.HealthObserved, detail: { vantage: input.vantage, observations } },
    ]);
    summary.observations += observations.length;
    for (const o of observations.filter((x) => !x.ok)) {
      summary.failures.push({
        target: o.target,
        zone: o.zone,
        instanceId: o.instanceId,
        error: o.error,
      });
    }
    if (round < rounds - 1) {
      const elapsed = input.clock.now().getTime() - started;
      await input.wait(Math.max(0, interval * 1000 - elapsed));
    }
  }
  return summary;
}
