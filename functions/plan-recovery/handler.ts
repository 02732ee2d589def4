import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type OutageResponse, respondToOutage } from '../../shared/domain/recovery/respond.ts';
import type { RecoveryDeps } from '../../shared/domain/recovery/run-store.ts';
import { validateEvent } from '../../shared/middleware/validate-event.ts';
import { logger } from '../../shared/observability.ts';
import { defaultRecoveryDeps } from '../../shared/runtime/recovery-handler.ts';
import {
  type OutageConfirmed,
  parseOutageConfirmed,
} from '../../shared/schemas/recovery-events.ts';

/** On "Region Outage Confirmed": claim and plan a recovery per instance, or drain active-active ones. */
export async function planRecovery(
  outage: OutageConfirmed,
  deps: RecoveryDeps,
): Promise<{ instances: OutageResponse[] }> {
  const instances = await respondToOutage(deps, outage);
  for (const response of instances)
    logger.info('outage response', { region: outage.region, ...response });
  return { instances };
}

/** The middy-wrapped function, with its dependencies supplied per invocation. */
export function buildPlanRecoveryHandler(getDeps: () => RecoveryDeps) {
  return middy()
    .use(injectLambdaContext(logger))
    .use(validateEvent((event) => parseOutageConfirmed(event, getDeps().config)))
    .handler((event) => planRecovery(event as OutageConfirmed, getDeps()));
}

/** Lambda entry point. */
export const handler = buildPlanRecoveryHandler(() => defaultRecoveryDeps());
