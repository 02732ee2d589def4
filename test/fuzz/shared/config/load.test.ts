import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { DEFAULT_CONFIG_PATH, loadConfig, parseConfig } from '../../../../shared/config/load.ts';
import { ConfigError } from '../../../../shared/errors.ts';
import { validConfig } from '../../support/config.ts';
import { runs, wrongTypeFor } from '../../support/harness.ts';
import { fieldName, getAt, nodePaths, withReplaced } from '../../support/json-paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-fuzz-config-'));
const file = join(dir, 'lifeboat.config.yml');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every file in the directory with its size, mtime and content hash. */
function snapshotDir(): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const path = join(dir, name);
      const stat = statSync(path);
      const hash = createHash('sha256').update(readFileSync(path)).digest('hex');
      return `${name} ${stat.size} ${stat.mtimeMs} ${hash}`;
    });
}

/**
 * Writes `contents` as the config file, loads it, and checks that loading changed nothing on
 * disk. Returns what loadConfig returned or threw.
 */
function loadWritten(contents: string | Uint8Array) {
  writeFileSync(file, contents);
  const before = snapshotDir();
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: loadConfig(file) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  expect(snapshotDir()).toEqual(before);
  return outcome;
}

function configError(outcome: ReturnType<typeof loadWritten>, why: string): ConfigError {
  if (outcome.ok) throw new Error(`loadConfig accepted ${why}`);
  if (!(outcome.error instanceof ConfigError)) {
    throw new Error(`loadConfig threw ${String(outcome.error)} for ${why}`);
  }
  expect(outcome.error.file).toBe(file);
  expect(outcome.error.message.startsWith(`${file}: `)).toBe(true);
  return outcome.error;
}

const asText = (doc: unknown, format: 'yaml' | 'json') =>
  format === 'yaml' ? toYaml(doc) : JSON.stringify(doc, null, 2);

// Fragments that YAML parsers have choked on: anchors, aliases, tags, merges, directives.
const yamlFragment = fc.constantFrom(
  '&a [*a]',
  '*undefined_alias',
  '!!binary aGVsbG8=',
  '!!js/function "function(){}"',
  '!custom {}',
  '<<: *x',
  '%YAML 1.1\n---',
  '---\n---',
  '? [a]\n: b',
  '{a: 1, a: 2}',
  '__proto__: {polluted: yes}',
  'constructor: {prototype: {polluted: yes}}',
  '"\\uD800"',
  '\t- tab',
  '@reserved',
  '0x1F',
  '.inf',
  '~',
  '2026-11-25',
  'regions: &r [{name: us-east-1}]\ninstances: *r',
);

describe('loadConfig', () => {
  it('loads every valid config written as YAML or JSON, exactly as parseConfig reads it', () => {
    fc.assert(
      fc.property(validConfig, fc.constantFrom('yaml', 'json'), (doc, format) => {
        const outcome = loadWritten(asText(doc, format as 'yaml' | 'json'));
        if (!outcome.ok) throw outcome.error;
        // JSON has no -0; YAML keeps it.
        const written = format === 'json' ? JSON.parse(JSON.stringify(doc)) : doc;
        expect(outcome.value).toEqual(parseConfig(written, file));
      }),
      { numRuns: runs(100) },
    );
  });

  it('rejects a file with a wrongly typed field with a ConfigError naming the file and field', () => {
    const arb = validConfig
      .chain((doc) =>
        fc.record({ doc: fc.constant(doc), path: fc.constantFrom(...nodePaths(doc)) }),
      )
      .chain(({ doc, path }) =>
        wrongTypeFor(getAt(doc, path)).map((value) => ({ doc, path, value })),
      );
    fc.assert(
      fc.property(arb, fc.constantFrom('yaml', 'json'), ({ doc, path, value }, format) => {
        const text = asText(withReplaced(doc, path, value), format as 'yaml' | 'json');
        const error = configError(
          loadWritten(text),
          `${fieldName(path)} = ${JSON.stringify(value)}`,
        );
        expect(error.field).toBe(fieldName(path));
        expect(error.message).toContain(`${file}: ${fieldName(path)}: `);
      }),
      { numRuns: runs(150) },
    );
  });

  it('answers random bytes, text and YAML oddities with a ConfigError, touching nothing', () => {
    const contents = fc.oneof(
      fc.uint8Array({ maxLength: 4096 }),
      fc.string({ unit: 'binary', maxLength: 2000 }),
      fc.array(yamlFragment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('\n')),
      fc.tuple(validConfig, yamlFragment, fc.nat()).map(([doc, fragment, at]) => {
        const lines = toYaml(doc).split('\n');
        lines.splice(at % lines.length, 0, fragment);
        return lines.join('\n');
      }),
      fc.jsonValue().map((value) => JSON.stringify(value) ?? ''),
    );
    fc.assert(
      fc.property(contents, (text) => {
        const outcome = loadWritten(text);
        if (outcome.ok) return; // a junk file that happens to be a valid config is fine
        configError(outcome, `contents ${JSON.stringify(String(text).slice(0, 80))}`);
      }),
      { numRuns: runs(300) },
    );
  });

  it.each([
    ['an alias bomb', `a: &a [x, x, x, x, x, x, x, x, x]\n${bombLevels(12)}`],
    ['a self-referencing alias', 'version: 1\nregions: &r\n  - *r\ninstances: []'],
    [
      '10,000 nested flow sequences',
      `version: 1\nregions: ${'['.repeat(10_000)}${']'.repeat(10_000)}`,
    ],
    [
      '10,000 nested JSON objects',
      `{"version": 1, "regions": ${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
    ],
    ['a 4 MiB scalar', `version: 1\nnaming: {bucketPrefix: ${'a'.repeat(4 << 20)}}`],
    ['duplicate keys', 'version: 1\nversion: 1'],
    ['a __proto__ key', 'version: 1\n__proto__: {polluted: yes}\nregions: []\ninstances: []'],
    ['an empty file', ''],
  ])('rejects %s with a ConfigError, without polluting prototypes', (_, text) => {
    configError(loadWritten(text), _);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('names a __proto__ key inside a region-keyed record instead of dropping it (regression)', () => {
    const text = readFileSync(DEFAULT_CONFIG_PATH, 'utf8').replace(
      '    endpoints:\n',
      '    endpoints:\n      __proto__: { url: "https://x.example.com" }\n',
    );
    const error = configError(loadWritten(text), 'endpoints.__proto__');
    expect(error.field).toBe('instances[0].endpoints.__proto__');
  });

  it('rejects a missing file or a directory with a ConfigError, creating nothing', () => {
    for (const path of [join(dir, 'absent.yml'), dir]) {
      const before = snapshotDir();
      expect(() => loadConfig(path)).toThrow(ConfigError);
      expect(snapshotDir()).toEqual(before);
    }
  });
});

/** The "billion laughs" pattern: each level references the one before it nine times. */
function bombLevels(levels: number): string {
  const lines: string[] = [];
  let previous = 'a';
  for (let i = 0; i < levels; i += 1) {
    const name = `l${i}`;
    lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    previous = name;
  }
  return lines.join('\n');
}
