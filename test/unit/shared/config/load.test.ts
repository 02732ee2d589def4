import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  DEFAULT_CONFIG_PATH,
  findInstance,
  findRegion,
  loadConfig,
  loadConfigFromEnv,
  parseConfig,
  regionBuckets,
  snapshotQuorum,
} from '../../../../shared/config/load.ts';
import type { InstanceConfig } from '../../../../shared/config/schema.ts';
import {
  ConfigError,
  UnknownInstanceError,
  UnknownRegionError,
} from '../../../../shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function writeConfig(content: string, ext = 'yml'): string {
  fileCount += 1;
  const file = join(dir, `config-${fileCount}.${ext}`);
  writeFileSync(file, content);
  return file;
}

// biome-ignore lint/suspicious/noExplicitAny: test documents are mutated freely before validation
type Doc = any;

/** The embedded config as a plain document, to break one field at a time. */
function embedded(): Doc {
  return parseYaml(readFileSync(DEFAULT_CONFIG_PATH, 'utf8'));
}

/** Writes a broken config, loads it, and returns the one error it must raise. */
function configErrorOf(mutate: (doc: Doc) => void): { error: ConfigError; file: string } {
  const doc = embedded();
  mutate(doc);
  const file = writeConfig(stringifyYaml(doc));
  try {
    loadConfig(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { error, file };
  }
  throw new Error('test: expected a ConfigError');
}

const minimal = {
  version: 1,
  regions: [
    { name: 'us-east-1', location: { lat: 38.9, lon: -77.4 }, capacity: 2, zones: ['us-east-1a'] },
    { name: 'us-east-2', location: { lat: 40, lon: -83 }, capacity: 2, zones: ['us-east-2a'] },
    { name: 'us-west-2', location: { lat: 45.8, lon: -119.7 }, capacity: 2, zones: ['us-west-2a'] },
  ],
  instances: [
    {
      id: 'shop',
      homeRegion: 'us-east-1',
      replicaRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
      dns: { hostedZoneId: 'Z1', recordName: 'shop.example.com' },
      endpoints: { 'us-east-1': { url: 'https://shop.example.com' } },
    },
  ],
};

describe('loadConfig', () => {
  it('loads the embedded lifeboat.config.yml when given its path', () => {
    const config = loadConfig(DEFAULT_CONFIG_PATH);
    expect(config.regions.map((r) => r.name)).toEqual([
      'us-east-1',
      'us-east-2',
      'us-west-2',
      'eu-west-1',
    ]);
    expect(config.instances.map((i) => i.id)).toEqual(['petstore', 'payments']);
    expect(config.naming).toEqual({ bucketPrefix: 'lifeboat-demo', eventBusName: 'lifeboat' });
    expect(findInstance(config, 'payments').snapshot.quorum).toBe(2);
  });

  it('loads a JSON config when the file is JSON', () => {
    const file = writeConfig(JSON.stringify(minimal), 'json');
    expect(loadConfig(file).instances[0]?.id).toBe('shop');
  });

  it.each([
    [
      'an unknown home region',
      (d: Doc) => (d.instances[0].homeRegion = 'ap-south-2'),
      'instances[0].homeRegion',
      'unknown region "ap-south-2"',
    ],
    [
      'an unknown replica region',
      (d: Doc) => (d.instances[0].replicaRegions[2] = 'ap-south-2'),
      'instances[0].replicaRegions[2]',
      'unknown region',
    ],
    [
      'a malformed region name',
      (d: Doc) => (d.instances[0].homeRegion = 'virginia'),
      'instances[0].homeRegion',
      'must look like an AWS region',
    ],
    [
      'a duplicate instance id',
      (d: Doc) => (d.instances[1].id = 'petstore'),
      'instances[1].id',
      'duplicate instance "petstore"',
    ],
    [
      'a duplicate region',
      (d: Doc) => d.regions.push(structuredClone(d.regions[0])),
      'regions[4].name',
      'duplicate region "us-east-1"',
    ],
    [
      'a replica region listed twice',
      (d: Doc) => (d.instances[0].replicaRegions = ['us-east-1', 'us-east-1']),
      'instances[0].replicaRegions',
      'twice',
    ],
    [
      'a quorum above the replica count',
      (d: Doc) => (d.instances[0].snapshot.quorum = 4),
      'instances[0].snapshot.quorum',
      'is 4 but only 3',
    ],
    [
      'a cron schedule instead of a rate',
      (d: Doc) => (d.instances[0].snapshot.schedule = 'cron(0 6 * * ? *)'),
      'instances[0].snapshot.schedule',
      'rate expression',
    ],
    [
      'a rate with an unknown unit',
      (d: Doc) => (d.instances[1].snapshot.schedule = 'rate(5 seconds)'),
      'instances[1].snapshot.schedule',
      'rate expression',
    ],
    [
      'a bad bucket name',
      (d: Doc) => (d.regions[2].backupBucket = 'My_Backups'),
      'regions[2].backupBucket',
      'valid S3 bucket name',
    ],
    [
      'a too-short bucket name',
      (d: Doc) => (d.regions[0].controlBucket = 'ab'),
      'regions[0].controlBucket',
      'valid S3 bucket name',
    ],
    [
      'a bad bucket prefix',
      (d: Doc) => (d.naming.bucketPrefix = 'Lifeboat'),
      'naming.bucketPrefix',
      '2-31 chars',
    ],
    [
      'an unknown key in retention',
      (d: Doc) => (d.instances[0].snapshot.retention.monthly = 12),
      'instances[0].snapshot.retention',
      '"monthly"',
    ],
    ['an unknown key in a region', (d: Doc) => (d.regions[0].azs = 3), 'regions[0]', '"azs"'],
    [
      'a critical instance with one active region',
      (d: Doc) => (d.instances[1].activeRegions = ['eu-west-1']),
      'instances[1].activeRegions',
      'at least two active regions',
    ],
    [
      'an endpoint in an unconfigured region',
      (d: Doc) => (d.instances[0].endpoints['ap-south-2'] = { url: 'https://x.example.com' }),
      'instances[0].endpoints.ap-south-2',
      'unknown region',
    ],
    [
      'a non-http endpoint url',
      (d: Doc) => (d.instances[0].endpoints['us-east-1'].url = 'ftp://x.example.com'),
      'instances[0].endpoints.us-east-1.url',
      'http(s) URL',
    ],
    ['a wrong version', (d: Doc) => (d.version = 2), 'version', ''],
    ['a negative capacity', (d: Doc) => (d.regions[3].capacity = -1), 'regions[3].capacity', ''],
    [
      'a retention of zero last snapshots',
      (d: Doc) => (d.instances[0].snapshot.retention.last = 0),
      'instances[0].snapshot.retention.last',
      '',
    ],
  ])('raises one ConfigError naming the file and %s', (_name, mutate, field, detail) => {
    const { error, file } = configErrorOf(mutate as (d: Doc) => void);
    expect(error.field).toBe(field);
    expect(error.file).toBe(file);
    expect(error.message).toContain(file);
    expect(error.message).toContain(`${field}: `);
    expect(error.message).toContain(detail);
    expect(error.name).toBe('ConfigError');
  });

  it('names the unknown key in the message when the key is at the top level', () => {
    const { error } = configErrorOf((d) => {
      d.colour = 'red';
    });
    expect(error.field).toBe('');
    expect(error.message).toMatch(/config-\d+\.yml: .*"colour"/);
  });

  it('raises a ConfigError naming the file when the YAML does not parse', () => {
    const file = writeConfig('version: 1\nregions: [ { name: us-east-1\ninstances: []\n');
    const error = catchError(() => loadConfig(file));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(file);
    expect((error as ConfigError).message).toContain('not valid YAML');
    expect((error as ConfigError).message.split('\n')).toHaveLength(1);
    expect((error as ConfigError).cause).toBeDefined();
  });

  it('raises a ConfigError naming the file when the file is missing', () => {
    const file = join(dir, 'does-not-exist.yml');
    const error = catchError(() => loadConfig(file));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).file).toBe(file);
    expect((error as ConfigError).message).toContain(file);
    expect((error as ConfigError).message).toContain('cannot read');
  });

  it('raises a ConfigError when the document is empty', () => {
    const file = writeConfig('');
    expect(() => loadConfig(file)).toThrow(ConfigError);
  });
});

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error('test: expected an error');
}

describe('parseConfig', () => {
  it('fills every default when the config gives only the required fields', () => {
    const config = parseConfig(structuredClone(minimal), 'minimal.yml');
    const instance = config.instances[0] as InstanceConfig;
    expect(config.naming).toEqual({ bucketPrefix: 'lifeboat', eventBusName: 'lifeboat' });
    expect(instance.snapshot.schedule).toBe('rate(1 day)');
    expect(instance.snapshot.quorum).toBeUndefined();
    expect(instance.snapshot.retention).toEqual({
      last: 1,
      daily: 7,
      weekly: 4,
      gcGraceSeconds: 21_600,
    });
    expect(instance.capacityUnits).toBe(1);
    expect(instance.critical).toBe(false);
    expect(instance.dns).toEqual({
      hostedZoneId: 'Z1',
      recordName: 'shop.example.com',
      routing: 'weighted',
      ttl: 30,
    });
    expect(instance.endpoints['us-east-1']?.zones).toEqual({});
  });

  it('keeps the given retention fields and defaults the others when retention is partial', () => {
    const doc = structuredClone(minimal) as Doc;
    doc.instances[0].snapshot = { retention: { daily: 2 } };
    const retention = parseConfig(doc, 'x.yml').instances[0]?.snapshot.retention;
    expect(retention).toEqual({ last: 1, daily: 2, weekly: 4, gcGraceSeconds: 21_600 });
  });

  it('labels errors with the given file name when the document is invalid', () => {
    expect(() => parseConfig({ version: 1 }, 'inline')).toThrow(/^inline: regions: /);
  });

  // A zero rate passes the schema today, yet `serverless package` (deploy/lifeboat.cjs)
  // rejects it and EventBridge cannot schedule it: the edge should catch it first.
  it('rejects a rate of zero when the schedule is rate(0 minutes)', () => {
    const doc = structuredClone(minimal) as Doc;
    doc.instances[0].snapshot = { schedule: 'rate(0 minutes)' };
    expect(() => parseConfig(doc, 'x.yml')).toThrow(ConfigError);
  });
});

describe('loadConfigFromEnv', () => {
  it('loads the file LIFEBOAT_CONFIG names when it is set', () => {
    const file = writeConfig(stringifyYaml(minimal));
    expect(loadConfigFromEnv({ LIFEBOAT_CONFIG: file }).instances[0]?.id).toBe('shop');
  });

  it('loads the embedded config when LIFEBOAT_CONFIG is unset', () => {
    expect(loadConfigFromEnv({}).instances.map((i) => i.id)).toEqual(['petstore', 'payments']);
  });
});

describe('findRegion', () => {
  it('throws UnknownRegionError naming the region when it is not configured', () => {
    const config = loadConfig(DEFAULT_CONFIG_PATH);
    expect(findRegion(config, 'us-west-2').capacity).toBe(4);
    expect(() => findRegion(config, 'ap-south-2')).toThrow(UnknownRegionError);
    expect(() => findRegion(config, 'ap-south-2')).toThrow('"ap-south-2"');
  });
});

describe('findInstance', () => {
  it('throws UnknownInstanceError when the id is not configured', () => {
    const config = loadConfig(DEFAULT_CONFIG_PATH);
    expect(findInstance(config, 'petstore').homeRegion).toBe('us-east-1');
    expect(() => findInstance(config, 'nope')).toThrow(UnknownInstanceError);
  });
});

describe('regionBuckets', () => {
  it('derives the three bucket names from the prefix when none is configured', () => {
    const config = loadConfig(DEFAULT_CONFIG_PATH);
    expect(regionBuckets(config, findRegion(config, 'us-east-2'))).toEqual({
      backup: 'lifeboat-demo-backup-us-east-2',
      instanceStore: 'lifeboat-demo-store-us-east-2',
      control: 'lifeboat-demo-control-us-east-2',
    });
  });

  it('uses the configured names when a region sets them', () => {
    const doc = structuredClone(minimal) as Doc;
    doc.regions[0].backupBucket = 'corp-dr-backups';
    doc.regions[0].controlBucket = 'corp-dr-control';
    const config = parseConfig(doc, 'x.yml');
    expect(regionBuckets(config, findRegion(config, 'us-east-1'))).toEqual({
      backup: 'corp-dr-backups',
      instanceStore: 'lifeboat-store-us-east-1',
      control: 'corp-dr-control',
    });
  });
});

describe('snapshotQuorum', () => {
  const withReplicas = (n: number, quorum?: number): InstanceConfig => {
    const doc = structuredClone(minimal) as Doc;
    doc.regions = Array.from({ length: n }, (_, i) => ({
      name: `us-test-${i + 1}`,
      location: { lat: 0, lon: 0 },
      capacity: 1,
      zones: ['a'],
    }));
    doc.instances[0].homeRegion = 'us-test-1';
    doc.instances[0].replicaRegions = doc.regions.map((r: { name: string }) => r.name);
    doc.instances[0].endpoints = {};
    if (quorum !== undefined) doc.instances[0].snapshot = { quorum };
    return parseConfig(doc, 'x.yml').instances[0] as InstanceConfig;
  };

  it.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
  ])(
    'is a majority of %i replica regions (%i) when no quorum is configured',
    (replicas, quorum) => {
      expect(snapshotQuorum(withReplicas(replicas))).toBe(quorum);
    },
  );

  it('is the configured quorum when one is set', () => {
    expect(snapshotQuorum(withReplicas(3, 3))).toBe(3);
    expect(snapshotQuorum(withReplicas(3, 1))).toBe(1);
  });
});
