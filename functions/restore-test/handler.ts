import { restoreTestInput } from '../../shared/composition.ts';
import { findInstance, loadConfigFromEnv } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import {
  type RestoreTestInput,
  type RestoreTestResult,
  runRestoreTest,
} from '../../shared/domain/snapshot/restore-test.ts';
import { eventHandler } from '../../shared/runtime/handler.ts';
import { parseInstanceScheduleEvent } from '../../shared/schemas/instance-schedule.ts';

/** Validates the event and checks the instance is configured for restore tests. */
export function parseRestoreTestEvent(event: unknown, config: LifeboatConfig): string {
  return parseInstanceScheduleEvent(event, config, {
    eventKind: 'restore test',
    setting: 'snapshot.restoreTest schedule',
    configured: (instance) => Boolean(instance.snapshot.restoreTest),
  }).id;
}

/** Runs one restore test of the instance (see shared/domain/snapshot/restore-test.ts). */
export async function restoreTest(
  instanceId: string,
  inputFor: (instanceId: string) => RestoreTestInput,
): Promise<RestoreTestResult> {
  return runRestoreTest(inputFor(instanceId));
}

/** The middy-wrapped function, with its config supplied per invocation. */
export function buildRestoreTestHandler(getConfig: () => LifeboatConfig) {
  return eventHandler(
    (event) => parseRestoreTestEvent(event, getConfig()),
    (instanceId) =>
      restoreTest(instanceId, (id) => restoreTestInput(getConfig(), findInstance(getConfig(), id))),
  );
}

/** Lambda entry point: the per-instance restore-test schedule. */
export const handler = buildRestoreTestHandler(() => loadConfigFromEnv());
