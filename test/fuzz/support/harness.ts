import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  fieldName,
  getAt,
  isRecord,
  jsonType,
  matchesAny,
  nested,
  nodePaths,
  objectPaths,
  type Path,
  withDeleted,
  withExtraKey,
  withReplaced,
} from './json-paths.ts';

/**
 * One property-based harness for every parser at lifeboat's edge (events, config, stored
 * documents). Each parser describes its schema's shape once (which fields may be absent,
 * which objects are strict) and the harness derives the mutations from a valid input:
 * wrong types, missing fields, extra keys (prototype-pollution names included), unicode and
 * huge strings, deep nesting, and arbitrary junk.
 *
 * Seeds are left to fast-check so CI explores new inputs on every run; a failure prints the
 * seed and path to replay it (`fc.assert(..., { seed, path })`).
 */

/** Runs per property; FUZZ_SCALE multiplies them (e.g. FUZZ_SCALE=10 for a long soak). */
export function runs(base: number): number {
  const scale = Number(process.env.FUZZ_SCALE ?? 1);
  return Math.max(1, Math.round(base * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

/** What a parse did: the value, or the error it threw. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** How an object in the schema treats keys it does not know. */
export type ObjectMode =
  /** z.strictObject: an unknown key is an error at the object, naming the key. */
  | 'strict'
  /** z.object / z.looseObject: unknown keys are dropped or kept, never an error. */
  | 'loose'
  /** z.record with a value schema: any key, but its value is checked. */
  | 'record'
  /** z.record whose keys must name something configured: an unknown key is an error at it. */
  | 'record-of-known-keys';

/** A parser under test and the shape of what it accepts. */
export interface ParserSpec {
  /** Names the parser in test titles. */
  name: string;
  /** Inputs the parser must accept. Plain JSON-like values (what arrives over the wire). */
  valid: fc.Arbitrary<unknown>;
  /** Runs the parser; may be async (stored-document readers are). */
  parse(input: unknown): unknown;
  /** Checks the parsed result against the input (the round trip). Throw or `expect` to fail. */
  check(input: unknown, output: unknown): void;
  /** The project's validation error for this parser. */
  isValidationError(error: unknown): boolean;
  /** The field a validation error names, as `fieldName` renders paths. */
  fieldOf(error: unknown): string;
  /** Where the error explains itself, if not in `message` (e.g. an integrity problem's detail). */
  messageOf?(error: unknown): string;
  /** Fields that may be absent (defaults or optional), as `matches` patterns. */
  optional: readonly string[];
  /** How the object at a path treats unknown keys. */
  objectMode(path: Path): ObjectMode;
  /**
   * The field an error should name for a problem at `path`, when the parser reports it
   * elsewhere (e.g. an unsupported `source` is reported as `source/detail-type`).
   */
  reportedAs?(path: Path): string | undefined;
  /** Paths whose value is deliberately unchecked (e.g. z.unknown()): mutations skip them. */
  unchecked?: readonly string[];
  /** Semantic violations (out of range, unknown names, cross-field rules) with the field each must name. */
  violations?: fc.Arbitrary<{ input: unknown; field: string; why: string }>;
  /** Further arbitrary inputs worth throwing at it (e.g. a right envelope with a junk detail). */
  junk?: fc.Arbitrary<unknown>;
  /** Base runs per property (before FUZZ_SCALE). */
  runs?: number;
}

async function attempt(spec: ParserSpec, input: unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await spec.parse(input) };
  } catch (error) {
    return { ok: false, error };
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.slice(0, 300)}`;
  return String(error);
}

/** The outcome must be a validation error; returns it. */
function rejected(spec: ParserSpec, outcome: Outcome, why: string) {
  if (outcome.ok) throw new Error(`${spec.name} accepted ${why}`);
  if (!spec.isValidationError(outcome.error)) {
    throw new Error(
      `${spec.name} threw a non-validation error for ${why}: ${describeError(outcome.error)}`,
    );
  }
  return outcome.error as Error;
}

/** Success, or a validation error; anything else (TypeError, RangeError...) is a crash. */
function noCrash(spec: ParserSpec, outcome: Outcome, why: string): void {
  if (!outcome.ok && !spec.isValidationError(outcome.error)) {
    throw new Error(`${spec.name} crashed on ${why}: ${describeError(outcome.error)}`);
  }
}

function expectNames(spec: ParserSpec, error: Error, expected: string, allowDescendants = false) {
  const field = spec.fieldOf(error);
  const descendant =
    allowDescendants &&
    (field.startsWith(`${expected}.`) || field.startsWith(`${expected}[`) || expected === '');
  if (field !== expected && !descendant) {
    throw new Error(
      `${spec.name}: expected the error to name "${expected}", it named "${field}" (${error.message.slice(0, 300)})`,
    );
  }
  expect(spec.messageOf?.(error) ?? error.message).toContain(field);
}

const expectedField = (spec: ParserSpec, path: Path) => spec.reportedAs?.(path) ?? fieldName(path);

const checked = (spec: ParserSpec, path: Path) => !matchesAny(path, spec.unchecked ?? []);

/** A valid input and one of its (checked) node paths picked by `pick`. */
function validWithPath(
  spec: ParserSpec,
  pick: (input: unknown, path: Path) => boolean = () => true,
): fc.Arbitrary<{ input: unknown; path: Path }> {
  return spec.valid
    .map((input) => ({
      input,
      paths: nodePaths(input).filter((p) => checked(spec, p) && pick(input, p)),
    }))
    .filter(({ paths }) => paths.length > 0)
    .chain(({ input, paths }) => fc.constantFrom(...paths).map((path) => ({ input, path })));
}

/** A value whose JSON type differs from `current` (so no schema of `current`'s type takes it). */
export function wrongTypeFor(current: unknown): fc.Arbitrary<unknown> {
  const type = jsonType(current);
  const all: Record<string, fc.Arbitrary<unknown>> = {
    string: fc.string({ maxLength: 8 }),
    number: fc.oneof(fc.integer(), fc.double({ noNaN: true })),
    boolean: fc.boolean(),
    null: fc.constant(null),
    array: fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
    object: fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), {
      maxKeys: 2,
    }),
  };
  return fc.oneof(...Object.entries(all).flatMap(([t, arb]) => (t === type ? [] : [arb])));
}

/** Keys worth adding: prototype-pollution names, lookalikes of real fields, and anything. */
export const extraKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'valueOf',
    'hasOwnProperty',
    '__defineGetter__',
    'then',
  ),
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
);

/** Strings a well-meaning producer never sends: any code point, lone surrogates, huge. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: fc.constantFrom('\u0000', '\uD800', '\uDFFF', '\u202E', '\uFEFF', 'é', '𝕏') }),
  fc.constantFrom('', ' ', '\n', 'null', 'undefined', 'NaN', '{}', '[]', '../../etc/passwd'),
  // EventBridge entries top out at 256 KiB; past that nothing legitimate arrives.
  fc
    .tuple(fc.integer({ min: 1_000, max: 300_000 }), fc.constantFrom('x', 'é', '𝕏', '\u0000'))
    .map(([n, c]) => c.repeat(n)),
);

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype);

/** Registers the harness's properties for one parser (call inside a `describe`). */
export function fuzzParser(spec: ParserSpec): void {
  const base = spec.runs ?? 500;

  it('accepts every valid input and keeps what it says', async () => {
    await fc.assert(
      fc.asyncProperty(spec.valid, async (input) => {
        const outcome = await attempt(spec, input);
        if (!outcome.ok) {
          throw new Error(`${spec.name} rejected a valid input: ${describeError(outcome.error)}`);
        }
        spec.check(input, outcome.value);
      }),
      { numRuns: runs(base) },
    );
  });

  it('rejects a value of the wrong type, naming its field', async () => {
    const arb = validWithPath(spec).chain(({ input, path }) =>
      wrongTypeFor(getAt(input, path)).map((value) => ({ input, path, value })),
    );
    await fc.assert(
      fc.asyncProperty(arb, async ({ input, path, value }) => {
        const mutated = withReplaced(input, path, value);
        const why = `${fieldName(path)} = ${JSON.stringify(value)}`;
        const error = rejected(spec, await attempt(spec, mutated), why);
        expectNames(spec, error, expectedField(spec, path));
      }),
      { numRuns: runs(base) },
    );
  });

  it('rejects a missing required field naming it, and takes a missing optional one', async () => {
    const arb = validWithPath(spec, (_, path) => typeof path.at(-1) === 'string');
    await fc.assert(
      fc.asyncProperty(arb, async ({ input, path }) => {
        const outcome = await attempt(spec, withDeleted(input, path));
        const why = `no ${fieldName(path)}`;
        if (matchesAny(path, spec.optional)) {
          // An optional field may still be needed by a cross-field rule; then it is named.
          noCrash(spec, outcome, why);
          if (!outcome.ok) expectNames(spec, outcome.error as Error, expectedField(spec, path));
          return;
        }
        expectNames(spec, rejected(spec, outcome, why), expectedField(spec, path));
      }),
      { numRuns: runs(base) },
    );
  });

  if (spec.violations) {
    const violations = spec.violations;
    it('rejects out-of-range values and broken cross-field rules, naming the field', async () => {
      await fc.assert(
        fc.asyncProperty(violations, async ({ input, field, why }) => {
          const error = rejected(spec, await attempt(spec, input), why);
          expectNames(spec, error, field);
        }),
        { numRuns: runs(base) },
      );
    });
  }

  it('rejects unknown keys in strict objects naming them, never polluting prototypes', async () => {
    const arb = spec.valid
      .map((input) => ({ input, paths: objectPaths(input).filter((p) => checked(spec, p)) }))
      .chain(({ input, paths }) =>
        fc.record({
          input: fc.constant(input),
          path: fc.constantFrom(...paths),
          key: extraKey,
          value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ polluted: 'yes' })),
        }),
      )
      .filter(({ input, path, key }) => !Object.hasOwn(getAt(input, path) as object, key));
    await fc.assert(
      fc.asyncProperty(arb, async ({ input, path, key, value }) => {
        const mutated = withExtraKey(input, path, key, value);
        const why = `an extra key ${JSON.stringify(key)} at ${fieldName(path) || '(root)'}`;
        const outcome = await attempt(spec, mutated);
        expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(PROTOTYPE_KEYS);
        expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
        switch (spec.objectMode(path)) {
          case 'strict': {
            const error = rejected(spec, outcome, why);
            // zod names the object; a parser may name the key itself (load.ts does for __proto__).
            const named = spec.fieldOf(error) === fieldName([...path, key]);
            if (!named) expectNames(spec, error, expectedField(spec, path));
            expect(spec.messageOf?.(error) ?? error.message).toContain(key);
            break;
          }
          case 'loose':
            noCrash(spec, outcome, why);
            if (!outcome.ok) {
              throw new Error(`${spec.name} rejected ${why}: ${describeError(outcome.error)}`);
            }
            break;
          case 'record':
            noCrash(spec, outcome, why);
            if (!outcome.ok) {
              expectNames(spec, outcome.error as Error, fieldName([...path, key]), true);
            }
            break;
          case 'record-of-known-keys':
            expectNames(spec, rejected(spec, outcome, why), fieldName([...path, key]), true);
            break;
        }
        if (outcome.ok && isRecord(outcome.value)) {
          expect(Object.getPrototypeOf(outcome.value)).toBe(Object.prototype);
        }
      }),
      { numRuns: runs(base) },
    );
  });

  it('takes unicode and huge strings as data: accepted, or rejected naming the field', async () => {
    const arb = validWithPath(spec, (input, path) => typeof getAt(input, path) === 'string').chain(
      ({ input, path }) => nastyString.map((value) => ({ input, path, value })),
    );
    await fc.assert(
      fc.asyncProperty(arb, async ({ input, path, value }) => {
        const outcome = await attempt(spec, withReplaced(input, path, value));
        const why = `${fieldName(path)} = ${JSON.stringify(value.slice(0, 40))} (${value.length} chars)`;
        noCrash(spec, outcome, why);
        if (!outcome.ok) expectNames(spec, outcome.error as Error, expectedField(spec, path));
      }),
      { numRuns: runs(Math.round(base / 2)) },
    );
  });

  it('rejects deep nesting naming the field, without overflowing the stack', async () => {
    const arb = validWithPath(spec).chain(({ input, path }) =>
      fc.record({
        input: fc.constant(input),
        path: fc.constant(path),
        // Past ~4,000 levels JSON.stringify itself overflows, so stored documents could not
        // even be written; 3,000 is deeper than any schema recurses.
        depth: fc.integer({ min: 500, max: 3_000 }),
        shape: fc.constantFrom<'object' | 'array'>('object', 'array'),
      }),
    );
    await fc.assert(
      fc.asyncProperty(arb, async ({ input, path, depth, shape }) => {
        const outcome = await attempt(spec, withReplaced(input, path, nested(depth, shape)));
        const why = `${fieldName(path)} nested ${depth} ${shape}s deep`;
        noCrash(spec, outcome, why);
        if (!outcome.ok) expectNames(spec, outcome.error as Error, expectedField(spec, path), true);
      }),
      { numRuns: runs(Math.round(base / 5)) },
    );
  });

  it('throws nothing but its validation error for arbitrary input', async () => {
    const arb = fc.oneof(
      fc.anything(),
      fc.jsonValue(),
      fc.constantFrom(undefined, null, 0, '', [], {}, Number.NaN, Symbol('x'), () => 1),
      ...(spec.junk ? [spec.junk] : []),
    );
    await fc.assert(
      fc.asyncProperty(arb, async (input) => {
        noCrash(spec, await attempt(spec, input), `input ${fc.stringify(input).slice(0, 200)}`);
      }),
      { numRuns: runs(base) },
    );
  });
}
