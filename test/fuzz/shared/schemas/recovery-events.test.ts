import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chainEventSchema,
  parseChainEvent,
  parseOutageConfirmed,
  parseRegionRecovered,
} from '../../../../shared/schemas/recovery-events.ts';
import {
  config,
  envelope,
  eventErrors,
  instanceId,
  isoWithOffset,
  notATime,
  notUtcTime,
  region,
  someIndex,
  unknownInstance,
  unknownRegion,
  violate,
  word,
} from '../../support/events.ts';
import { fuzzParser, type ParserSpec } from '../../support/harness.ts';
import type { Path } from '../../support/json-paths.ts';

type Event = { id: string; detail: Record<string, unknown> };

const instanceStem = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);

// Recovery details are z.looseObject (producers may add fields); the envelope is z.object.
const loose = () => 'loose' as const;

const outageConfirmed = envelope(
  'lifeboat',
  'Region Outage Confirmed',
  fc.record({
    eventId: word,
    region,
    incidentId: word,
    outageStartedAt: isoWithOffset,
    confirmedAt: isoWithOffset,
  }),
);

const regionRecovered = envelope(
  'lifeboat',
  'Region Recovered',
  fc.record({ region, recoveredAt: isoWithOffset }),
);

const runId = fc
  .tuple(instanceStem, fc.integer({ min: 1, max: 99_999 }))
  .map(([stem, generation]) => `${stem}-g${generation}`);

const chainEvents = new Map<string, fc.Arbitrary<Record<string, unknown>>>();
// One arbitrary per detail type, built once (envelopes are costly to build).
const chainEvent = (detailType: string) => {
  let arb = chainEvents.get(detailType);
  if (!arb) {
    arb = chainEnvelope(detailType);
    chainEvents.set(detailType, arb);
  }
  return arb;
};

const chainEnvelope = (detailType: string) =>
  envelope(
    'lifeboat',
    detailType,
    fc.record({
      runId,
      instanceId,
      claimSet: fc.uniqueArray(region, { minLength: 1, maxLength: 4 }),
    }),
  );

const notARunId = fc.constantFrom(
  'Petstore-g1',
  'petstore-1',
  '-g1',
  'petstore-g',
  'petstore-gx',
  '',
);

const specs: ParserSpec[] = [
  {
    ...eventErrors,
    name: 'Region Outage Confirmed',
    valid: outageConfirmed,
    parse: (event) => parseOutageConfirmed(event, config),
    optional: ['replay-name'],
    objectMode: loose,
    check(input, output) {
      const { id, detail } = input as Event;
      expect(output).toEqual({
        deliveryId: id,
        region: detail.region,
        incidentId: detail.incidentId,
        outageStartedAt: new Date(detail.outageStartedAt as string).toISOString(),
        confirmedAt: new Date(detail.confirmedAt as string).toISOString(),
      });
    },
    violations: fc.oneof(
      violate(outageConfirmed, ['detail', 'region'], unknownRegion, 'unknown region'),
      violate(outageConfirmed, ['detail', 'confirmedAt'], notATime, 'not a time'),
      violate(outageConfirmed, ['detail', 'incidentId'], fc.constant(''), 'empty incident'),
      violate(outageConfirmed, ['time'], notUtcTime, 'envelope time not UTC ISO'),
      violate(outageConfirmed, ['source'], fc.constantFrom('aws.health', 'Lifeboat'), 'source'),
    ),
  },
  ...['Recovery Planned', 'Instance Restored', 'Instance Verified'].map(
    (detailType): ParserSpec => ({
      ...eventErrors,
      name: detailType,
      // The three chain events share one parser; each gets a share of the runs.
      runs: 250,
      valid: chainEvent(detailType),
      parse: (event) => parseChainEvent(event, detailType, config),
      optional: ['replay-name'],
      objectMode: loose,
      check(input, output) {
        const { detail } = input as Event;
        expect(output).toEqual({
          runId: detail.runId,
          instanceId: detail.instanceId,
          claimSet: detail.claimSet,
        });
      },
      violations: fc.oneof(
        violate(chainEvent(detailType), ['detail', 'runId'], notARunId, 'not a run id'),
        violate(chainEvent(detailType), ['detail', 'instanceId'], unknownInstance, 'instance'),
        violate(chainEvent(detailType), ['detail', 'claimSet'], fc.constant([]), 'empty set'),
        violate(
          chainEvent(detailType),
          someIndex(['detail', 'claimSet']),
          unknownRegion,
          'unknown region in the claim set',
        ),
        violate(
          chainEvent(detailType),
          ['detail-type'],
          fc.constantFrom('Recovery Completed', detailType.toLowerCase()),
          'another detail type',
        ),
      ),
    }),
  ),
  {
    ...eventErrors,
    name: 'Region Recovered',
    valid: regionRecovered,
    parse: (event) => parseRegionRecovered(event, config),
    optional: ['replay-name'],
    objectMode: loose,
    check(input, output) {
      const { id, detail } = input as Event;
      expect(output).toEqual({
        deliveryId: id,
        region: detail.region,
        recoveredAt: detail.recoveredAt,
      });
    },
    violations: fc.oneof(
      violate(regionRecovered, ['detail', 'region'], unknownRegion, 'unknown region'),
      violate(regionRecovered, ['detail', 'recoveredAt'], notATime, 'not a time'),
      violate(regionRecovered, ['id'] as Path, fc.constantFrom(1, null), 'id not a string'),
    ),
  },
];

describe('recovery events', () => {
  for (const spec of specs) {
    describe(spec.name, () => {
      fuzzParser(spec);
    });
  }

  it('builds each chain event schema once (regression: it was rebuilt on every event)', () => {
    expect(chainEventSchema('Instance Restored')).toBe(chainEventSchema('Instance Restored'));
    expect(chainEventSchema('Instance Restored')).not.toBe(chainEventSchema('Instance Verified'));
  });
});
