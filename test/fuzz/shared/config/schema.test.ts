import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../shared/config/load.ts';
import {
  configErrors,
  configObjectMode,
  OPTIONAL_CONFIG_FIELDS,
  UNUSED_REGION,
  validConfig,
} from '../../support/config.ts';
import { fuzzParser } from '../../support/harness.ts';
import { copy, fieldName, type Path, withReplaced } from '../../support/json-paths.ts';

type Doc = {
  regions: { name: string }[];
  instances: {
    id: string;
    replicaRegions: string[];
    critical?: boolean;
    endpoints: Record<string, unknown>;
  }[];
  detection?: Record<string, unknown>;
};

/** A rule the schema enforces, broken in a valid document, with the field it must name. */
type Breaker = (doc: Doc) => { input: unknown; path: Path; why: string } | undefined;

/** The document with `path` set to `value`; the error must name `at` (default: `path`). */
function set(doc: Doc, path: Path, value: unknown, why: string, at: Path = path) {
  // Sections left to their defaults (detection, failback) are created to hold the bad value.
  const input = copy(doc) as unknown as Record<string | number, unknown>;
  let node = input;
  for (const part of path.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string | number, unknown>;
  }
  return { input: withReplaced(input, path, value), path: at, why };
}

const lastInstance = (doc: Doc) => doc.instances.length - 1;

const breakers: Breaker[] = [
  (doc) => {
    if (doc.regions.length < 2) return undefined;
    const i = doc.regions.length - 1;
    return set(doc, ['regions', i, 'name'], doc.regions[0]?.name, 'duplicate region');
  },
  (doc) =>
    set(
      doc,
      ['detection'],
      { ...doc.detection, intervalSeconds: 5, probeTimeoutMs: 5000 },
      'probe timeout not shorter than the interval',
      ['detection', 'probeTimeoutMs'],
    ),
  (doc) => set(doc, ['detection', 'quorum'], doc.regions.length + 1, 'quorum above region count'),
  (doc) => {
    if (doc.instances.length < 2) return undefined;
    const i = lastInstance(doc);
    return set(doc, ['instances', i, 'id'], doc.instances[0]?.id, 'duplicate instance');
  },
  (doc) =>
    doc.instances.length
      ? set(doc, ['instances', 0, 'homeRegion'], UNUSED_REGION, 'unknown home region')
      : undefined,
  (doc) =>
    doc.instances.length
      ? set(doc, ['instances', 0, 'replicaRegions', 0], UNUSED_REGION, 'unknown replica')
      : undefined,
  (doc) => {
    const instance = doc.instances[0];
    if (!instance) return undefined;
    const twice = [...instance.replicaRegions, instance.replicaRegions[0]];
    return set(doc, ['instances', 0, 'replicaRegions'], twice, 'replica listed twice');
  },
  (doc) => {
    const instance = doc.instances[0];
    if (!instance) return undefined;
    return set(
      doc,
      ['instances', 0, 'snapshot'],
      { quorum: instance.replicaRegions.length + 1 },
      'snapshot quorum above the replica count',
      ['instances', 0, 'snapshot', 'quorum'],
    );
  },
  (doc) => {
    if (!doc.instances.length) return undefined;
    const input = copy(doc);
    const instance = input.instances[0] as Record<string, unknown>;
    instance.critical = true;
    instance.activeRegions = [doc.regions[0]?.name];
    return { input, path: ['instances', 0, 'activeRegions'], why: 'critical with one region' };
  },
  (doc) => {
    if (!doc.instances.length) return undefined;
    const input = copy(doc);
    const endpoints = (input.instances[0] as Doc['instances'][number]).endpoints;
    endpoints[UNUSED_REGION] = { url: 'https://x.example.com' };
    return {
      input,
      path: ['instances', 0, 'endpoints', UNUSED_REGION],
      why: 'endpoint in an unconfigured region',
    };
  },
  (doc) => set(doc, ['failback', 'canaryPercents'], [50, 10, 100], 'canary steps not increasing'),
  (doc) => set(doc, ['failback', 'canaryPercents'], [10, 50], 'canary steps not ending at 100'),
  (doc) => set(doc, ['regions', 0, 'name'], 'US-EAST-1', 'region name in capitals'),
  (doc) => set(doc, ['regions', 0, 'location', 'lat'], 90.5, 'latitude past the pole'),
  (doc) => set(doc, ['regions', 0, 'capacity'], -1, 'negative capacity'),
  (doc) => set(doc, ['regions', 0, 'capacity'], 1.5, 'fractional capacity'),
  (doc) => set(doc, ['regions', 0, 'zones'], [], 'no zones'),
  (doc) => set(doc, ['regions', 0, 'backupBucket'], 'Bad_Bucket', 'bucket name'),
  (doc) => set(doc, ['regions', 0, 'endpointUrl'], 'ftp://moto.local', 'non-http endpoint'),
  (doc) =>
    set(
      doc,
      ['naming'],
      { bucketPrefix: 'X', eventBusName: 'lifeboat' },
      'one-letter bucket prefix',
      ['naming', 'bucketPrefix'],
    ),
  (doc) => set(doc, ['detection', 'failureThreshold'], 11, 'threshold above 10'),
  (doc) => set(doc, ['detection', 'intervalSeconds'], 0, 'zero interval'),
  (doc) => set(doc, ['version'], 2, 'unknown version'),
  (doc) =>
    doc.instances.length
      ? set(
          doc,
          ['instances', 0, 'snapshot'],
          { schedule: 'cron(0 * * * ? *)' },
          'cron instead of rate',
          ['instances', 0, 'snapshot', 'schedule'],
        )
      : undefined,
  (doc) =>
    doc.instances.length
      ? set(doc, ['instances', 0, 'id'], 'Pet_Store', 'instance id with capitals')
      : undefined,
  (doc) =>
    doc.instances.length
      ? set(doc, ['instances', 0, 'dns', 'ttl'], 86_401, 'ttl above a day')
      : undefined,
];

const violations = fc
  .tuple(validConfig, fc.constantFrom(...breakers))
  .map(([doc, breaker]) => breaker(doc as unknown as Doc))
  .filter((v): v is NonNullable<typeof v> => v !== undefined)
  .map(({ input, path, why }) => ({ input, field: fieldName(path), why }));

describe('parseConfig regressions', () => {
  const [doc] = fc.sample(
    validConfig.filter((d) => (d.instances as unknown[]).length > 0),
    1,
  ) as unknown as Doc[];

  it('names a misspelt region name itself, not the instances that refer to it', () => {
    // Found by the fuzzer: the cross-field "unknown region" issue at instances[0] was named.
    const input = withReplaced(doc, ['regions', 0, 'name'], 'US-EAST-1');
    expect(() => parseConfig(input, 'f.yml')).toThrow(
      expect.objectContaining({ field: 'regions[0].name' }),
    );
  });

  it('rejects a "__proto__" key in a record instead of silently dropping it', () => {
    const input = copy(doc) as Doc;
    const endpoints = (input.instances[0] as Doc['instances'][number]).endpoints;
    Object.defineProperty(endpoints, '__proto__', {
      value: { url: 'https://x.example.com' },
      enumerable: true,
    });
    expect(() => parseConfig(input, 'f.yml')).toThrow(
      expect.objectContaining({ field: 'instances[0].endpoints.__proto__' }),
    );
  });
});

describe('parseConfig', () => {
  fuzzParser({
    ...configErrors,
    name: 'config',
    valid: validConfig,
    parse: (doc) => parseConfig(doc, 'fuzz.yml'),
    optional: OPTIONAL_CONFIG_FIELDS,
    objectMode: configObjectMode,
    violations,
    runs: 300,
    check(input, output) {
      const doc = input as unknown as Doc;
      const config = output as Doc;
      expect(config.regions.map((r) => r.name)).toEqual(doc.regions.map((r) => r.name));
      expect(config.instances.map((i) => i.id)).toEqual(doc.instances.map((i) => i.id));
      // What the author wrote survives; only absent fields are filled in with defaults.
      expect(config).toMatchObject(input as object);
    },
  });
});
