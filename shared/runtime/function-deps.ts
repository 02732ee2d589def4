import { setTimeout as sleep } from 'node:timers/promises';
import { EmfMetrics } from '../adapters/emf-metrics.ts';
import { HttpHealthProbe } from '../adapters/http-health-probe.ts';
import { controlDocuments, eventBus, recoveryDeps, snapshotJob } from '../composition.ts';
import { findInstance } from '../config/load.ts';
import type { LifeboatConfig } from '../config/schema.ts';
import type { HealthProbe } from '../domain/detection/probe.ts';
import { type DetectorSettings, detectorSettings } from '../domain/detection/region-health.ts';
import type { MetricsSink } from '../domain/metrics.ts';
import { type Clock, type DocumentStore, type EventBus, systemClock } from '../domain/ports.ts';
import type { RecoveryDeps } from '../domain/recovery/ports.ts';
import type { ReconcileDeps } from '../domain/recovery/steps/reconcile.ts';
import type { SnapshotJob } from '../domain/snapshot/run.ts';
import { cachedDeps, runtimeRegion } from './deps.ts';

/**
 * What each function needs from outside, and the real adapters for it (tests pass their own).
 * Every function publishes on the bus of the region it runs in.
 */

/** The detector's ports: state in this region's control bucket, events on this region's bus. */
export interface DetectorDeps {
  config: LifeboatConfig;
  region: string;
  settings: DetectorSettings;
  store: DocumentStore;
  bus: EventBus;
  /** Where detection metrics go (EMF in Lambda); absent: none. */
  metrics?: MetricsSink;
}

/** Real adapters for the detector. */
export function detectorDepsFor(config: LifeboatConfig, env = process.env): DetectorDeps {
  const region = runtimeRegion(config, env);
  return {
    config,
    region,
    settings: detectorSettings(config.detection, config.regions.length),
    store: controlDocuments(config, region),
    bus: eventBus(config, region),
  };
}

/** The probe's ports: HTTP checks and this region's bus. */
export interface ProbeDeps {
  config: LifeboatConfig;
  region: string;
  probe: HealthProbe;
  bus: EventBus;
  clock: Clock;
  wait(ms: number): Promise<void>;
  /** How long one invocation keeps probing: the schedule's period. */
  invocationSeconds: number;
  /** Where probe metrics go (EMF in Lambda); absent: none. */
  metrics?: MetricsSink;
}

/** Real adapters for the probe. */
export function probeDepsFor(config: LifeboatConfig, env = process.env): ProbeDeps {
  const region = runtimeRegion(config, env);
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

/** The snapshot function's ports. */
export interface SnapshotDeps {
  config: LifeboatConfig;
  /** The region this copy of the function runs in. */
  region: string;
  clock: Clock;
  bus: EventBus;
  jobFor(instanceId: string): SnapshotJob;
  /** Where snapshot metrics go (EMF in Lambda); absent: none (the CLI, the local world). */
  metrics?: MetricsSink;
}

/** Real adapters for the snapshot function. */
export function snapshotDepsFor(config: LifeboatConfig, env = process.env): SnapshotDeps {
  const here = runtimeRegion(config, env);
  return {
    config,
    region: here,
    clock: systemClock,
    bus: eventBus(config, here),
    jobFor: (id) => snapshotJob(config, findInstance(config, id)),
  };
}

/** Real adapters for reconcile: every region's control bucket, and this region's bus. */
export function reconcileDepsFor(config: LifeboatConfig, env = process.env): ReconcileDeps {
  const here = runtimeRegion(config, env);
  return {
    regions: config.regions.map((r) => r.name),
    here,
    documents: (region) => controlDocuments(config, region),
    bus: eventBus(config, here),
  };
}

/** The real ports of each function, built on first use and cached per config path. */
export const defaultDetectorDeps = cachedDeps(
  (config, env): DetectorDeps => ({ ...detectorDepsFor(config, env), metrics: new EmfMetrics() }),
);
/** See defaultDetectorDeps. */
export const defaultProbeDeps = cachedDeps(
  (config, env): ProbeDeps => ({ ...probeDepsFor(config, env), metrics: new EmfMetrics() }),
);
/** See defaultDetectorDeps. */
export const defaultSnapshotDeps = cachedDeps(
  (config, env): SnapshotDeps => ({ ...snapshotDepsFor(config, env), metrics: new EmfMetrics() }),
);
/** See defaultDetectorDeps. */
export const defaultReconcileDeps = cachedDeps(reconcileDepsFor);
/** The recovery chain's ports (planRecovery, the three steps, failback). */
export const defaultRecoveryDeps = cachedDeps(
  // Metrics (EMF on stdout) only in Lambda: the CLI's and the local world's output stay clean.
  (config, env): RecoveryDeps => ({
    ...recoveryDeps(config, runtimeRegion(config, env)),
    metrics: new EmfMetrics(),
  }),
);
