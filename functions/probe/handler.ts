import {
  type HealthProbe,
  type ProbeSummary,
  probeTargets,
  runProbes,
} from '../../shared/domain/detection/probe.ts';
import { type ProbeSample, probePoints } from '../../shared/domain/metrics.ts';
import { logger } from '../../shared/observability.ts';
import { defaultProbeDeps, type ProbeDeps } from '../../shared/runtime/function-deps.ts';
import { eventHandler } from '../../shared/runtime/handler.ts';
import { parseEvent } from '../../shared/schemas/parse.ts';
import { ScheduledEventSchema } from '../../shared/schemas/snapshot-trigger.ts';

export {
  defaultProbeDeps,
  type ProbeDeps,
  probeDepsFor,
} from '../../shared/runtime/function-deps.ts';

/**
 * Probes every instance endpoint in every region, from this region, for one schedule period
 * (the rounds and their deadline: shared/domain/detection/probe.ts runProbes).
 */
export async function probe(deps: ProbeDeps = defaultProbeDeps()): Promise<ProbeSummary> {
  const targets = probeTargets(deps.config.instances);
  const byUrl = new Map(targets.map((t) => [t.url, t]));
  const samples: ProbeSample[] = [];
  // Each check's latency and outcome, as the port reports it, for the metrics.
  const measured: HealthProbe = {
    async check(url, timeoutMs) {
      const response = await deps.probe.check(url, timeoutMs);
      // The check's URL is the target's with its health path added.
      const target =
        byUrl.get(url) ??
        targets.find((t) => {
          const base = t.url.replace(/\/+$/, '');
          return url.startsWith(base) && '/?#'.includes(url.charAt(base.length) || '/');
        });
      if (target)
        samples.push({
          instanceId: target.instanceId,
          region: target.region,
          latencyMs: response.latencyMs,
          ok: !response.error && (response.status ?? 0) >= 200 && (response.status ?? 0) < 300,
        });
      return response;
    },
  };
  const summary = await runProbes({
    vantage: deps.region,
    targets,
    probe: deps.metrics ? measured : deps.probe,
    bus: deps.bus,
    clock: deps.clock,
    wait: deps.wait,
    intervalSeconds: deps.config.detection.intervalSeconds,
    timeoutMs: deps.config.detection.probeTimeoutMs,
    invocationSeconds: deps.invocationSeconds,
  });
  if (summary.failures.length > 0) logger.warn('probe failures', { ...summary });
  deps.metrics?.record(probePoints(deps.region, samples));
  return summary;
}

/** The middy-wrapped function. */
export function buildProbeHandler(getDeps: () => ProbeDeps) {
  return eventHandler(
    (event) => parseEvent(ScheduledEventSchema, event, 'schedule'),
    () => probe(getDeps()),
  );
}

/** Lambda entry point: a schedule tick. */
export const handler = buildProbeHandler(() => defaultProbeDeps());
