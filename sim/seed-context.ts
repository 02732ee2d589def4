import type { LifeboatConfig } from '../shared/config/schema.ts';
import type { DetectorSettings } from '../shared/domain/detection/region-health.ts';
import type { Clock } from '../shared/domain/ports.ts';
import type { Rng } from '../shared/random.ts';
import type { Scenario } from './scenario.ts';
import type { Scheduler } from './scheduler.ts';
import type { TraceEntry } from './trace.ts';
import type { SimWorld } from './world.ts';

/** When every seed's world starts. */
export const START = Date.parse('2026-11-25T06:00:00.000Z');

/** What the parts of one seed's run share: the world, its clock, its streams of randomness. */
export interface SeedContext {
  seed: number;
  scenario: Scenario;
  config: LifeboatConfig;
  sched: Scheduler;
  world: SimWorld;
  clock: Clock;
  regions: string[];
  settings: DetectorSettings;
  /** Fault draws of the world, and the detector's backoff and the probes' jitter. */
  faultRng: Rng;
  /** EventBridge's delays and duplicates. */
  deliveryRng: Rng;
  record: (entry: TraceEntry) => void;
  /** Counts the run reports. */
  stats: { events: number; exhaustedDeliveries: number };
}
