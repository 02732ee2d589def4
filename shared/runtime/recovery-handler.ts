import { CHAIN_TRIGGERS, FUNCTIONS, type StepFunction } from '../domain/events.ts';
import type { RecoveryDeps } from '../domain/recovery/ports.ts';
import { runRecoveryStep } from '../domain/recovery/recovery-run.ts';
import { logger } from '../observability.ts';
import { parseChainEvent } from '../schemas/recovery-events.ts';
import { eventHandler } from './handler.ts';

export { defaultRecoveryDeps } from './function-deps.ts';

/**
 * The three chain steps after planning share one shape: validate the previous step's event
 * (the function's trigger in the event catalog), run this step of the recorded run, and let
 * the step emit the next event.
 */
export function buildStepHandler(fn: StepFunction, getDeps: () => RecoveryDeps) {
  const { step } = FUNCTIONS[fn];
  return eventHandler(
    (event) => parseChainEvent(event, CHAIN_TRIGGERS[fn], getDeps().config),
    async (trigger, context) => {
      const deps = getDeps();
      // Lambda's clock for this invocation, so a long step stops in time (none locally). The
      // deps are extended, not copied: they may be lazily built or wrapped (tests' tripwires).
      const remaining = context?.getRemainingTimeInMillis;
      const budgeted: RecoveryDeps =
        typeof remaining === 'function'
          ? Object.create(deps, { workBudgetMs: { value: () => remaining.call(context) } })
          : deps;
      const run = await runRecoveryStep(budgeted, trigger.runId, step, trigger.claimSet);
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
    },
  );
}
