import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';
import type { LifeboatConfig } from '../config/schema.ts';
import { DetailType, EVENT_SOURCE } from '../domain/events.ts';
import { EventValidationError } from '../errors.ts';
import { parseEvent } from './parse.ts';

/** "Region Outage Confirmed", as the detector emits it. */
export const OutageConfirmedEventSchema = EventBridgeSchema.extend({
  source: z.literal(EVENT_SOURCE),
  'detail-type': z.literal(DetailType.RegionOutageConfirmed),
  detail: z.looseObject({
    eventId: z.string().min(1),
    region: z.string().min(1),
    incidentId: z.string().min(1),
    outageStartedAt: z.iso.datetime({ offset: true }),
    confirmedAt: z.iso.datetime({ offset: true }),
  }),
});

/** A parsed outage confirmation, with the envelope id that identifies this delivery. */
export interface OutageConfirmed {
  /** EventBridge's id: stable across retries of one delivery, distinct per detector. */
  deliveryId: string;
  region: string;
  incidentId: string;
  outageStartedAt: string;
  confirmedAt: string;
}

/** Parses "Region Outage Confirmed" and checks the region against the config. */
export function parseOutageConfirmed(event: unknown, config: LifeboatConfig): OutageConfirmed {
  const parsed = parseEvent(OutageConfirmedEventSchema, event, 'Region Outage Confirmed');
  const known = config.regions.map((r) => r.name);
  if (!known.includes(parsed.detail.region)) {
    throw new EventValidationError(
      'Region Outage Confirmed',
      'detail.region',
      `unknown region "${parsed.detail.region}" (configured: ${known.join(', ')})`,
    );
  }
  return {
    deliveryId: parsed.id,
    region: parsed.detail.region,
    incidentId: parsed.detail.incidentId,
    outageStartedAt: new Date(parsed.detail.outageStartedAt).toISOString(),
    confirmedAt: new Date(parsed.detail.confirmedAt).toISOString(),
  };
}

const RUN_ID = /^[a-z0-9][a-z0-9-]{0,62}-g\d+$/;

const chainSchemas = new Map<string, ReturnType<typeof buildChainEventSchema>>();

/** The chain's own events: "Recovery Planned", "Instance Restored", "Instance Verified". */
export function chainEventSchema(detailType: string) {
  // Built once per detail type: constructing a zod schema costs ~60x the parse itself.
  let schema = chainSchemas.get(detailType);
  if (!schema) {
    schema = buildChainEventSchema(detailType);
    chainSchemas.set(detailType, schema);
  }
  return schema;
}

function buildChainEventSchema(detailType: string) {
  return EventBridgeSchema.extend({
    source: z.literal(EVENT_SOURCE),
    'detail-type': z.literal(detailType),
    detail: z.looseObject({
      runId: z.string().regex(RUN_ID, 'must be a run id such as petstore-g1'),
      instanceId: z.string().min(1),
      claimSet: z.array(z.string().min(1)).min(1),
    }),
  });
}

/** A step's trigger: which run, and where its state lives. */
export interface ChainTrigger {
  runId: string;
  instanceId: string;
  claimSet: string[];
}

/** Parses a chain event and checks its instance and regions against the config. */
export function parseChainEvent(
  event: unknown,
  detailType: string,
  config: LifeboatConfig,
): ChainTrigger {
  const parsed = parseEvent(chainEventSchema(detailType), event, detailType);
  const { runId, instanceId, claimSet } = parsed.detail;
  if (!config.instances.some((i) => i.id === instanceId)) {
    throw new EventValidationError(
      detailType,
      'detail.instanceId',
      `unknown instance "${instanceId}"`,
    );
  }
  const known = config.regions.map((r) => r.name);
  claimSet.forEach((region, index) => {
    if (!known.includes(region)) {
      throw new EventValidationError(
        detailType,
        `detail.claimSet[${index}]`,
        `unknown region "${region}"`,
      );
    }
  });
  return { runId, instanceId, claimSet };
}

/** "Region Recovered", as the detector emits it. */
export const RegionRecoveredEventSchema = EventBridgeSchema.extend({
  source: z.literal(EVENT_SOURCE),
  'detail-type': z.literal(DetailType.RegionRecovered),
  detail: z.looseObject({
    region: z.string().min(1),
    recoveredAt: z.iso.datetime({ offset: true }),
  }),
});

/** A parsed "Region Recovered". */
export interface RegionRecovered {
  deliveryId: string;
  region: string;
  recoveredAt: string;
}

/** Parses "Region Recovered" and checks the region against the config. */
export function parseRegionRecovered(event: unknown, config: LifeboatConfig): RegionRecovered {
  const parsed = parseEvent(RegionRecoveredEventSchema, event, 'Region Recovered');
  const known = config.regions.map((r) => r.name);
  if (!known.includes(parsed.detail.region)) {
    throw new EventValidationError(
      'Region Recovered',
      'detail.region',
      `unknown region "${parsed.detail.region}" (configured: ${known.join(', ')})`,
    );
  }
  return {
    deliveryId: parsed.id,
    region: parsed.detail.region,
    recoveredAt: parsed.detail.recoveredAt,
  };
}

/** What "Region Recovered" asks of one instance: the request the fan-out publishes. */
export interface FailbackRequest {
  instanceId: string;
  /** The region that recovered: home for a failback, the returning region for active-active. */
  region: string;
  recoveredAt: string;
  /** The "Region Recovered" delivery: the claimant, so every detector's signal claims once. */
  claimant: string;
}

/** "Failback Requested", one per instance, as the failback function fans "Region Recovered" out. */
export const FailbackRequestedEventSchema = EventBridgeSchema.extend({
  source: z.literal(EVENT_SOURCE),
  'detail-type': z.literal(DetailType.FailbackRequested),
  detail: z.looseObject({
    instanceId: z.string().min(1),
    region: z.string().min(1),
    recoveredAt: z.iso.datetime({ offset: true }),
    claimant: z.string().min(1),
  }),
});

/** What the failback function was invoked for: a whole region, or one instance of it. */
export type FailbackTrigger =
  | { kind: 'region'; recovered: RegionRecovered }
  | { kind: 'instance'; request: FailbackRequest };

/**
 * Parses either trigger of the failback function. The detail-type chooses the schema, so an
 * event of any other type is refused by name rather than by a union's vaguest branch.
 */
export function parseFailbackTrigger(event: unknown, config: LifeboatConfig): FailbackTrigger {
  const detailType = (event as { 'detail-type'?: unknown } | null)?.['detail-type'];
  if (detailType === DetailType.RegionRecovered)
    return { kind: 'region', recovered: parseRegionRecovered(event, config) };
  if (detailType !== DetailType.FailbackRequested) {
    throw new EventValidationError(
      'failback trigger',
      'detail-type',
      `expected "Region Recovered" or "Failback Requested", got ${JSON.stringify(detailType) ?? 'nothing'}`,
    );
  }
  const { detail } = parseEvent(FailbackRequestedEventSchema, event, 'Failback Requested');
  const known = config.regions.map((r) => r.name);
  if (!known.includes(detail.region)) {
    throw new EventValidationError(
      'Failback Requested',
      'detail.region',
      `unknown region "${detail.region}" (configured: ${known.join(', ')})`,
    );
  }
  if (!config.instances.some((i) => i.id === detail.instanceId)) {
    throw new EventValidationError(
      'Failback Requested',
      'detail.instanceId',
      `unknown instance "${detail.instanceId}"`,
    );
  }
  return {
    kind: 'instance',
    request: {
      instanceId: detail.instanceId,
      region: detail.region,
      recoveredAt: new Date(detail.recoveredAt).toISOString(),
      claimant: detail.claimant,
    },
  };
}
