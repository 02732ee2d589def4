import { setTimeout as sleep } from 'node:timers/promises';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { HttpHealthProbe } from '../../shared/adapters/http-health-probe.ts';
import { eventBus } from '../../shared/composition.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { type HealthProbe, probeRound, probeTargets } from '../../shared/domain/detection/probe.ts';
import { DetailType } from '../../shared/domain/events.ts';
import { type Clock, type EventBus, systemClock } from '../../shared/domain/ports.ts';
import { validateEvent } from '../../shared/middleware/validate-event.ts';
import { logger } from '../../shared/observability.ts';
import { parseEvent } from '../../shared/schemas/parse.ts';
import { ScheduledEventSchema } from '../../shared/schemas/snapshot-trigger.ts';

/** What the probe needs from outside. */
export interface ProbeDeps {
  config: LifeboatConfig;
  region: string;
  probe: HealthProbe;
  bus: EventBus;
  clock: Clock;
  wait(ms: number): Promise<void>;
  /** How long one invocation keeps probing: the schedule's period. */
  invocationSeconds: number;
}

/** Real adapters: HTTP probes, this region's bus. */
export function probeDepsFor(
  config: LifeboatConfig,
  env: NodeJS.ProcessEnv = process.env,
): ProbeDeps {
  const region = env.LIFEBOAT_REGION ?? env.AWS_REGION ?? config.regions[0]?.name ?? 'us-east-1';
  return {
    config,
    region,
    probe: new HttpHealthProbe(),
    bus: eventBus(config, region),
    clock: systemClock,
    wait: (ms) => sleep(ms).then(() => undefined),
    invocationSeconds: Number(env.LIFEBOAT_PROBE_INVOCATION_SECONDS ?? 60),
  };
}

const cache = new Map<string, ProbeDeps>();

/** Built on first use and cached per config path. */
export function defaultProbeDeps(env: NodeJS.ProcessEnv = process.env): ProbeDeps {
  const path = env.LIFEBOAT_CONFIG ?? DEFAULT_CONFIG_PATH;
  let deps = cache.get(path);
  if (!deps) {
    deps = probeDepsFor(loadConfig(path), env);
    cache.set(path, deps);
  }
  return deps;
}

/** Summary of one invocation. */
export interface ProbeSummary {
  vantage: string;
  rounds: number;
  observations: number;
  failures: { target: string; zone: string; instanceId: string; error?: string }[];
}

/**
 * Probes every instance endpoint in every region, from this region. EventBridge schedules
 * fire at most once a minute, so for shorter intervals one invocation loops, one round per
 * interval, for the schedule's period (docs/detection.md prices this).
 */
export async function probe(deps: ProbeDeps = defaultProbeDeps()): Promise<ProbeSummary> {
  const targets = probeTargets(deps.config.instances);
  const interval = deps.config.detection.intervalSeconds;
  const rounds =
    interval >= deps.invocationSeconds ? 1 : Math.floor(deps.invocationSeconds / interval);
  const summary: ProbeSummary = { vantage: deps.region, rounds: 0, observations: 0, failures: [] };
  // Rounds are bounded by time as well as by count, so slow probes can never run the
  // invocation past its schedule period (and into the Lambda timeout).
  const deadline = deps.clock.now().getTime() + deps.invocationSeconds * 1000;
  for (let round = 0; round < rounds; round += 1) {
    const started = deps.clock.now().getTime();
    if (round > 0 && started + deps.config.detection.probeTimeoutMs > deadline) break;
    summary.rounds += 1;
    const observations = await probeRound({
      vantage: deps.region,
      targets,
      probe: deps.probe,
      clock: deps.clock,
      timeoutMs: deps.config.detection.probeTimeoutMs,
    });
    await deps.bus.publish([
      { detailType: DetailType.HealthObserved, detail: { vantage: deps.region, observations } },
    ]);
    summary.observations += observations.length;
    for (const o of observations.filter((x) => !x.ok)) {
      summary.failures.push({
        target: o.target,
        zone: o.zone,
        instanceId: o.instanceId,
        error: o.error,
      });
    }
    if (round < rounds - 1) {
      const elapsed = deps.clock.now().getTime() - started;
      await deps.wait(Math.max(0, interval * 1000 - elapsed));
    }
  }
  if (summary.failures.length > 0) logger.warn('probe failures', { ...summary });
  return summary;
}

/** The middy-wrapped function. */
export function buildProbeHandler(getDeps: () => ProbeDeps) {
  return middy()
    .use(injectLambdaContext(logger))
    .use(validateEvent((event) => parseEvent(ScheduledEventSchema, event, 'schedule')))
    .handler(() => probe(getDeps()));
}

/** Lambda entry point: a schedule tick. */
export const handler = buildProbeHandler(() => defaultProbeDeps());
