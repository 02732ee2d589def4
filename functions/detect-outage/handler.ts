import { setTimeout as sleep } from 'node:timers/promises';
import { detect, type RegionDetection } from '../../shared/domain/detection/detect.ts';
import type { Signal } from '../../shared/domain/detection/region-health.ts';
import { confirmedOutagePoints, observationPoints } from '../../shared/domain/metrics.ts';
import { logger } from '../../shared/observability.ts';
import { type DetectorDeps, defaultDetectorDeps } from '../../shared/runtime/function-deps.ts';
import { depsHandler } from '../../shared/runtime/handler.ts';
import { parseDetectorEvent } from '../../shared/schemas/detection-events.ts';

export {
  type DetectorDeps,
  defaultDetectorDeps,
  detectorDepsFor,
} from '../../shared/runtime/function-deps.ts';

/** Full jitter, capped at one second: concurrent detectors stop colliding quickly. */
const jitteredBackoff = (attempt: number) =>
  sleep(Math.random() * Math.min(1000, 20 * 2 ** attempt)).then(() => undefined);

/** Folds one signal into the durable region state and publishes what it confirms. */
export async function detectOutage(
  signals: readonly Signal[],
  deps: DetectorDeps = defaultDetectorDeps(),
): Promise<{ regions: RegionDetection[] }> {
  if (signals.length === 0) return { regions: [] };
  // Which vantages are heard here: the "vantage silent" alarm of this region's stack.
  const vantages = signals.flatMap((s) =>
    s.kind === 'observation' ? [s.observation.vantage] : [],
  );
  if (vantages.length > 0) deps.metrics?.record(observationPoints(vantages, deps.region));
  const regions = await detect({
    signals,
    regions: deps.config.regions.map((r) => r.name),
    store: deps.store,
    bus: deps.bus,
    settings: deps.settings,
    backoff: jitteredBackoff,
  });
  for (const { region, published } of regions)
    for (const { detailType, eventId, detail } of published)
      logger.warn(detailType, { region, eventId, detail });
  deps.metrics?.record(confirmedOutagePoints(regions));
  return { regions };
}

/** The middy-wrapped function, with its dependencies supplied per invocation. */
export function buildDetectOutageHandler(getDeps: () => DetectorDeps) {
  return depsHandler(
    getDeps,
    (event, deps) => parseDetectorEvent(event, deps.config),
    detectOutage,
  );
}

/** Lambda entry point: "Health Observed", CloudWatch alarm changes, AWS Health events, ticks. */
export const handler = buildDetectOutageHandler(() => defaultDetectorDeps());
