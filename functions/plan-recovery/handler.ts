import type { RecoveryDeps } from '../../shared/domain/recovery/ports.ts';
import { type OutageResponse, respondToOutage } from '../../shared/domain/recovery/respond.ts';
import { logger } from '../../shared/observability.ts';
import { defaultRecoveryDeps } from '../../shared/runtime/function-deps.ts';
import { depsHandler } from '../../shared/runtime/handler.ts';
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
  return depsHandler(
    getDeps,
    (event, deps) => parseOutageConfirmed(event, deps.config),
    planRecovery,
  );
}

/** Lambda entry point. */
export const handler = buildPlanRecoveryHandler(() => defaultRecoveryDeps());
