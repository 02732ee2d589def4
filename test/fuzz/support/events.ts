import fc from 'fast-check';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../shared/config/load.ts';
import { EventValidationError } from '../../../shared/errors.ts';
import { getAt, type Path, withReplaced } from './json-paths.ts';

/** The embedded default config: four regions, instances petstore and payments. */
export const config = loadConfig(DEFAULT_CONFIG_PATH);
export const regionNames = config.regions.map((r) => r.name);
export const instanceIds = config.instances.map((i) => i.id);

export const region = fc.constantFrom(...regionNames);
export const instanceId = fc.constantFrom(...instanceIds);

const instants = fc.date({
  min: new Date('2000-01-01T00:00:00Z'),
  max: new Date('2099-12-31T23:59:59Z'),
  noInvalidDate: true,
});

/** An ISO-8601 UTC time, with or without milliseconds (what z.iso.datetime() takes). */
export const isoUtc: fc.Arbitrary<string> = fc
  .tuple(instants, fc.boolean())
  .map(([d, millis]) => (millis ? d.toISOString() : d.toISOString().replace(/\.\d{3}Z$/, 'Z')));

/** An ISO-8601 time with a UTC offset or Z (what z.iso.datetime({ offset: true }) takes). */
export const isoWithOffset: fc.Arbitrary<string> = fc
  .tuple(isoUtc, fc.constantFrom('Z', '+00:00', '+05:30', '-08:00', '+14:00'))
  .map(([iso, offset]) => iso.replace(/Z$/, offset));

/** A non-empty, printable, modest string (names, ARNs, zones). */
export const word = fc.string({ minLength: 1, maxLength: 16 });

// Built once: fc.stringMatching compiles its regex into arbitraries, too slow to redo per sample.
const account = fc.stringMatching(/^\d{12}$/);

/** An EventBridge envelope around a detail, as AWS delivers it to a Lambda target. */
export function envelope(
  source: string,
  detailType: string,
  detail: fc.Arbitrary<unknown>,
): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      version: fc.constant('0'),
      id: fc.uuid(),
      'detail-type': fc.constant(detailType),
      source: fc.constant(source),
      account,
      time: isoUtc,
      region,
      resources: fc.array(fc.string({ maxLength: 40 }), { maxLength: 2 }),
      detail,
      'replay-name': word,
    },
    {
      requiredKeys: [
        'version',
        'id',
        'detail-type',
        'source',
        'account',
        'time',
        'region',
        'resources',
        'detail',
      ],
    },
  );
}

/** `instanceof` and field accessors for the harness. */
export const eventErrors = {
  isValidationError: (error: unknown) => error instanceof EventValidationError,
  fieldOf: (error: unknown) => (error as EventValidationError).field,
};

/** A violation: the input with one field set to a bad value, and the field it must name. */
export function violate(
  valid: fc.Arbitrary<unknown>,
  path: Path | ((input: unknown) => Path | undefined),
  bad: fc.Arbitrary<unknown>,
  why: string,
): fc.Arbitrary<{ input: unknown; field: string; why: string }> {
  return valid
    .map((input) => ({ input, at: typeof path === 'function' ? path(input) : path }))
    .filter((v): v is { input: unknown; at: Path } => v.at !== undefined)
    .chain(({ input, at }) =>
      bad.map((value) => ({
        input: withReplaced(input, at, value),
        field: fieldOf(at),
        why: `${why}: ${fieldOf(at)} = ${JSON.stringify(value)?.slice(0, 80)}`,
      })),
    );
}

// Local copy of the renderer so this module does not depend on the harness' choice.
function fieldOf(path: Path): string {
  return path.reduce<string>(
    (out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${p}` : p),
    '',
  );
}

/** Picks the index of a random element of the array at `path` (for per-element violations). */
export function someIndex(arrayPath: Path, rest: Path = []) {
  return (input: unknown): Path | undefined => {
    const array = getAt(input, arrayPath);
    if (!Array.isArray(array) || array.length === 0) return undefined;
    return [...arrayPath, array.length - 1, ...rest];
  };
}

/** Strings that are not configured region names. */
export const unknownRegion = fc
  .oneof(
    fc.constantFrom('us-nowhere-1', 'US-EAST-1', 'us-east-1 ', 'ap-south-1', ''),
    fc.string({ maxLength: 12 }),
  )
  .filter((r) => !regionNames.includes(r));

/** Strings that are not configured instance ids. */
export const unknownInstance = fc
  .oneof(fc.constantFrom('PETSTORE', 'petstore2', 'nope'), fc.string({ minLength: 1 }))
  .filter((i) => !instanceIds.includes(i));

/** Times a UTC-only schema must refuse: offsets, dates without time, nonsense. */
export const notUtcTime = fc.constantFrom(
  '2026-11-25T06:00:00+01:00',
  '2026-11-25',
  '2026-13-01T00:00:00Z',
  'yesterday',
  '',
  '2026-11-25 06:00:00Z',
);

/** Times an offset-tolerant schema still refuses. */
export const notATime = fc.constantFrom(
  '2026-11-25',
  '2026-02-30T00:00:00Z',
  'yesterday',
  '',
  '25/11/2026 06:00',
);
