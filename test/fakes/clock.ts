import type { Clock } from '../../shared/domain/ports.ts';

/** Milliseconds in common units, so tests read `clock.advance(2 * DAY)`. */
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * A clock that only moves when told to. With `tickMs`, every `now()` also moves it forward, so
 * durations measured with it are non-zero and deterministic.
 */
export class FakeClock implements Clock {
  private ms: number;

  constructor(
    start: Date | string = '2026-11-25T06:00:00Z',
    private readonly tickMs = 0,
  ) {
    this.ms = new Date(start).getTime();
  }

  now(): Date {
    const at = new Date(this.ms);
    this.ms += this.tickMs;
    return at;
  }

  /** Moves time forward (or back, with a negative amount) without reading it. */
  advance(ms: number): void {
    this.ms += ms;
  }

  set(at: Date | string): void {
    this.ms = new Date(at).getTime();
  }

  /** The current time, without ticking. */
  peek(): Date {
    return new Date(this.ms);
  }
}
