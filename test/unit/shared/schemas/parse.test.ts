import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventValidationError } from '../../../../shared/errors.ts';
import { parseEvent } from '../../../../shared/schemas/parse.ts';

describe('parseEvent', () => {
  const schema = z.object({ detail: z.object({ instanceId: z.string() }) });

  it('returns the parsed value when the event matches', () => {
    expect(parseEvent(schema, { detail: { instanceId: 'a' }, extra: 1 }, 'thing')).toEqual({
      detail: { instanceId: 'a' },
    });
  });

  it('raises one EventValidationError with the zod error as cause when the event does not match', () => {
    let caught: unknown;
    try {
      parseEvent(schema, { detail: {} }, 'thing');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EventValidationError);
    const error = caught as EventValidationError;
    expect(error.eventKind).toBe('thing');
    expect(error.field).toBe('detail.instanceId');
    expect(error.cause).toBeInstanceOf(z.ZodError);
  });
});
