import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../../shared/config/load.ts';
import { EventValidationError } from '../../../../shared/errors.ts';
import { parseInstanceScheduleEvent } from '../../../../shared/schemas/instance-schedule.ts';

const config = loadConfig(DEFAULT_CONFIG_PATH);
const [first, second] = config.instances;
/** A schedule only the first configured instance has. */
const schedule = {
  eventKind: 'drill',
  setting: 'drill.schedule',
  configured: (instance: { id: string }) => instance.id === first?.id,
};

/** The error `parseInstanceScheduleEvent` raises on `event`, or undefined when it accepts it. */
function rejection(event: unknown): EventValidationError | undefined {
  try {
    parseInstanceScheduleEvent(event, config, schedule);
  } catch (error) {
    if (error instanceof EventValidationError) return error;
    throw error;
  }
  return undefined;
}

describe('parseInstanceScheduleEvent', () => {
  it('returns the named instance when it is configured for the schedule', () => {
    expect(parseInstanceScheduleEvent({ instanceId: first?.id }, config, schedule)).toBe(first);
  });

  it('names the field and the event kind when the input has no instance id', () => {
    const error = rejection({});
    expect(error?.eventKind).toBe('drill');
    expect(error?.field).toBe('instanceId');
  });

  it('says which setting the instance lacks when it is not configured for the schedule', () => {
    expect(rejection({ instanceId: second?.id })?.message).toContain(
      `${second?.id} has no drill.schedule`,
    );
  });
});
