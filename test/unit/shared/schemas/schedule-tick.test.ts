import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EventValidationError } from '../../../../shared/errors.ts';
import { parseScheduleTick } from '../../../../shared/schemas/schedule-tick.ts';

const eventFile = (name: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`../../../../events/${name}`, import.meta.url)), 'utf8'),
  );

/** The error `parseScheduleTick` raises on `event`, or undefined when it accepts it. */
function rejection(event: unknown): EventValidationError | undefined {
  try {
    parseScheduleTick(event);
  } catch (error) {
    if (error instanceof EventValidationError) return error;
    throw error;
  }
  return undefined;
}

describe('parseScheduleTick', () => {
  it("returns the tick's own time when the event is a schedule tick", () => {
    expect(parseScheduleTick(eventFile('schedule.json'))).toEqual({
      time: new Date('2026-11-25T06:00:00Z'),
    });
  });

  it('raises an EventValidationError naming the field when the time is not a timestamp', () => {
    const error = rejection(eventFile('schedule-malformed.json'));
    expect(error?.eventKind).toBe('schedule');
    expect(error?.field).toBe('time');
  });

  it('raises an EventValidationError naming the source when the event is not from the scheduler', () => {
    expect(rejection({ ...eventFile('schedule.json'), source: 'lifeboat' })?.field).toBe('source');
  });
});
