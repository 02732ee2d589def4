import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventValidationError } from '../../../../shared/errors.ts';
import { parseEvent } from '../../../../shared/schemas/parse.ts';
import { firstProblem, formatPath } from '../../../../shared/validation.ts';
import { runs } from '../../support/harness.ts';
import { fieldName } from '../../support/json-paths.ts';

// A schema with nesting, arrays, records and a union: the shapes firstProblem must see through.
const Nested = z.strictObject({
  name: z.string().min(1),
  items: z.array(z.strictObject({ id: z.int(), tags: z.record(z.string(), z.boolean()) })),
  choice: z.union([z.strictObject({ a: z.string() }), z.strictObject({ b: z.number() })]),
});

const pathPart = fc.oneof(fc.nat({ max: 50 }), fc.string({ minLength: 1, maxLength: 8 }));

describe('parseEvent', () => {
  it('throws only EventValidationError, naming a path zod reported, for arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue()), (input) => {
        let thrown: unknown;
        try {
          parseEvent(Nested, input, 'nested');
          return;
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(EventValidationError);
        const error = thrown as EventValidationError;
        expect(error.cause).toBeInstanceOf(z.ZodError);
        const reported = (error.cause as z.ZodError).issues.flatMap((issue) => [
          fieldName(issue.path as (string | number)[]),
          ...(issue.code === 'invalid_union'
            ? issue.errors.flat().map((e) => fieldName([...issue.path, ...e.path] as never))
            : []),
        ]);
        expect(reported).toContain(error.field);
        expect(error.message).toContain(error.field);
      }),
      { numRuns: runs(1000) },
    );
  });

  it('names the deepest problem, so a broken leaf is not hidden behind its parent', () => {
    fc.assert(
      fc.property(fc.nat({ max: 5 }), fc.string({ maxLength: 5 }), (index, tag) => {
        const items = Array.from({ length: index + 1 }, (_, i) => ({
          id: i,
          tags: i === index ? { [tag || 'x']: 'not a boolean' } : {},
        }));
        expect(() => parseEvent(Nested, { name: 'n', items, choice: { a: 'x' } }, 'n')).toThrow(
          expect.objectContaining({ field: fieldName(['items', index, 'tags', tag || 'x']) }),
        );
      }),
      { numRuns: runs(500) },
    );
  });
});

describe('formatPath', () => {
  it('renders any path the way fieldName does', () => {
    fc.assert(
      fc.property(fc.array(pathPart, { maxLength: 8 }), (path) => {
        expect(formatPath(path)).toBe(fieldName(path));
      }),
      { numRuns: runs(2000) },
    );
  });
});

describe('firstProblem', () => {
  it('returns a field and message for any failed parse', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        const result = Nested.safeParse(input);
        fc.pre(!result.success);
        if (result.success) return;
        const { message } = firstProblem(result.error);
        expect(message.length).toBeGreaterThan(0);
      }),
      { numRuns: runs(1000) },
    );
  });
});
