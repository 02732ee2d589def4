import { setTimeout as sleep } from 'node:timers/promises';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { controlDocuments, eventBus } from '../../shared/composition.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { detect, type RegionDetection } from '../../shared/domain/detection/detect.ts';
import {
  type DetectorSettings,
  detectorSettings,
  type Signal,
} from '../../shared/domain/detection/region-health.ts';
import type { DocumentStore, EventBus } from '../../shared/domain/ports.ts';
import { validateEvent } from '../../shared/middleware/validate-event.ts';
import { logger } from '../../shared/observability.ts';
import { parseDetectorEvent } from '../../shared/schemas/detection-events.ts';

/** What the detector needs from outside; tests pass their own. */
export interface DetectorDeps {
  config: LifeboatConfig;
  region: string;
  settings: DetectorSettings;
  store: DocumentStore;
  bus: EventBus;
}

/** Real adapters: state in this region's control bucket, events on this region's bus. */
export function detectorDepsFor(
  config: LifeboatConfig,
  env: NodeJS.ProcessEnv = process.env,
): DetectorDeps {
  const region = env.LIFEBOAT_REGION ?? env.AWS_REGION ?? config.regions[0]?.name ?? 'us-east-1';
  return {
    config,
    region,
    settings: detectorSettings(config.detection, config.regions.length),
    store: controlDocuments(config, region),
    bus: eventBus(config, region),
  };
}

const cache = new Map<string, DetectorDeps>();

/** Built on first use and cached per config path, like every handler's dependencies. */
export function defaultDetectorDeps(env: NodeJS.ProcessEnv = process.env): DetectorDeps {
  const path = env.LIFEBOAT_CONFIG ?? DEFAULT_CONFIG_PATH;
  let deps = cache.get(path);
  if (!deps) {
    deps = detectorDepsFor(loadConfig(path), env);
    cache.set(path, deps);
  }
  return deps;
}

/** Full jitter, capped at one second: concurrent detectors stop colliding quickly. */
const jitteredBackoff = (attempt: number) =>
  sleep(Math.random() * Math.min(1000, 20 * 2 ** attempt)).then(() => undefined);

/** Folds one signal into the durable region state and publishes what it confirms. */
export async function detectOutage(
  signals: readonly Signal[],
  deps: DetectorDeps = defaultDetectorDeps(),
): Promise<{ regions: RegionDetection[] }> {
  if (signals.length === 0) return { regions: [] };
  const regions = await detect({
    signals,
    regions: deps.config.regions.map((r) => r.name),
    store: deps.store,
    bus: deps.bus,
    settings: deps.settings,
    backoff: jitteredBackoff,
  });
  for (const result of regions) {
    for (const event of result.published) {
      logger.warn(event.detailType, {
        region: result.region,
        eventId: event.eventId,
        detail: event.detail,
      });
    }
  }
  return { regions };
}

/** The middy-wrapped function, with its dependencies supplied per invocation. */
export function buildDetectOutageHandler(getDeps: () => DetectorDeps) {
  return middy()
    .use(injectLambdaContext(logger))
    .use(validateEvent((event) => parseDetectorEvent(event, getDeps().config)))
    .handler((signals) => detectOutage(signals as Signal[], getDeps()));
}

/** Lambda entry point: "Health Observed", CloudWatch alarm changes, AWS Health events, ticks. */
export const handler = buildDetectOutageHandler(() => defaultDetectorDeps());
