import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { loadConfig, parseConfig } from '../../../../shared/config/load.ts';
import { ConfigError } from '../../../../shared/errors.ts';
import {
  configErrors,
  configObjectMode,
  OPTIONAL_CONFIG_FIELDS,
  UNUSED_REGION,
} from '../../support/config.ts';
import { fuzzParser, runs } from '../../support/harness.ts';
import { copy, matchesAny, type Path, withReplaced } from '../../support/json-paths.ts';

/*
 * The `kind: apigateway` instance and its `apigateway` section (region-bound references by
 * name and region, pacing) through the config loader: valid sections are taken as written,
 * and a bad kind-specific field is one ConfigError naming the file and the field.
 */

type Instance = { id: string; kind?: string; apigateway?: Record<string, unknown> };
type Doc = { regions: { name: string }[]; instances: Instance[] };

const referenceName = fc.stringMatching(/^[A-Za-z0-9._-]{1,16}$/).filter((n) => n !== '__proto__');

// Built once: fc.stringMatching compiles its regex into arbitraries, too slow to redo per sample.
const arnTail = fc.stringMatching(/^[a-z0-9/_:-]{1,20}$/);
const plainId = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
const arnService = fc.constantFrom('acm', 'cognito-idp', 'logs', 'apigateway');

/** A reference's value in one region: an ARN of that very region, or a plain id. */
const referenceValue = (region: string) =>
  fc.oneof(
    fc
      .tuple(arnService, arnTail)
      .map(([service, rest]) => `arn:aws:${service}:${region}:123456789012:${rest}`),
    plainId,
  );

function apigatewaySection(regions: string[]) {
  const references = fc
    .uniqueArray(referenceName, { maxLength: 3 })
    .chain((names) =>
      fc.tuple(
        ...names.map((name) =>
          fc
            .subarray(regions, { minLength: 1 })
            .chain((rs) =>
              fc.tuple(...rs.map((r) => referenceValue(r).map((v) => [r, v] as const))),
            )
            .map((entries) => [name, Object.fromEntries(entries)] as const),
        ),
      ),
    )
    .map((entries) => Object.fromEntries(entries));
  return fc.record(
    {
      references,
      pacing: fc.constantFrom('aws', 'none'),
      fenceSettleSeconds: fc.integer({ min: 0, max: 600 }),
    },
    { requiredKeys: [] },
  );
}

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2'];
const instanceIds = fc.uniqueArray(fc.constantFrom('shop', 'pets', 'bank'), {
  minLength: 1,
  maxLength: 2,
});

/**
 * Valid configs of API Gateway instances, everything else minimal so that most mutations land
 * in the kind-specific section (the rest of the config has its own fuzz suite, schema.test.ts).
 */
const validApiGatewayConfig: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(fc.uniqueArray(fc.constantFrom(...REGIONS), { minLength: 1, maxLength: 3 }), instanceIds)
  .chain(([regions, ids]) =>
    fc
      .tuple(...ids.map(() => fc.option(apigatewaySection(regions), { nil: undefined })))
      .map((sections) => ({
        version: 1,
        regions: regions.map((name) => ({
          name,
          location: { lat: 10, lon: 20 },
          capacity: 2,
          zones: [`${name}a`],
        })),
        instances: ids.map((id, i) => ({
          id,
          kind: 'apigateway',
          ...(sections[i] ? { apigateway: sections[i] } : {}),
          homeRegion: regions[0],
          replicaRegions: [regions[0]],
          dns: { hostedZoneId: 'Z1', recordName: `${id}.example.com` },
          endpoints: {},
        })),
      })),
  );

/** A rule of the section, broken in a valid document, with the field the error must name. */
type Breaker = (doc: Doc) => { input: unknown; path: Path; why: string } | undefined;

function firstReference(doc: Doc): { name: string; region: string } | undefined {
  const references = doc.instances[0]?.apigateway?.references as
    | Record<string, Record<string, string>>
    | undefined;
  const [name, byRegion] = Object.entries(references ?? {})[0] ?? [];
  const region = Object.keys(byRegion ?? {})[0];
  return name && region ? { name, region } : undefined;
}

function withSection(doc: Doc, section: Record<string, unknown>): Doc {
  const input = copy(doc) as Doc;
  (input.instances[0] as Instance).apigateway = section;
  return input;
}

const breakers: Breaker[] = [
  (doc) => {
    const at = firstReference(doc);
    if (!at) return undefined;
    const other = at.region === 'us-east-1' ? 'eu-west-1' : 'us-east-1';
    const path: Path = ['instances', 0, 'apigateway', 'references', at.name, at.region];
    return {
      input: withReplaced(doc, path, `arn:aws:acm:${other}:123456789012:certificate/x`),
      path,
      why: 'an ARN of another region',
    };
  },
  (doc) => {
    const path: Path = ['instances', 0, 'apigateway', 'references', 'cert', UNUSED_REGION];
    return {
      input: withSection(doc, { references: { cert: { [UNUSED_REGION]: 'id-1' } } }),
      path,
      why: 'a reference in an unconfigured region',
    };
  },
  (doc) => {
    const region = doc.regions[0]?.name as string;
    const path: Path = ['instances', 0, 'apigateway', 'references', 'cert', region];
    return {
      input: withSection(doc, { references: { cert: { [region]: '' } } }),
      path,
      why: 'an empty reference value',
    };
  },
  (doc) => {
    const region = doc.regions[0]?.name as string;
    const path: Path = ['instances', 0, 'apigateway', 'references', 'cert', region];
    return {
      input: withSection(doc, { references: { cert: { [region]: 'x'.repeat(2049) } } }),
      path,
      why: 'a reference value over 2,048 characters',
    };
  },
  (doc) => {
    const path: Path = ['instances', 0, 'apigateway', 'references', 'cert', 'US-EAST-1'];
    return {
      input: withSection(doc, { references: { cert: { 'US-EAST-1': 'id-1' } } }),
      path,
      why: 'a reference region in capitals',
    };
  },
  (doc) => ({
    input: withSection(doc, { pacing: 'fast' }),
    path: ['instances', 0, 'apigateway', 'pacing'],
    why: 'an unknown pacing',
  }),
  (doc) => ({
    input: withSection(doc, { fenceSettleSeconds: 601 }),
    path: ['instances', 0, 'apigateway', 'fenceSettleSeconds'],
    why: 'a fence settle time over ten minutes',
  }),
  (doc) => ({
    input: withSection(doc, { fenceSettleSeconds: 1.5 }),
    path: ['instances', 0, 'apigateway', 'fenceSettleSeconds'],
    why: 'a fence settle time that is not whole seconds',
  }),
  (doc) => {
    const input = copy(doc) as Doc;
    (input.instances[0] as Instance).kind = 'kong';
    return { input, path: ['instances', 0, 'kind'], why: 'an unknown kind' };
  },
  (doc) => {
    const input = withSection(doc, { references: {} });
    (input.instances[0] as Instance).kind = 'object-store';
    return {
      input,
      path: ['instances', 0, 'apigateway'],
      why: 'an apigateway section on an object-store instance',
    };
  },
  (doc) => {
    const input = withSection(doc, {});
    delete (input.instances[0] as Instance).kind;
    return {
      input,
      path: ['instances', 0, 'apigateway'],
      why: 'an apigateway section with the kind left to its default',
    };
  },
];

const names = (path: Path) =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');

const violations = fc
  .tuple(validApiGatewayConfig, fc.constantFrom(...breakers))
  .map(([doc, breaker]) => breaker(doc as unknown as Doc))
  .filter((v): v is NonNullable<typeof v> => v !== undefined)
  .map(({ input, path, why }) => ({ input, field: names(path), why }));

describe('parseConfig of API Gateway instances', () => {
  fuzzParser({
    ...configErrors,
    name: 'config (apigateway)',
    valid: validApiGatewayConfig,
    parse: (doc) => parseConfig(doc, 'fuzz.yml'),
    optional: [
      ...OPTIONAL_CONFIG_FIELDS,
      'instances[].apigateway',
      'instances[].apigateway.*',
      'instances[].apigateway.references.*',
      'instances[].apigateway.references.*.*',
    ],
    // The kind decides which section is allowed; its own breakages are the violations below.
    unchecked: ['instances[].kind'],
    objectMode: (path) => {
      if (matchesAny(path, ['instances[].apigateway.references'])) return 'record';
      if (matchesAny(path, ['instances[].apigateway.references.*'])) return 'record-of-known-keys';
      return configObjectMode(path);
    },
    violations,
    runs: 300,
    check(input, output) {
      expect(output).toMatchObject(input as object);
      const config = output as Doc;
      for (const instance of config.instances) expect(instance.kind).toBe('apigateway');
    },
  });
});

describe('loadConfig of API Gateway instances', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-fuzz-apigateway-'));
  const file = join(dir, 'lifeboat.config.yml');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a bad kind-specific field as one ConfigError naming the file and the field', () => {
    fc.assert(
      fc.property(violations, ({ input, field, why }) => {
        writeFileSync(file, toYaml(input));
        let error: unknown;
        try {
          loadConfig(file);
        } catch (e) {
          error = e;
        }
        if (!(error instanceof ConfigError)) throw new Error(`no ConfigError for ${why}: ${error}`);
        expect(error.file).toBe(file);
        expect(error.field).toBe(field);
        expect(error.message.startsWith(`${file}: ${field}: `)).toBe(true);
      }),
      { numRuns: runs(100) },
    );
  });
});
