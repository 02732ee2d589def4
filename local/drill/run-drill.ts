import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { InvocationKilledError } from '../../shared/errors.ts';
import { playActiveActive } from './active-active.ts';
import type { CrashPlan } from './crash.ts';
import { type DrillInstanceKind, drillKind } from './kinds.ts';
import {
  checkNothingRecovered,
  playFlapping,
  playRegionOutage,
  playZoneOutage,
  REAL_WINDOW_SECONDS,
  SCALED_WINDOW_SECONDS,
} from './phases.ts';
import { playPractice } from './practice.ts';
import type { DrillReport } from './report.ts';
import { DrillSession } from './session.ts';
import { phaseBands } from './timeline.ts';
import { DRILL_DETECTION, DrillWorld } from './world.ts';

/** The scenarios a drill can play. */
export const SCENARIOS = [
  'region-outage',
  'zone-outage',
  'flapping',
  'partition',
  'destroyed',
  'multi',
  'active-active',
] as const;
/** One scenario's name. */
export type Scenario = (typeof SCENARIOS)[number];

/** How a drill is asked for. */
export interface DrillOptions {
  scenario: Scenario;
  regions: number;
  instances: number;
  seed: number;
  endpoint: string;
  /** What the instances are (default: the object-store reference instance). */
  instanceKind?: DrillInstanceKind;
  /** A real crash: the first invocation of this step is killed mid-step (its thread ends). */
  crash?: CrashPlan;
  /** Progress lines, as they happen. */
  log: (line: string) => void;
}

/** Plays one scenario end to end and reports what happened and which invariants held. */
export async function runDrill(
  baseConfig: LifeboatConfig,
  options: DrillOptions,
): Promise<DrillReport> {
  const instanceCount =
    options.scenario === 'multi' ? Math.max(options.instances, 3) : options.instances;
  const world = new DrillWorld({
    endpoint: options.endpoint,
    baseConfig,
    regions: options.regions,
    instances: instanceCount,
    seed: options.seed,
    instanceKind: options.instanceKind,
    // active-active: the first instance is critical, in its home and the control region.
    ...(options.scenario === 'active-active' ? { critical: ['petstore'] } : {}),
    ...(options.crash ? { crash: options.crash } : {}),
  });
  const s = new DrillSession(world, options.log);
  try {
    await play(s, options);
  } catch (error) {
    s.hold('the drill ran to the end', false, (error as Error).stack ?? String(error));
  } finally {
    await world.stopSchedules().catch(() => undefined);
    s.drainTimeline();
    await s
      .settle()
      .catch((error: unknown) => s.hold('the drill read back its runs', false, String(error)));
    await world.close();
  }
  return report(s, options);
}

/** Starts the world, takes a snapshot, plays the scenario's phases and checks the functions. */
async function play(s: DrillSession, options: DrillOptions): Promise<void> {
  const { world } = s;
  await world.start();
  const home = world.homeRegion;
  const ids = world.config.instances.map((i) => i.id);
  s.mark(
    'world',
    `${world.regionNames.length} regions (${world.regionNames.join(', ')}), ${ids.length} instance(s) homed in ${home}; functions run in ${world.controlRegion}`,
  );

  // A snapshot a little in the past, so the RPO of the drill is visible and non-zero.
  await world.snapshotAll(new Date(Date.now() - 5000));
  // Each instance's scheduled restore test, into a scratch prefix nothing serves.
  const tests = await world.restoreTests();
  s.mark(
    'restore test',
    tests
      .map(
        ({ result: t }) =>
          `${t.instanceId} ${t.passed ? 'passed' : `failed (${t.reason})`} from ${t.region}`,
      )
      .join('; ') || 'none scheduled',
  );
  s.hold(
    'every scheduled restore test passed and left no scratch copy',
    tests.length > 0 && tests.every((t) => t.result.passed && t.scratchLeft === 0),
    tests
      .map(
        ({ result: t, scratchLeft }) =>
          `${t.instanceId}: ${t.passed ? 'passed' : t.reason}, ${t.objects} objects, ${scratchLeft} left`,
      )
      .join('; '),
  );
  await world.pump.drain();
  s.drainTimeline();
  for (const id of ids)
    s.dns[id] = { before: await s.readWeights(id, 'before'), afterRecovery: {}, afterFailback: {} };
  await s.run(2000);
  // One practice while home serves: it must leave DNS and home byte-identical.
  s.practice = await playPractice(s, options.endpoint);
  const failures = () => world.pump.failures.length;
  const quietFailures = failures();

  switch (options.scenario) {
    case 'zone-outage':
      await playZoneOutage(s, home);
      await checkNothingRecovered(s, ids, home);
      break;
    case 'flapping':
      await playFlapping(s, home);
      await checkNothingRecovered(s, ids, home);
      break;
    case 'active-active':
      await playActiveActive(s, ids[0] as string, home);
      break;
    default:
      // region-outage, partition, destroyed, multi
      await playRegionOutage(s, ids, home, {
        destroyed: options.scenario === 'destroyed',
        seed: options.seed,
        kind: drillKind(options.instanceKind ?? 'object-store'),
      });
  }
  if (options.crash) {
    // The killed invocation must have died mid-step and its retry must have taken the run on:
    // "recovered exactly once" and the rest then say whether the run resumed cleanly.
    const killed = world.crashes.find((c) => c.killed);
    const retriedKill = world.pump.retried.some((r) => r.error instanceof InvocationKilledError);
    s.hold(
      `a ${options.crash.fn} invocation killed mid-step is retried (Lambda) and its run goes on`,
      killed !== undefined && retriedKill,
      killed
        ? `killed ${killed.afterMs} ms into its step at ${killed.at.toISOString()}; retried: ${retriedKill}`
        : world.crashes.length > 0
          ? `the step finished within ${options.crash.afterMs} ms, before the kill`
          : 'no such invocation ran',
    );
  }
  // As on Lambda, an invocation that threw is retried (serverless.yml's maximumRetryAttempts);
  // a function failed when every attempt did. The retries are named all the same.
  const retried = world.pump.retried.length;
  const probeFailures = world.probes.failures.map((f) => ({
    subscription: `probe (${f.vantage})`,
    error: f.error,
  }));
  s.hold(
    'no function failed',
    failures() === quietFailures && failures() === 0 && probeFailures.length === 0,
    `${
      [...world.pump.failures, ...probeFailures]
        .map((f) => `${f.subscription}: ${(f.error as Error).message}`)
        .slice(0, 3)
        .join('; ') || 'none'
    }; ${retried} invocation(s) retried${
      retried > 0
        ? ` (${world.pump.retried
            .slice(0, 2)
            .map((f) => `${f.subscription}: ${(f.error as Error).message}`)
            .join('; ')})`
        : ''
    }`,
  );
}

/** The drill's report, from what the session recorded. */
function report(s: DrillSession, options: DrillOptions): DrillReport {
  const { world, instancesOut, invariants, timeline } = s;
  const recoveries = new Set(
    world.delivered.filter((e) => e.detailType === 'Recovery Planned').map((e) => e.detail.runId),
  ).size;
  // On AWS a paced restore (API Gateway) takes its projected time, not moto's.
  const rtos = instancesOut
    .map((o) => o.rtoOnAwsSeconds ?? o.rtoSeconds)
    .filter((x): x is number => x !== null);
  const detection = instancesOut
    .map((o) => o.detectionSeconds)
    .filter((x): x is number => x !== null);
  timeline.sort((a, b) => a.at.localeCompare(b.at));
  const confirmed = world.delivered.find((e) => e.detailType === 'Region Outage Confirmed')?.detail
    .confirmedAt;
  const bands: DrillReport['bands'] = [];
  const markers: DrillReport['markers'] = [];
  for (const o of instancesOut) {
    const phases = phaseBands({
      instanceId: o.id,
      outageAt: o.recoveredTo ? s.outageAt : undefined,
      homeBackAt: s.homeBackAt,
      confirmedAt: typeof confirmed === 'string' ? confirmed : undefined,
      runs: [...s.runs.values()],
    });
    for (const b of phases.bands)
      bands.push({
        ...b,
        fromSeconds: s.t(new Date(b.from)),
        toSeconds: s.t(new Date(b.to)),
      });
    for (const m of phases.markers) markers.push({ ...m, tSeconds: s.t(new Date(m.at)) });
  }
  return {
    scenario: options.scenario,
    outcome: invariants.every((i) => i.held) ? 'passed' : 'failed',
    seed: options.seed,
    startedAt: s.started.toISOString(),
    durationSeconds: s.t(new Date()),
    regions: world.config?.regions.map((r) => r.name) ?? [],
    controlRegion: world.controlRegion,
    recoveries,
    scale: {
      intervalSeconds: DRILL_DETECTION.intervalSeconds,
      failureThreshold: DRILL_DETECTION.failureThreshold,
      windowSeconds: SCALED_WINDOW_SECONDS,
      realWindowSeconds: REAL_WINDOW_SECONDS,
      recoverySeconds: DRILL_DETECTION.recoverySeconds,
    },
    estimatedRealRtoSeconds:
      rtos.length > 0 && detection.length > 0
        ? round(Math.max(...rtos) - Math.min(...detection) + REAL_WINDOW_SECONDS)
        : null,
    instances: instancesOut,
    dns: s.dns,
    weightsOverTime: s.weightsOverTime,
    bands,
    markers,
    invariants,
    timeline,
    ...(s.practice ? { practice: s.practice } : {}),
  };
}

const round = (x: number) => Math.round(x * 10) / 10;
