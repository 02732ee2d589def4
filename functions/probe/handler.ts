import { type ProbeSummary, probeTargets, runProbes } from '../../shared/domain/detection/probe.ts';
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
  const summary = await runProbes({
    vantage: deps.region,
    targets: probeTargets(deps.config.instances),
    probe: deps.probe,
    bus: deps.bus,
    clock: deps.clock,
    wait: deps.wait,
    intervalSeconds: deps.config.detection.intervalSeconds,
    timeoutMs: deps.config.detection.probeTimeoutMs,
    invocationSeconds: deps.invocationSeconds,
  });
  if (summary.failures.length > 0) logger.warn('probe failures', { ...summary });
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
