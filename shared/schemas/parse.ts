import type { z } from 'zod';
import { EventValidationError } from '../errors.ts';
import { firstProblem } from '../validation.ts';

/** Parses with a zod schema; failure is one `EventValidationError` naming the field. */
export function parseEvent<S extends z.ZodType>(
  schema: S,
  event: unknown,
  eventKind: string,
): z.output<S> {
  const result = schema.safeParse(event);
  if (!result.success) {
    const { field, message } = firstProblem(result.error);
    throw new EventValidationError(eventKind, field, message, { cause: result.error });
  }
  return result.data;
}
