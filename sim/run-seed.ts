import { detectorSettings } from '../shared/domain/detection/region-health.ts';
import type { Clock } from '../shared/domain/ports.ts';
import { Rng } from '../shared/random.ts';
import { EventDelivery } from './delivery.ts';
import { finishSeed } from './finish.ts';
import { SimFunctions } from './functions.ts';
import { allCheckers, type Checker, type Violation } from './invariants.ts';
import { describeScenario, drawScenario, type Scenario } from './scenario.ts';
import { Scheduler } from './scheduler.ts';
import {
  recordSetup,
  scheduleFaults,
  scheduleProbes,
  scheduleRestoreTests,
  scheduleSnapshots,
  scheduleTicks,
  scheduleWrites,
  seedWorld,
} from './schedules.ts';
import { type SeedContext, START } from './seed-context.ts';
import type { TraceEntry } from './trace.ts';
import { SimWorld } from './world.ts';

/**
 * One seed, start to end: draw a scenario, build the world, then let the schedules, EventBridge
 * and the seeded faults drive the real domain code (the same functions the Lambda handlers
 * call) while every invariant watches the trace.
 */

/** How a seed went. */
export interface SeedResult {
  seed: number;
  scenario: string;
  steps: number;
  violations: Violation[];
  /** Runs an operator had to resume although nothing alerted anyone (see docs/simulation.md). */
  silentlyStuck: number;
  runs: number;
  /** Lambda invocations that failed all their attempts (their event is gone). */
  exhaustedDeliveries: number;
  trace: TraceEntry[];
}

/** What a seed run can be told to do differently: tests break components through these. */
export interface SeedOptions {
  /** Keep the whole trace in the result (determinism tests); default: only on failure. */
  keepTrace?: boolean;
  /** Replaces the world's ports after they are built, to prove the checkers catch a bug. */
  mutate?: (world: SimWorld) => void;
  /** Override the drawn scenario (tests pin the kind of trouble). */
  scenario?: (scenario: Scenario) => Scenario;
}

/** Runs one seed. */
export async function runSeed(seed: number, options: SeedOptions = {}): Promise<SeedResult> {
  // The order of the forks and of the scheduling below is part of what a seed means: a seed
  // replays exactly only while it stays the same.
  const rng = new Rng(seed);
  const drawn = drawScenario(rng.fork());
  const scenario = options.scenario ? options.scenario(drawn) : drawn;
  const { config } = scenario;
  const sched = new Scheduler(START);
  const { record, trace, violations } = checkedTrace();
  const faultRng = rng.fork();
  const world = new SimWorld(config, sched, faultRng, scenario.rates, record);
  if (scenario.writes?.fenceLagMs !== undefined)
    world.advisoryFenceLagMs.set(scenario.writes.instanceId, scenario.writes.fenceLagMs);
  const deliveryRng = rng.fork();
  const clock: Clock = { now: () => new Date(sched.now) };
  const ctx: SeedContext = {
    seed,
    scenario,
    config,
    sched,
    world,
    clock,
    regions: config.regions.map((r) => r.name),
    settings: detectorSettings(config.detection, config.regions.length),
    faultRng,
    deliveryRng,
    record,
    stats: { events: 0, exhaustedDeliveries: 0 },
  };

  recordSetup(ctx);
  seedWorld(ctx, rng.fork());
  const delivery = new EventDelivery(ctx);
  const functions = new SimFunctions(ctx, delivery);
  delivery.wire(functions.dispatch);
  scheduleSnapshots(ctx, delivery);
  scheduleProbes(ctx, delivery);
  scheduleTicks(ctx, functions);
  scheduleWrites(ctx, () => rng.fork());
  scheduleFaults(ctx);
  // Forked last, so the tests' draws leave every earlier stream of the seed as it was.
  scheduleRestoreTests(ctx, functions, rng.fork());
  options.mutate?.(world);

  // Run, drain without injected faults, then let the operator look at what is left.
  await sched.runUntil(START + scenario.endAt, () => undefined);
  world.faultsOn = false;
  await sched.runUntil(START + scenario.endAt + scenario.drainMs, () => undefined);
  const silentlyStuck = await finishSeed(ctx, functions);
  const { exhaustedDeliveries } = ctx.stats;

  return {
    seed,
    scenario: describeScenario(scenario),
    steps: sched.steps,
    violations,
    silentlyStuck,
    runs: world.runs.size,
    exhaustedDeliveries,
    trace: options.keepTrace || violations.length > 0 ? trace : [],
  };
}

/** The trace, with every checker watching each entry as it is recorded. */
function checkedTrace() {
  const trace: TraceEntry[] = [];
  const checkers: Checker[] = allCheckers();
  const violations: Violation[] = [];
  const record = (entry: TraceEntry) => {
    trace.push(entry);
    for (const checker of checkers) {
      for (const v of checker.observe(entry)) if (violations.length < 20) violations.push(v);
    }
  };
  return { record, trace, violations };
}
