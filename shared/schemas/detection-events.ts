import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';
import type { LifeboatConfig } from '../config/schema.ts';
import type { Signal } from '../domain/detection/region-health.ts';
import { ALARM_PREFIX, AwsEvent, DetailType, EVENT_SOURCE } from '../domain/events.ts';
import { EventValidationError } from '../errors.ts';
import { parseEvent } from './parse.ts';
import { ScheduledEventSchema } from './snapshot-trigger.ts';

/** The detail of a "Health Observed" event: one probe result. */
export const ObservationSchema = z.strictObject({
  vantage: z.string().min(1),
  target: z.string().min(1),
  zone: z.string().min(1),
  instanceId: z.string().min(1),
  ok: z.boolean(),
  status: z.int().min(100).max(599).optional(),
  error: z.string().max(2000).optional(),
  latencyMs: z.number().min(0),
  at: z.iso.datetime({ offset: true }),
});

/**
 * "Health Observed", as the probe function emits it on lifeboat's bus: one event per probe
 * round of one vantage, carrying every endpoint's result. One event per round, not per
 * endpoint, keeps EventBridge costs and the detector's compare-and-swap writes per round
 * constant as instances and zones are added.
 */
export const HealthObservedEventSchema = EventBridgeSchema.extend({
  source: z.literal(EVENT_SOURCE),
  'detail-type': z.literal(DetailType.HealthObserved),
  detail: z.strictObject({
    vantage: z.string().min(1),
    observations: z.array(ObservationSchema).min(1).max(1000),
  }),
});

/** EventBridge's "CloudWatch Alarm State Change" (only the fields lifeboat reads are required). */
export const AlarmStateChangeEventSchema = EventBridgeSchema.extend({
  source: z.literal(AwsEvent.AlarmStateChange.source),
  'detail-type': z.literal(AwsEvent.AlarmStateChange.detailType),
  detail: z.looseObject({
    alarmName: z.string().min(1),
    state: z.looseObject({ value: z.enum(['ALARM', 'OK', 'INSUFFICIENT_DATA']) }),
  }),
});

/** EventBridge's "AWS Health Event". */
export const HealthEventSchema = EventBridgeSchema.extend({
  source: z.literal(AwsEvent.HealthEvent.source),
  'detail-type': z.literal(AwsEvent.HealthEvent.detailType),
  detail: z.looseObject({
    eventArn: z.string().min(1),
    service: z.string().min(1),
    eventTypeCategory: z.string().min(1),
    statusCode: z.enum(['open', 'closed', 'upcoming']),
    eventRegion: z.string().optional(),
  }),
});

/** Alarm names lifeboat creates (serverless.yml) and recognises: one per instance and region. */
export function alarmNameFor(instanceId: string, region: string): string {
  return `${ALARM_PREFIX}${instanceId}-${region}`;
}

// Only a string can name a supported event. Anything else is shown by its type: String() of a
// deeply nested array overflows the stack, and of a null-prototype object throws a TypeError.
function nameOf(value: unknown): string {
  if (typeof value === 'string') return value;
  return `(${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`;
}

const SUPPORTED = [
  'lifeboat / Health Observed',
  'aws.cloudwatch / CloudWatch Alarm State Change',
  'aws.health / AWS Health Event',
  'aws.events / Scheduled Event',
];

/**
 * Turns any event the detector accepts into a domain signal, checking every region, instance
 * and alarm it names against the config. `undefined` means "valid, but nothing to act on"
 * (an AWS Health event that is not an issue).
 */
export function parseDetectorEvent(event: unknown, config: LifeboatConfig): Signal[] {
  const envelope = (event ?? {}) as { source?: unknown; 'detail-type'?: unknown };
  const kind = `${nameOf(envelope.source)} / ${nameOf(envelope['detail-type'])}`;
  const regions = new Set(config.regions.map((r) => r.name));
  const instances = new Set(config.instances.map((i) => i.id));
  const requireRegion = (eventKind: string, field: string, value: string) => {
    if (!regions.has(value)) {
      throw new EventValidationError(
        eventKind,
        field,
        `unknown region "${value}" (configured: ${[...regions].join(', ')})`,
      );
    }
  };
  switch (kind) {
    case 'lifeboat / Health Observed': {
      const parsed = parseEvent(HealthObservedEventSchema, event, 'Health Observed');
      const { vantage, observations } = parsed.detail;
      requireRegion('Health Observed', 'detail.vantage', vantage);
      return observations.map((o, index): Signal => {
        const field = `detail.observations[${index}]`;
        if (o.vantage !== vantage) {
          throw new EventValidationError(
            'Health Observed',
            `${field}.vantage`,
            `is "${o.vantage}" in a round of "${vantage}"`,
          );
        }
        requireRegion('Health Observed', `${field}.target`, o.target);
        if (!instances.has(o.instanceId)) {
          throw new EventValidationError(
            'Health Observed',
            `${field}.instanceId`,
            `unknown instance "${o.instanceId}"`,
          );
        }
        return { kind: 'observation', observation: { ...o, at: new Date(o.at).toISOString() } };
      });
    }
    case 'aws.cloudwatch / CloudWatch Alarm State Change': {
      const parsed = parseEvent(
        AlarmStateChangeEventSchema,
        event,
        'CloudWatch Alarm State Change',
      );
      const name = parsed.detail.alarmName;
      for (const instance of config.instances) {
        for (const region of regions) {
          if (alarmNameFor(instance.id, region) === name) {
            return [
              {
                kind: 'alarm',
                alarm: {
                  alarmName: name,
                  region,
                  instanceId: instance.id,
                  state: parsed.detail.state.value,
                  at: parsed.time,
                },
              },
            ];
          }
        }
      }
      throw new EventValidationError(
        'CloudWatch Alarm State Change',
        'detail.alarmName',
        `"${name}" is not a lifeboat alarm (expected lifeboat-health-<instance>-<region> for a configured instance and region)`,
      );
    }
    case 'aws.health / AWS Health Event': {
      const parsed = parseEvent(HealthEventSchema, event, 'AWS Health Event');
      if (parsed.detail.eventTypeCategory !== 'issue') return [];
      const region = parsed.detail.eventRegion ?? parsed.region;
      requireRegion(
        'AWS Health Event',
        parsed.detail.eventRegion !== undefined ? 'detail.eventRegion' : 'region',
        region,
      );
      return [
        {
          kind: 'health',
          health: {
            eventArn: parsed.detail.eventArn,
            region,
            service: parsed.detail.service,
            status: parsed.detail.statusCode,
            at: parsed.time,
          },
        },
      ];
    }
    case 'aws.events / Scheduled Event': {
      const parsed = parseEvent(ScheduledEventSchema, event, 'schedule');
      return [{ kind: 'tick', at: parsed.time }];
    }
    default:
      throw new EventValidationError(
        'detector',
        'source/detail-type',
        `unsupported event "${kind}" (supported: ${SUPPORTED.join('; ')})`,
      );
  }
}
