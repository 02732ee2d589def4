import { practiceDeps } from '../../shared/composition.ts';
import { loadConfigFromEnv } from '../../shared/config/load.ts';
import type { InstanceConfig, LifeboatConfig } from '../../shared/config/schema.ts';
import {
  type PracticeDeps,
  type PracticeReport,
  runPractice,
} from '../../shared/domain/recovery/practice.ts';
import { runtimeRegion } from '../../shared/runtime/deps.ts';
import { eventHandler } from '../../shared/runtime/handler.ts';
import { parseInstanceScheduleEvent } from '../../shared/schemas/instance-schedule.ts';

/** Validates the event and checks the instance is configured for scheduled practice. */
export function parsePracticeEvent(event: unknown, config: LifeboatConfig): InstanceConfig {
  return parseInstanceScheduleEvent(event, config, {
    eventKind: 'practice',
    setting: 'practice.schedule',
    configured: (instance) => Boolean(instance.practice),
  });
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
