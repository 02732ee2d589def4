import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type RecoveryResponse, respondToRecovery } from '../../shared/domain/recovery/respond.ts';
import type { RecoveryDeps } from '../../shared/domain/recovery/run-store.ts';
import { validateEvent } from '../../shared/middleware/validate-event.ts';
import { logger } from '../../shared/observability.ts';
import { defaultRecoveryDeps } from '../../shared/runtime/recovery-handler.ts';
import {
  parseRegionRecovered,
  type RegionRecovered,
} from '../../shared/schemas/recovery-events.ts';

/** On "Region Recovered": fail instances back home, return active-active traffic gradually. */
export async function failback(
  recovered: RegionRecovered,
  deps: RecoveryDeps,
): Promise<{ instances: RecoveryResponse[] }> {
  const instances = await respondToRecovery(deps, recovered);
  for (const response of instances)
    logger.info('recovery response', { region: recovered.region, ...response });
  return { instances };
}

/** The middy-wrapped function, with its dependencies supplied per invocation. */
export function buildFailbackHandler(getDeps: () => RecoveryDeps) {
  return middy()
    .use(injectLambdaContext(logger))
    .use(validateEvent((event) => parseRegionRecovered(event, getDeps().config)))
    .handler((event) => failback(event as RegionRecovered, getDeps()));
}

/** Lambda entry point. */
export const handler = buildFailbackHandler(() => defaultRecoveryDeps());
