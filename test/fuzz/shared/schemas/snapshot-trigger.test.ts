import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSnapshotTrigger } from '../../../../shared/schemas/snapshot-trigger.ts';
import {
  config,
  envelope,
  eventErrors,
  instanceIds,
  isoUtc,
  notUtcTime,
  someIndex,
  unknownInstance,
  violate,
} from '../../support/events.ts';
import { fuzzParser, type ParserSpec } from '../../support/harness.ts';

const NOW = new Date('2026-11-25T06:00:00Z');
const parse = (event: unknown) => parseSnapshotTrigger(event, config, NOW);

const schedule = envelope('aws.events', 'Scheduled Event', fc.constant({}));

const request = fc.record(
  {
    action: fc.constant('snapshot'),
    instances: fc.uniqueArray(fc.constantFrom(...instanceIds), { minLength: 1 }),
    force: fc.boolean(),
    time: isoUtc,
  },
  { requiredKeys: ['action'] },
);

const specs: ParserSpec[] = [
  {
    ...eventErrors,
    name: 'schedule tick',
    valid: schedule,
    parse,
    optional: ['replay-name'],
    objectMode: () => 'loose',
    check(input, output) {
      expect(output).toEqual({
        kind: 'schedule',
        time: new Date((input as { time: string }).time),
        force: false,
        instanceIds,
      });
    },
    violations: fc.oneof(
      violate(schedule, ['time'], notUtcTime, 'not a UTC time'),
      violate(schedule, ['source'], fc.constantFrom('aws.health', 'lifeboat'), 'another source'),
      violate(schedule, ['detail'], fc.constantFrom(null, [], 'x'), 'detail not an object'),
    ),
  },
  {
    ...eventErrors,
    name: 'snapshot request',
    valid: request,
    parse,
    optional: ['instances', 'force', 'time'],
    objectMode: () => 'strict',
    check(input, output) {
      const r = input as { instances?: string[]; force?: boolean; time?: string };
      expect(output).toEqual({
        kind: 'request',
        time: r.time ? new Date(r.time) : NOW,
        force: r.force ?? true,
        instanceIds: r.instances ?? instanceIds,
      });
    },
    violations: fc.oneof(
      violate(request, ['instances'], fc.constant([]), 'empty instance list'),
      violate(request, someIndex(['instances']), unknownInstance, 'unknown instance'),
      violate(request, ['time'], notUtcTime, 'not a UTC time'),
      violate(request, ['action'], fc.constantFrom('restore', 'Snapshot', ''), 'another action'),
    ),
  },
];

describe('parseSnapshotTrigger', () => {
  for (const spec of specs) {
    describe(spec.name, () => {
      fuzzParser(spec);
    });
  }

  it('reports a tick without detail-type as a broken tick naming it (regression)', () => {
    // Found by the fuzzer: it was parsed as a snapshot request and named "action".
    const [event] = fc.sample(schedule, 1) as Record<string, unknown>[];
    const { 'detail-type': _, ...broken } = event ?? {};
    expect(() => parse(broken)).toThrow(expect.objectContaining({ field: 'detail-type' }));
  });
});
