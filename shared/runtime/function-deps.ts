import { setTimeout as sleep } from 'node:timers/promises';
import { snsClientFor } from '../adapters/aws-clients.ts';
import { EmfMetrics } from '../adapters/emf-metrics.ts';
import { HttpHealthProbe } from '../adapters/http-health-probe.ts';
import { SnsNotifier } from '../adapters/sns-notifier.ts';
import {
  backupVault,
  controlDocuments,
  eventBus,
  recoveryDeps,
  snapshotJob,
} from '../composition.ts';
import { findInstance } from '../config/load.ts';
import { type LifeboatConfig, rateToSeconds } from '../config/schema.ts';
import type { HealthProbe } from '../domain/detection/probe.ts';
import { type DetectorSettings, detectorSettings } from '../domain/detection/region-health.ts';
import type { MetricsSink } from '../domain/metrics.ts';
import type { Notifier } from '../domain/notifications/notify.ts';
import {
  type BlobStore,
  type Clock,
  type DocumentStore,
  type EventBus,
  systemClock,
} from '../domain/ports.ts';
import type { RecoveryDeps } from '../domain/recovery/ports.ts';
import type { ReconcileDeps } from '../domain/recovery/steps/reconcile.ts';
import type { FreshnessTarget } from '../domain/snapshot/freshness.ts';
import type { SnapshotJob } from '../domain/snapshot/run.ts';
import { NotificationError } from '../errors.ts';
import { cachedDeps, runtimeRegion } from './deps.ts';

/**
 * What each function needs from outside, and the real adapters for it (tests pass their own).
 * Every function publishes on the bus of the region it runs in.
 */

/** What the detector, the probe and the snapshot function share. */
interface FunctionDeps {
  config: LifeboatConfig;
  /** The region this copy of the function runs in. */
  region: string;
  /** This region's bus. */
  bus: EventBus;
  /** Where the function's metrics go (EMF in Lambda); absent: none (the CLI, the local world). */
  metrics?: MetricsSink;
}

/** The config, the region this copy runs in, and that region's bus. */
function runningHere(config: LifeboatConfig, env: NodeJS.ProcessEnv): FunctionDeps {
  const region = runtimeRegion(config, env);
  return { config, region, bus: eventBus(config, region) };
}

/** The detector's ports: state in this region's control bucket, events on this region's bus. */
export interface DetectorDeps extends FunctionDeps {
  settings: DetectorSettings;
  store: DocumentStore;
}

/** Real adapters for the detector. */
export function detectorDepsFor(config: LifeboatConfig, env = process.env): DetectorDeps {
  const here = runningHere(config, env);
  return {
    ...here,
    settings: detectorSettings(config.detection, config.regions.length),
    store: controlDocuments(config, here.region),
  };
}

/** The probe's ports: HTTP checks and this region's bus. */
export interface ProbeDeps extends FunctionDeps {
  probe: HealthProbe;
  clock: Clock;
  wait(ms: number): Promise<void>;
  /** How long one invocation keeps probing: the schedule's period. */
  invocationSeconds: number;
}

/** Real adapters for the probe. */
export function probeDepsFor(config: LifeboatConfig, env = process.env): ProbeDeps {
  return {
    ...runningHere(config, env),
    probe: new HttpHealthProbe(),
    clock: systemClock,
    wait: (ms) => sleep(ms).then(() => undefined),
    invocationSeconds: Number(env.LIFEBOAT_PROBE_INVOCATION_SECONDS ?? 60),
  };
}

/** The snapshot function's ports. */
export interface SnapshotDeps extends FunctionDeps {
  clock: Clock;
  jobFor(instanceId: string): SnapshotJob;
}

/** Real adapters for the snapshot function. */
export function snapshotDepsFor(config: LifeboatConfig, env = process.env): SnapshotDeps {
  return {
    ...runningHere(config, env),
    clock: systemClock,
    jobFor: (id) => snapshotJob(config, findInstance(config, id)),
  };
}

/** The reconcile function's ports: the sweep's, and what it measures besides. */
export interface ReconcileFunctionDeps extends ReconcileDeps {
  /** Where RunsStalled and NewestSnapshotAge go (EMF in Lambda); absent: none. */
  metrics?: MetricsSink;
  /** The instances whose newest committed snapshot it measures, and their backup buckets. */
  freshness?: {
    targets: readonly FreshnessTarget[];
    vault(region: string): Pick<BlobStore, 'list'>;
  };
}

/**
 * Real adapters for reconcile: every region's control bucket, this region's bus, and every
 * instance's backup buckets (only their commit markers are listed).
 */
export function reconcileDepsFor(config: LifeboatConfig, env = process.env): ReconcileFunctionDeps {
  const here = runtimeRegion(config, env);
  return {
    regions: config.regions.map((r) => r.name),
    here,
    documents: (region) => controlDocuments(config, region),
    bus: eventBus(config, here),
    freshness: {
      targets: config.instances.map((i) => ({
        instanceId: i.id,
        replicaRegions: i.replicaRegions,
        scheduleSeconds: rateToSeconds(i.snapshot.schedule),
      })),
      vault: (region) => backupVault(config, region),
    },
  };
}

/** The notify function's port: the region's SNS topic. */
export interface NotifyDeps {
  region: string;
  notifier: Notifier;
}

/**
 * Real adapters for notify: the topic the stack passes in LIFEBOAT_NOTIFICATION_TOPIC (its ARN),
 * in the region the function runs in.
 */
export function notifyDepsFor(config: LifeboatConfig, env = process.env): NotifyDeps {
  const region = runtimeRegion(config, env);
  const topicArn = env.LIFEBOAT_NOTIFICATION_TOPIC;
  if (!topicArn) {
    throw new NotificationError(
      'LIFEBOAT_NOTIFICATION_TOPIC is not set: the stack sets it to the notification topic ARN',
    );
  }
  const endpointUrl = config.regions.find((r) => r.name === region)?.endpointUrl;
  return {
    region,
    notifier: new SnsNotifier(snsClientFor({ region, endpointUrl }), topicArn),
  };
}

/** The ports `build` makes, with EMF metrics (Lambda's), built on first use and cached. */
function inLambda<TDeps>(build: (config: LifeboatConfig, env: NodeJS.ProcessEnv) => TDeps) {
  return cachedDeps((config, env): TDeps => ({ ...build(config, env), metrics: new EmfMetrics() }));
}

/** The real ports of each function, built on first use and cached per config path. */
export const defaultDetectorDeps = inLambda(detectorDepsFor);
/** See defaultDetectorDeps. */
export const defaultProbeDeps = inLambda(probeDepsFor);
/** See defaultDetectorDeps. */
export const defaultSnapshotDeps = inLambda(snapshotDepsFor);
/** See defaultDetectorDeps. */
export const defaultReconcileDeps = cachedDeps(
  (config, env): ReconcileFunctionDeps => ({
    ...reconcileDepsFor(config, env),
    metrics: new EmfMetrics(),
  }),
);
/** The recovery chain's ports (planRecovery, the three steps, failback). */
// Metrics (EMF on stdout) only in Lambda: the CLI's and the local world's output stay clean.
export const defaultRecoveryDeps = inLambda(
  (config, env): RecoveryDeps => recoveryDeps(config, runtimeRegion(config, env)),
);
/** See defaultDetectorDeps. */
export const defaultNotifyDeps = cachedDeps(notifyDepsFor);
