import type { RecoveryDeps } from '../../shared/domain/recovery/ports.ts';
import {
  type RecoveryResponse,
  requestFailbacks,
  respondToFailbackRequest,
} from '../../shared/domain/recovery/respond.ts';
import { logger } from '../../shared/observability.ts';
import { defaultRecoveryDeps } from '../../shared/runtime/function-deps.ts';
import { depsHandler } from '../../shared/runtime/handler.ts';
import {
  type FailbackRequest,
  type FailbackTrigger,
  parseFailbackTrigger,
} from '../../shared/schemas/recovery-events.ts';

/**
 * "Region Recovered": fan out one "Failback Requested" per instance. "Failback Requested": fail
 * that instance back home, or return its active-active traffic gradually.
 */
export async function failback(
  trigger: FailbackTrigger,
  deps: RecoveryDeps,
): Promise<{ requested: FailbackRequest[] } | { instance: RecoveryResponse }> {
  if (trigger.kind === 'region') {
    const requested = await requestFailbacks(deps, trigger.recovered);
    logger.info('failback requested', {
      region: trigger.recovered.region,
      instances: requested.map((r) => r.instanceId),
    });
    return { requested };
  }
  const instance = await respondToFailbackRequest(deps, trigger.request);
  logger.info('recovery response', { region: trigger.request.region, ...instance });
  return { instance };
}

/** The middy-wrapped function, with its dependencies supplied per invocation. */
export function buildFailbackHandler(getDeps: () => RecoveryDeps) {
  return depsHandler(getDeps, (event, deps) => parseFailbackTrigger(event, deps.config), failback);
}

/** Lambda entry point. */
export const handler = buildFailbackHandler(() => defaultRecoveryDeps());
