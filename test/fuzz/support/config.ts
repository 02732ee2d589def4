import fc from 'fast-check';
import { ConfigError } from '../../../shared/errors.ts';
import type { ObjectMode } from './harness.ts';
import { matchesAny, type Path } from './json-paths.ts';

/**
 * Valid config documents, as a person would write them: every optional section sometimes
 * present, sometimes left to its default, and every cross-field rule of ConfigSchema kept
 * (unique names, known regions, quorums within reach, probe timeout inside the interval).
 */

const REGION_POOL = [
  'us-east-1',
  'us-east-2',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-southeast-2',
  'sa-east-1',
];

/** A well-formed region name that no generated config uses. */
export const UNUSED_REGION = 'ca-central-9';

const bucket = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,12}[a-z0-9]$/);
const httpUrl = fc
  .tuple(
    fc.constantFrom('http', 'https'),
    fc.domain(),
    fc.option(fc.integer({ min: 1, max: 65535 })),
  )
  .map(([scheme, host, port]) => `${scheme}://${host}${port ? `:${port}` : ''}`);
const word = fc.string({ minLength: 1, maxLength: 12 });
// fc.dictionary likes "__proto__" as a key; lifeboat rejects it (the harness covers that).
const zoneName = word.filter((w) => w !== '__proto__');
// Built once: fc.stringMatching compiles its regex into arbitraries, too slow to redo per sample.
const bucketPrefix = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,12}$/);
const eventBusName = fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/);
const instanceIdsArb = fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,12}$/), {
  maxLength: 3,
});

function regionDoc(name: string) {
  return fc.record(
    {
      name: fc.constant(name),
      location: fc.record({
        lat: fc.double({ min: -90, max: 90, noNaN: true }),
        lon: fc.double({ min: -180, max: 180, noNaN: true }),
      }),
      capacity: fc.integer({ min: 0, max: 20 }),
      zones: fc.array(word, { minLength: 1, maxLength: 3 }),
      backupBucket: bucket,
      instanceStoreBucket: bucket,
      controlBucket: bucket,
      endpointUrl: httpUrl,
    },
    { requiredKeys: ['name', 'location', 'capacity', 'zones'] },
  );
}

const subsetOf = (names: string[], minLength = 1) =>
  fc.uniqueArray(fc.constantFrom(...names), { minLength, maxLength: names.length });

// fc.dictionary over a handful of possible keys spends most of its time retrying duplicate
// keys; picking the key set first and then one value per key is two orders faster.
const recordOver = <T>(keys: fc.Arbitrary<string[]>, value: fc.Arbitrary<T>) =>
  keys.chain((names) =>
    fc
      .tuple(...names.map(() => value))
      .map((values) => Object.fromEntries(names.map((name, i) => [name, values[i]]))),
  );

function instanceDoc(id: string, regions: string[]) {
  const critical =
    regions.length >= 2
      ? fc.oneof(
          fc.record({ critical: fc.constant(true), activeRegions: subsetOf(regions, 2) }),
          fc.record({ critical: fc.constant(false) }, { requiredKeys: [] }),
        )
      : fc.constant({});
  return fc
    .record({
      homeRegion: fc.constantFrom(...regions),
      replicaRegions: subsetOf(regions),
      failoverOrder: fc.option(fc.array(fc.constantFrom(...regions), { maxLength: 3 }), {
        nil: undefined,
      }),
      capacityUnits: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      critical,
      dns: fc.record(
        {
          hostedZoneId: word,
          recordName: word,
          routing: fc.constantFrom('weighted', 'latency'),
          healthChecks: recordOver(subsetOf(regions), word),
          ttl: fc.integer({ min: 1, max: 86_400 }),
        },
        { requiredKeys: ['hostedZoneId', 'recordName'] },
      ),
      endpoints: recordOver(
        subsetOf(regions, 0),
        fc.record(
          { url: httpUrl, zones: fc.dictionary(zoneName, httpUrl, { maxKeys: 2 }) },
          { requiredKeys: ['url'] },
        ),
      ),
    })
    .chain(({ critical: c, failoverOrder, capacityUnits, ...rest }) =>
      fc
        .record(
          {
            schedule: fc
              .tuple(
                fc.integer({ min: 1, max: 500 }),
                fc.constantFrom('minute', 'minutes', 'hour', 'hours', 'day', 'days'),
              )
              .map(([n, unit]) => `rate(${n} ${unit})`),
            quorum: fc.integer({ min: 1, max: rest.replicaRegions.length }),
            retention: fc.record(
              {
                last: fc.integer({ min: 1, max: 10 }),
                daily: fc.integer({ min: 0, max: 30 }),
                weekly: fc.integer({ min: 0, max: 12 }),
                gcGraceSeconds: fc.integer({ min: 60, max: 86_400 }),
              },
              { requiredKeys: [] },
            ),
            objectLock: fc.record({
              mode: fc.constantFrom('GOVERNANCE', 'COMPLIANCE'),
              days: fc.integer({ min: 1, max: 3650 }),
            }),
          },
          { requiredKeys: [] },
        )
        .map((snapshot) => ({
          id,
          ...rest,
          ...c,
          ...(failoverOrder ? { failoverOrder } : {}),
          ...(capacityUnits ? { capacityUnits } : {}),
          ...(Object.keys(snapshot).length ? { snapshot } : {}),
        })),
    );
}

/** A valid config document (plain JSON: what YAML or JSON parsing yields). */
export const validConfig: fc.Arbitrary<Record<string, unknown>> = fc
  .uniqueArray(fc.constantFrom(...REGION_POOL), { minLength: 1, maxLength: 4 })
  .chain((regions) =>
    fc.record(
      {
        version: fc.constant(1),
        naming: fc.record({
          bucketPrefix,
          eventBusName,
        }),
        regions: fc.tuple(...regions.map(regionDoc)),
        // Interval above 2 s and timeout under 30 s: dropping either one for its default
        // (30 s, 2000 ms) still leaves the timeout inside the interval.
        detection: fc.integer({ min: 3, max: 120 }).chain((interval) =>
          fc.record(
            {
              intervalSeconds: fc.constant(interval),
              failureThreshold: fc.integer({ min: 1, max: 10 }),
              quorum: fc.integer({ min: 1, max: regions.length }),
              recoverySeconds: fc.integer({ min: 1, max: 3600 }),
              probeTimeoutMs: fc.integer({ min: 100, max: Math.min(29_999, interval * 1000 - 1) }),
              alarmsCanConfirm: fc.boolean(),
              healthEventsCanConfirm: fc.boolean(),
            },
            { requiredKeys: [] },
          ),
        ),
        failback: fc.record(
          {
            canaryPercents: fc
              .uniqueArray(fc.integer({ min: 1, max: 99 }), { maxLength: 4 })
              .map((steps) => [...steps.sort((a, b) => a - b), 100]),
            stepSeconds: fc.integer({ min: 0, max: 600 }),
            healthChecksPerStep: fc.integer({ min: 1, max: 100 }),
          },
          { requiredKeys: [] },
        ),
        instances: instanceIdsArb.chain((ids) =>
          fc.tuple(...ids.map((id) => instanceDoc(id, regions))),
        ),
      },
      { requiredKeys: ['version', 'regions', 'instances'] },
    ),
  );

/** Fields of the config that may be left out (defaults or optional). */
export const OPTIONAL_CONFIG_FIELDS = [
  'naming',
  'detection',
  'detection.*',
  'failback',
  'failback.*',
  'regions[].backupBucket',
  'regions[].instanceStoreBucket',
  'regions[].controlBucket',
  'regions[].endpointUrl',
  'instances[].failoverOrder',
  'instances[].capacityUnits',
  'instances[].critical',
  'instances[].activeRegions',
  'instances[].snapshot',
  'instances[].snapshot.*',
  'instances[].snapshot.retention.*',
  'instances[].dns.routing',
  'instances[].dns.healthChecks',
  'instances[].dns.healthChecks.*',
  'instances[].dns.ttl',
  'instances[].endpoints.*',
  'instances[].endpoints.*.zones',
  'instances[].endpoints.*.zones.*',
];

/** Every config object is strict; its records are keyed by region (checked) or by zone. */
export function configObjectMode(path: Path): ObjectMode {
  if (matchesAny(path, ['instances[].endpoints', 'instances[].dns.healthChecks'])) {
    return 'record-of-known-keys';
  }
  if (matchesAny(path, ['instances[].endpoints.*.zones'])) return 'record';
  return 'strict';
}

/** `instanceof` and field accessors for the harness. */
export const configErrors = {
  isValidationError: (error: unknown) => error instanceof ConfigError,
  fieldOf: (error: unknown) => (error as ConfigError).field,
};
