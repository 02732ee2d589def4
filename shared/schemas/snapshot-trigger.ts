import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';
import type { LifeboatConfig } from '../config/schema.ts';
import { EventValidationError } from '../errors.ts';
import { parseEvent } from './parse.ts';

/** An EventBridge schedule tick, exactly as AWS delivers it. */
export const ScheduledEventSchema = EventBridgeSchema.extend({
  'detail-type': z.literal('Scheduled Event'),
  source: z.literal('aws.events'),
  detail: z.looseObject({}),
});

/** A request to snapshot now: from an operator, the CLI, or a failback run. */
export const SnapshotRequestSchema = z.strictObject({
  action: z.literal('snapshot'),
  /** Instances to snapshot; all configured instances when absent. */
  instances: z.array(z.string().min(1)).min(1).optional(),
  /** Snapshot even if the instance is not due by its schedule. */
  force: z.boolean().default(true),
  /** Trigger time, which fixes the snapshot id; now when absent. */
  time: z.iso.datetime().optional(),
});

/** What the snapshot function acts on, whichever way it was invoked. */
export interface SnapshotTrigger {
  kind: 'schedule' | 'request';
  time: Date;
  force: boolean;
  instanceIds: string[];
}

/**
 * Validates a snapshot invocation against its schema and the config. The shape decides which
 * schema applies, so a broken schedule event is reported against the schedule schema.
 */
export function parseSnapshotTrigger(
  event: unknown,
  config: LifeboatConfig,
  now: Date,
): SnapshotTrigger {
  const all = config.instances.map((i) => i.id);
  // Either envelope field marks an EventBridge event, so a tick that lost one of them is
  // reported as a broken tick (naming the missing field), not as a malformed request.
  if (
    event !== null &&
    typeof event === 'object' &&
    ('detail-type' in event || 'source' in event)
  ) {
    const scheduled = parseEvent(ScheduledEventSchema, event, 'schedule');
    return { kind: 'schedule', time: new Date(scheduled.time), force: false, instanceIds: all };
  }
  const request = parseEvent(SnapshotRequestSchema, event, 'snapshot request');
  const ids = request.instances ?? all;
  ids.forEach((id, index) => {
    if (!all.includes(id)) {
      throw new EventValidationError(
        'snapshot request',
        `instances[${index}]`,
        `unknown instance "${id}" (configured: ${all.join(', ')})`,
      );
    }
  });
  return {
    kind: 'request',
    time: request.time ? new Date(request.time) : now,
    force: request.force,
    instanceIds: ids,
  };
}
