import { type ProbeSummary, probeTargets, runProbes } from '../../shared/domain/detection/probe.ts';
import { probePoints } from '../../shared/domain/metrics.ts';
import { logger } from '../../shared/observability.ts';
import { defaultProbeDeps, type ProbeDeps } from '../../shared/runtime/function-deps.ts';
import { depsHandler } from '../../shared/runtime/handler.ts';
import { measuredProbe } from '../../shared/runtime/measured-probe.ts';
import { parseScheduleTick } from '../../shared/schemas/schedule-tick.ts';

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
  // Each check's latency and outcome, for the metrics (none measured without a sink).
  const measured = measuredProbe(deps.probe, targets);
  const summary = await runProbes({
    vantage: deps.region,
    targets,
    probe: deps.metrics ? measured.probe : deps.probe,
    bus: deps.bus,
    clock: deps.clock,
    wait: deps.wait,
    intervalSeconds: deps.config.detection.intervalSeconds,
    timeoutMs: deps.config.detection.probeTimeoutMs,
    invocationSeconds: deps.invocationSeconds,
  });
  if (summary.failures.length > 0) logger.warn('probe failures', { ...summary });
  deps.metrics?.record(probePoints(deps.region, measured.samples));
  return summary;
}

/** The middy-wrapped function. */
export function buildProbeHandler(getDeps: () => ProbeDeps) {
  return depsHandler(getDeps, parseScheduleTick, (_tick, deps) => probe(deps));
}

/** Lambda entry point: a schedule tick. */
export const handler = buildProbeHandler(() => defaultProbeDeps());
