import { z } from 'zod';
import { findInstance } from '../config/load.ts';
import type { InstanceConfig, LifeboatConfig } from '../config/schema.ts';
import { EventValidationError } from '../errors.ts';
import { parseEvent } from './parse.ts';

/** A per-instance scheduled event: one rule per instance, its id as the rule's input. */
const InstanceScheduleEventSchema = z.object({ instanceId: z.string().min(1) });

/** What a per-instance schedule is for: its name in errors, and the setting that enables it. */
export interface InstanceSchedule {
  eventKind: string;
  /** The setting, as the error names it when the instance lacks it. */
  setting: string;
  configured: (instance: InstanceConfig) => boolean;
}

/**
 * Validates a per-instance schedule's event and returns the configured instance it names; an
 * instance without the schedule's setting is refused (its rule outlived a config change).
 */
export function parseInstanceScheduleEvent(
  event: unknown,
  config: LifeboatConfig,
  schedule: InstanceSchedule,
): InstanceConfig {
  const { instanceId } = parseEvent(InstanceScheduleEventSchema, event, schedule.eventKind);
  const instance = findInstance(config, instanceId);
  if (!schedule.configured(instance)) {
    throw new EventValidationError(
      schedule.eventKind,
      'instanceId',
      `${instance.id} has no ${schedule.setting}`,
    );
  }
  return instance;
}
