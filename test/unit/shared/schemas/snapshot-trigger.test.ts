import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../../shared/config/load.ts';
import { EventValidationError } from '../../../../shared/errors.ts';
import { parseSnapshotTrigger } from '../../../../shared/schemas/snapshot-trigger.ts';

const config = loadConfig(DEFAULT_CONFIG_PATH);
const now = new Date('2026-11-25T07:15:00Z');

/** A schedule tick as EventBridge delivers it to Lambda. */
function scheduledEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: '2026-11-25T06:00:00Z',
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:123456789012:rule/lifeboat-dev-snapshot'],
    detail: {},
    ...overrides,
  };
}

function validationError(event: unknown): EventValidationError {
  try {
    parseSnapshotTrigger(event, config, now);
  } catch (error) {
    if (error instanceof EventValidationError) return error;
    throw error;
  }
  throw new Error('test: expected an EventValidationError');
}

describe('parseSnapshotTrigger', () => {
  it('returns a schedule trigger for every instance when the event is a schedule tick', () => {
    expect(parseSnapshotTrigger(scheduledEvent(), config, now)).toEqual({
      kind: 'schedule',
      time: new Date('2026-11-25T06:00:00Z'),
      force: false,
      instanceIds: ['petstore', 'payments'],
    });
  });

  it('accepts fields AWS may add when the schedule tick carries extra ones', () => {
    const trigger = parseSnapshotTrigger(
      scheduledEvent({ 'replay-name': 'r1', extra: 1 }),
      config,
      now,
    );
    expect(trigger.kind).toBe('schedule');
  });

  it('returns a forced request for the named instances when the event is a snapshot request', () => {
    expect(
      parseSnapshotTrigger({ action: 'snapshot', instances: ['payments'] }, config, now),
    ).toEqual({
      kind: 'request',
      time: now,
      force: true,
      instanceIds: ['payments'],
    });
  });

  it('uses the given time and force when the request sets them', () => {
    const trigger = parseSnapshotTrigger(
      { action: 'snapshot', time: '2026-11-24T23:59:59Z', force: false },
      config,
      now,
    );
    expect(trigger).toEqual({
      kind: 'request',
      time: new Date('2026-11-24T23:59:59Z'),
      force: false,
      instanceIds: ['petstore', 'payments'],
    });
  });

  it.each([
    ['time is missing', scheduledEvent({ time: undefined }), 'time'],
    ['time is not a timestamp', scheduledEvent({ time: 'yesterday at six' }), 'time'],
    [
      'detail-type is not Scheduled Event',
      scheduledEvent({ 'detail-type': 'Object Created' }),
      'detail-type',
    ],
    ['source is not aws.events', scheduledEvent({ source: 'lifeboat' }), 'source'],
    ['resources is not a list', scheduledEvent({ resources: 'arn' }), 'resources'],
    ['detail is not an object', scheduledEvent({ detail: 'x' }), 'detail'],
  ])(
    'raises EventValidationError naming the field when a schedule tick has %s',
    (_case, event, field) => {
      const error = validationError(event);
      expect(error.eventKind).toBe('schedule');
      expect(error.field).toBe(field);
      expect(error.message).toContain(`invalid schedule event: ${field}: `);
    },
  );

  it.each([
    ['the action is not snapshot', { action: 'restore' }, 'action', ''],
    ['the action is missing', { instances: ['petstore'] }, 'action', ''],
    ['instances is empty', { action: 'snapshot', instances: [] }, 'instances', ''],
    [
      'an instance is not a string',
      { action: 'snapshot', instances: ['petstore', 7] },
      'instances[1]',
      '',
    ],
    [
      'an instance is unknown',
      { action: 'snapshot', instances: ['petstore', 'ghost'] },
      'instances[1]',
      'unknown instance "ghost"',
    ],
    ['time is not ISO', { action: 'snapshot', time: '25/11/2026' }, 'time', ''],
    ['force is not a boolean', { action: 'snapshot', force: 'yes' }, 'force', ''],
  ])('raises EventValidationError naming the field when %s', (_case, event, field, detail) => {
    const error = validationError(event);
    expect(error.eventKind).toBe('snapshot request');
    expect(error.field).toBe(field);
    expect(error.message).toContain(`${field}: `);
    expect(error.message).toContain(detail);
  });

  it('names the unknown field in the message when the request has one', () => {
    const error = validationError({ action: 'snapshot', instance: 'petstore' });
    expect(error.message).toContain('"instance"');
  });

  it.each([null, undefined, 42, 'snapshot', [], [{ action: 'snapshot' }]])(
    'raises EventValidationError when the event is %j',
    (event) => {
      expect(() => parseSnapshotTrigger(event, config, now)).toThrow(EventValidationError);
    },
  );

  it('never throws anything but EventValidationError when the event is arbitrary JSON', () => {
    const keys = fc.constantFrom(
      'detail-type',
      'action',
      'time',
      'source',
      'instances',
      'detail',
      'force',
      'id',
    );
    const eventish = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(keys, fc.jsonValue()),
      fc.record(
        { action: fc.constant('snapshot'), instances: fc.array(fc.string()), time: fc.string() },
        { requiredKeys: [] },
      ),
      fc.jsonValue().map((v) => ({ ...scheduledEvent(), time: v })),
    );
    fc.assert(
      fc.property(eventish, (event) => {
        try {
          const trigger = parseSnapshotTrigger(event, config, now);
          expect(Number.isNaN(trigger.time.getTime())).toBe(false);
          for (const id of trigger.instanceIds) expect(['petstore', 'payments']).toContain(id);
        } catch (error) {
          if (!(error instanceof EventValidationError)) throw error;
          expect(error.message.startsWith('invalid ')).toBe(true);
        }
      }),
      { numRuns: 3000, seed: 20261125 },
    );
  });
});
