import { z } from 'zod';
import { restoreTestInput } from '../../shared/composition.ts';
import { findInstance, loadConfigFromEnv } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import {
  type RestoreTestInput,
  type RestoreTestResult,
  runRestoreTest,
} from '../../shared/domain/snapshot/restore-test.ts';
import { EventValidationError } from '../../shared/errors.ts';
import { eventHandler } from '../../shared/runtime/handler.ts';
import { firstProblem } from '../../shared/validation.ts';

/** The scheduled event: one rule per instance with `snapshot.restoreTest`, its id as input. */
const RestoreTestEventSchema = z.object({ instanceId: z.string().min(1) });

/** Validates the event and checks the instance is configured for restore tests. */
export function parseRestoreTestEvent(event: unknown, config: LifeboatConfig): string {
  const parsed = RestoreTestEventSchema.safeParse(event);
  if (!parsed.success) {
    const { field, message } = firstProblem(parsed.error);
    throw new EventValidationError('restore test', field, message, { cause: parsed.error });
  }
  const instance = findInstance(config, parsed.data.instanceId);
  if (!instance.snapshot.restoreTest) {
    throw new EventValidationError(
      'restore test',
      'instanceId',
      `${instance.id} has no snapshot.restoreTest schedule`,
    );
  }
  return instance.id;
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
