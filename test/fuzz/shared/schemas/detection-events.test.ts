import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Signal } from '../../../../shared/domain/detection/region-health.ts';
import { alarmNameFor, parseDetectorEvent } from '../../../../shared/schemas/detection-events.ts';
import {
  config,
  envelope,
  eventErrors,
  instanceId,
  isoWithOffset,
  notUtcTime,
  region,
  someIndex,
  unknownInstance,
  unknownRegion,
  violate,
  word,
} from '../../support/events.ts';
import { fuzzParser, type ParserSpec, runs } from '../../support/harness.ts';
import { matchesAny, nested, type Path } from '../../support/json-paths.ts';

type Event = Record<string, unknown> & { detail: Record<string, unknown> };

const parse = (event: unknown) => parseDetectorEvent(event, config);

// The detector dispatches on source and detail-type together, and names them together.
const reportedAs = (path: Path) =>
  path.length === 1 && (path[0] === 'source' || path[0] === 'detail-type')
    ? 'source/detail-type'
    : undefined;

const observation = (vantage: string) =>
  fc.record(
    {
      vantage: fc.constant(vantage),
      target: region,
      zone: word,
      instanceId,
      ok: fc.boolean(),
      status: fc.integer({ min: 100, max: 599 }),
      error: fc.string({ maxLength: 60 }),
      latencyMs: fc.double({ min: 0, max: 60_000, noNaN: true, noDefaultInfinity: true }),
      at: isoWithOffset,
    },
    { requiredKeys: ['vantage', 'target', 'zone', 'instanceId', 'ok', 'latencyMs', 'at'] },
  );

const healthObserved = region.chain((vantage) =>
  envelope(
    'lifeboat',
    'Health Observed',
    fc.record({
      vantage: fc.constant(vantage),
      observations: fc.array(observation(vantage), { minLength: 1, maxLength: 4 }),
    }),
  ),
);

const alarmChange = envelope(
  'aws.cloudwatch',
  'CloudWatch Alarm State Change',
  fc.record({
    alarmName: fc.tuple(instanceId, region).map(([i, r]) => alarmNameFor(i, r)),
    state: fc.record({ value: fc.constantFrom('ALARM', 'OK', 'INSUFFICIENT_DATA') }),
  }),
);

const healthEvent = envelope(
  'aws.health',
  'AWS Health Event',
  fc.record(
    {
      eventArn: word,
      service: word,
      eventTypeCategory: fc.constantFrom('issue', 'accountNotification', 'scheduledChange'),
      statusCode: fc.constantFrom('open', 'closed', 'upcoming'),
      eventRegion: region,
    },
    { requiredKeys: ['eventArn', 'service', 'eventTypeCategory', 'statusCode'] },
  ),
);

const tick = envelope('aws.events', 'Scheduled Event', fc.constant({}));

const looseEverywhere = () => 'loose' as const;

const base = {
  ...eventErrors,
  parse,
  reportedAs,
  junk: fc.oneof(
    ...(
      [
        ['lifeboat', 'Health Observed'],
        ['aws.cloudwatch', 'CloudWatch Alarm State Change'],
        ['aws.health', 'AWS Health Event'],
        ['aws.events', 'Scheduled Event'],
      ] as const
    ).map(([source, type]) => envelope(source, type, fc.anything())),
  ),
} satisfies Partial<ParserSpec>;

const specs: ParserSpec[] = [
  {
    ...base,
    name: 'Health Observed',
    valid: healthObserved,
    optional: ['replay-name', 'detail.observations[].status', 'detail.observations[].error'],
    objectMode: (path) =>
      matchesAny(path, ['detail', 'detail.observations[]']) ? 'strict' : 'loose',
    check(input, output) {
      const { observations } = (input as Event).detail as { observations: { at: string }[] };
      expect(output).toEqual(
        observations.map((o) => ({
          kind: 'observation',
          observation: { ...o, at: new Date(o.at).toISOString() },
        })),
      );
    },
    violations: fc.oneof(
      violate(healthObserved, ['detail', 'vantage'], unknownRegion, 'unknown vantage'),
      violate(healthObserved, ['detail', 'observations'], fc.constant([]), 'no observations'),
      violate(
        healthObserved,
        ['detail', 'observations'],
        fc.constant(Array.from({ length: 1001 }, () => ({}))),
        'more than 1000 observations',
      ),
      violate(
        healthObserved,
        someIndex(['detail', 'observations'], ['target']),
        unknownRegion,
        'unknown target',
      ),
      violate(
        healthObserved,
        someIndex(['detail', 'observations'], ['instanceId']),
        unknownInstance,
        'unknown instance',
      ),
      violate(
        healthObserved,
        someIndex(['detail', 'observations'], ['vantage']),
        fc.constant('eu-central-1'),
        'a vantage other than the round',
      ),
      violate(
        healthObserved,
        someIndex(['detail', 'observations'], ['status']),
        fc.oneof(fc.integer({ max: 99 }), fc.integer({ min: 600 }), fc.constant(200.5)),
        'status outside 100-599',
      ),
      violate(
        healthObserved,
        someIndex(['detail', 'observations'], ['latencyMs']),
        fc.oneof(
          fc.double({ max: -Number.MIN_VALUE, noNaN: true }),
          fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
        ),
        'negative or non-finite latency',
      ),
      violate(
        healthObserved,
        someIndex(['detail', 'observations'], ['error']),
        fc.integer({ min: 2001, max: 50_000 }).map((n) => 'e'.repeat(n)),
        'error longer than 2000 chars',
      ),
      violate(
        healthObserved,
        someIndex(['detail', 'observations'], ['zone']),
        fc.constant(''),
        'empty zone',
      ),
      violate(
        healthObserved,
        someIndex(['detail', 'observations'], ['at']),
        fc.constantFrom('2026-11-25', 'yesterday', '', '2026-11-25T25:00:00Z'),
        'not a time',
      ),
      violate(healthObserved, ['time'], notUtcTime, 'envelope time not UTC ISO'),
    ),
  },
  {
    ...base,
    name: 'CloudWatch Alarm State Change',
    valid: alarmChange,
    optional: ['replay-name'],
    objectMode: looseEverywhere,
    check(input, output) {
      const event = input as Event;
      const detail = event.detail as { alarmName: string; state: { value: string } };
      const [signal] = output as Signal[];
      expect(output).toHaveLength(1);
      if (signal?.kind !== 'alarm')
        throw new Error(`expected an alarm signal, got ${signal?.kind}`);
      expect(alarmNameFor(signal.alarm.instanceId, signal.alarm.region)).toBe(detail.alarmName);
      expect(signal.alarm).toMatchObject({ state: detail.state.value, at: event.time });
    },
    violations: fc.oneof(
      violate(
        alarmChange,
        ['detail', 'alarmName'],
        fc.oneof(
          fc.tuple(unknownInstance, region).map(([i, r]) => alarmNameFor(i, r)),
          fc.tuple(instanceId, unknownRegion).map(([i, r]) => alarmNameFor(i, r)),
          word.filter((w) => !w.startsWith('lifeboat-health-')),
        ),
        'not a lifeboat alarm',
      ),
      violate(
        alarmChange,
        ['detail', 'state', 'value'],
        fc.constantFrom('alarm', 'BROKEN', ''),
        'unknown state',
      ),
      violate(alarmChange, ['detail', 'alarmName'], fc.constant(''), 'empty alarm name'),
    ),
  },
  {
    ...base,
    name: 'AWS Health Event',
    valid: healthEvent,
    optional: ['replay-name', 'detail.eventRegion'],
    objectMode: looseEverywhere,
    check(input, output) {
      const event = input as Event;
      const detail = event.detail as { eventTypeCategory: string; eventRegion?: string };
      if (detail.eventTypeCategory !== 'issue') {
        expect(output).toEqual([]);
        return;
      }
      expect(output).toEqual([
        expect.objectContaining({
          kind: 'health',
          health: expect.objectContaining({
            region: detail.eventRegion ?? event.region,
            at: event.time,
          }),
        }),
      ]);
    },
    violations: fc.oneof(
      violate(
        healthEvent.map((e) => ({
          ...e,
          detail: { ...(e.detail as object), eventTypeCategory: 'issue' },
        })),
        ['detail', 'eventRegion'],
        unknownRegion,
        'issue in an unknown region',
      ),
      violate(
        healthEvent,
        ['detail', 'statusCode'],
        fc.constantFrom('OPEN', 'resolved', ''),
        'unknown status',
      ),
      violate(healthEvent, ['detail', 'eventArn'], fc.constant(''), 'empty ARN'),
    ),
  },
  {
    ...base,
    name: 'Scheduled Event (tick)',
    valid: tick,
    optional: ['replay-name'],
    objectMode: looseEverywhere,
    check(input, output) {
      expect(output).toEqual([{ kind: 'tick', at: (input as Event).time }]);
    },
    violations: violate(tick, ['time'], notUtcTime, 'envelope time not UTC ISO'),
  },
];

describe('parseDetectorEvent', () => {
  for (const spec of specs) {
    describe(spec.name, () => {
      fuzzParser(spec);
    });
  }

  it('names source/detail-type for any other event', () => {
    fc.assert(
      fc.property(
        envelope('lifeboat', 'Health Observed', fc.constant({})),
        fc.string(),
        fc.string(),
        (event, source, type) => {
          fc.pre(!['lifeboat', 'aws.cloudwatch', 'aws.health', 'aws.events'].includes(source));
          expect(() => parse({ ...event, source, 'detail-type': type })).toThrow(
            expect.objectContaining({ name: 'EventValidationError', field: 'source/detail-type' }),
          );
        },
      ),
      { numRuns: runs(500) },
    );
  });

  it('rejects a null-prototype, unprintable or deeply nested source as a validation error (regression)', () => {
    // Found by the fuzzer: String() of these threw TypeError / RangeError instead.
    for (const source of [Object.create(null), { toString: () => ({}) }, nested(3000, 'array')]) {
      expect(() => parse({ source, 'detail-type': 'Health Observed' })).toThrow(
        expect.objectContaining({ name: 'EventValidationError', field: 'source/detail-type' }),
      );
    }
  });

  it('names detail.eventRegion when an issue names an empty event region (regression)', () => {
    const [event] = fc.sample(healthEvent, 1) as Event[];
    const issue = {
      ...event,
      detail: { ...event?.detail, eventTypeCategory: 'issue', eventRegion: '' },
    };
    expect(() => parse(issue)).toThrow(expect.objectContaining({ field: 'detail.eventRegion' }));
  });
});
