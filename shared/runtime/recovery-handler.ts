import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { recoveryDeps } from '../composition.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../config/load.ts';
import { CHAIN_TRIGGERS, FUNCTIONS, type StepFunction } from '../domain/events.ts';
import { runRecoveryStep } from '../domain/recovery/recovery-run.ts';
import type { RecoveryDeps } from '../domain/recovery/run-store.ts';
import { validateEvent } from '../middleware/validate-event.ts';
import { logger } from '../observability.ts';
import { type ChainTrigger, parseChainEvent } from '../schemas/recovery-events.ts';

const cache = new Map<string, RecoveryDeps>();

/** The recovery chain's real ports, built on first use and cached per config path. */
export function defaultRecoveryDeps(env: NodeJS.ProcessEnv = process.env): RecoveryDeps {
  const path = env.LIFEBOAT_CONFIG ?? DEFAULT_CONFIG_PATH;
  let deps = cache.get(path);
  if (!deps) {
    const config = loadConfig(path);
    deps = recoveryDeps(
      config,
      env.LIFEBOAT_REGION ?? env.AWS_REGION ?? config.regions[0]?.name ?? 'us-east-1',
    );
    cache.set(path, deps);
  }
  return deps;
}

/**
 * The three chain steps after planning share one shape: validate the previous step's event
 * (the function's trigger in the event catalog), run this step of the recorded run, and let
 * the step emit the next event.
 */
export function buildStepHandler(fn: StepFunction, getDeps: () => RecoveryDeps) {
  const { step } = FUNCTIONS[fn];
  const triggeredBy = CHAIN_TRIGGERS[fn];
  return middy()
    .use(injectLambdaContext(logger))
    .use(validateEvent((event) => parseChainEvent(event, triggeredBy, getDeps().config)))
    .handler(async (event) => {
      const trigger = event as ChainTrigger;
      const run = await runRecoveryStep(getDeps(), trigger.runId, step, trigger.claimSet);
      logger.info(`recovery step ${step} done`, {
        runId: run.runId,
        target: run.target,
        status: run.status,
      });
      return {
        runId: run.runId,
        step,
        status: run.status,
        target: run.target,
        metrics: run.metrics,
      };
    });
}
