import { parseEvent } from './parse.ts';
import { ScheduledEventSchema } from './snapshot-trigger.ts';

/** A schedule tick, reduced to the one field the scheduled functions use. */
export interface ScheduleTick {
  time: Date;
}

/** Validates an EventBridge schedule tick (the same schema the snapshot function applies). */
export function parseScheduleTick(event: unknown): ScheduleTick {
  return { time: new Date(parseEvent(ScheduledEventSchema, event, 'schedule').time) };
}
