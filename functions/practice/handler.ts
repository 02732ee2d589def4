import { z } from 'zod';
import { practiceDeps } from '../../shared/composition.ts';
import { findInstance, loadConfigFromEnv } from '../../shared/config/load.ts';
import type { InstanceConfig, LifeboatConfig } from '../../shared/config/schema.ts';
import {
  type PracticeDeps,
  type PracticeReport,
  runPractice,
} from '../../shared/domain/recovery/practice.ts';
import { EventValidationError } from '../../shared/errors.ts';
import { runtimeRegion } from '../../shared/runtime/deps.ts';
import { eventHandler } from '../../shared/runtime/handler.ts';
import { firstProblem } from '../../shared/validation.ts';

/** The scheduled event: one rule per instance with `practice.schedule`, its id as input. */
const PracticeEventSchema = z.object({ instanceId: z.string().min(1) });

/** Validates the event and checks the instance is configured for scheduled practice. */
export function parsePracticeEvent(event: unknown, config: LifeboatConfig): InstanceConfig {
  const parsed = PracticeEventSchema.safeParse(event);
  if (!parsed.success) {
    const { field, message } = firstProblem(parsed.error);
    throw new EventValidationError('practice', field, message, { cause: parsed.error });
  }
  const instance = findInstance(config, parsed.data.instanceId);
  if (!instance.practice) {
    throw new EventValidationError(
      'practice',
      'instanceId',
      `${instance.id} has no practice.schedule`,
    );
  }
  return instance;
}

/** Runs one practice of the instance (shared/domain/recovery/practice.ts). */
export function practice(
  instance: InstanceConfig,
  depsFor: (instance: InstanceConfig) => PracticeDeps,
): Promise<PracticeReport> {
  return runPractice(depsFor(instance), instance, { by: 'schedule' });
}

/** The middy-wrapped function, with its config and ports supplied per invocation. */
export function buildPracticeHandler(
  getConfig: () => LifeboatConfig,
  depsFor: (instance: InstanceConfig) => PracticeDeps = (instance) =>
    practiceDeps(getConfig(), instance, runtimeRegion(getConfig())),
) {
  return eventHandler(
    (event) => parsePracticeEvent(event, getConfig()),
    (instance) => practice(instance, depsFor),
  );
}

/** Lambda entry point: the per-instance practice schedule. */
export const handler = buildPracticeHandler(() => loadConfigFromEnv());
