import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';
import { EVENT_SOURCE, NOTIFIED_EVENTS } from '../domain/events.ts';
import type { NotifiedEvent } from '../domain/notifications/format.ts';
import { parseEvent } from './parse.ts';

/**
 * An event the notify rule delivers: one of lifeboat's notified detail types with an object
 * detail. The detail's own fields are not checked here: every emitter validates what it
 * publishes, and a notification is sent even for a detail that lacks a field.
 */
export const NotifyEventSchema = EventBridgeSchema.extend({
  source: z.literal(EVENT_SOURCE),
  'detail-type': z.enum(NOTIFIED_EVENTS as [string, ...string[]], {
    error: `must be one of the notified events (${NOTIFIED_EVENTS.join(', ')})`,
  }),
  detail: z.record(z.string(), z.unknown()),
});

/** Parses an event for the notify function; a malformed one names the field. */
export function parseNotifyEvent(event: unknown): NotifiedEvent {
  const parsed = parseEvent(NotifyEventSchema, event, 'notification');
  return {
    id: parsed.id,
    'detail-type': parsed['detail-type'],
    source: parsed.source,
    time: parsed.time,
    region: parsed.region,
    detail: parsed.detail,
  };
}
