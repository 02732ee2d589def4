import type { SdkTally } from './sdk-meter.ts';

/** What run.ts asks of a lifeboat-phase process. */
export type PhaseRequest =
  | { mode: 'snapshot'; configPath: string; instanceId: string }
  | { mode: 'restore'; configPath: string; instanceId: string; from: string; into: string };

/** What a lifeboat-phase process reports back, on its last stdout line. */
export interface PhaseReport {
  /** Time inside the operation, without process start and module loading. */
  phaseMs: number;
  /** RSS once modules are loaded and clients built, before the operation. */
  startRssKiB: number;
  tally: SdkTally;
  /**
   * Peaks of `process.memoryUsage()` sampled every 50 ms during the operation (MiB): where the
   * RSS goes (V8 heap, or Buffers outside it).
   */
  memory?: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  result: unknown;
}

/** Marks the result line, so nothing else a library prints can be mistaken for it. */
export const RESULT_PREFIX = '__LIFEBOAT_PHASE__ ';
