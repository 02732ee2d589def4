import { DetailType } from './events.ts';
import type { RunReport } from './recovery/run-report.ts';

/**
 * What lifeboat measures, in the domain's words: each datapoint names its metric, unit and the
 * dimensions it is sliced by (always instance and region where they apply). The runtime turns
 * them into CloudWatch EMF lines (shared/adapters/emf-metrics.ts); the domain never sees EMF.
 */

/** A CloudWatch unit lifeboat uses. */
export type MetricUnit = 'Seconds' | 'Milliseconds' | 'Bytes' | 'Count';

/** One measurement. */
export interface Datapoint {
  name: string;
  unit: MetricUnit;
  value: number;
  dimensions: Record<string, string>;
  /**
   * More dimension sets the same value is also published under, each a subset of
   * `dimensions`' names: `[['region']]` lets one alarm per region watch every instance.
   */
  alsoBy?: readonly (readonly string[])[];
}

/** Where datapoints go (EMF in Lambda; a list in tests). */
export interface MetricsSink {
  record(points: readonly Datapoint[]): void;
}

/** Metric names: alarms and the dashboard match on these; changing one is a breaking change. */
export const Metric = {
  SnapshotDuration: 'SnapshotDuration',
  SnapshotBytesUploaded: 'SnapshotBytesUploaded',
  SnapshotFailed: 'SnapshotFailed',
  NewestSnapshotAge: 'NewestSnapshotAge',
  DetectionTime: 'DetectionTime',
  RunsStarted: 'RunsStarted',
  RunsFailed: 'RunsFailed',
  RunsCompleted: 'RunsCompleted',
  Rto: 'RTO',
  Rpo: 'RPO',
  StepDuration: 'StepDuration',
  ProbeLatency: 'ProbeLatency',
  ProbeFailures: 'ProbeFailures',
  RunsStalled: 'RunsStalled',
  ObservationsReceived: 'ObservationsReceived',
} as const;

/** The alarms' region-wide view: one alarm per region's stack, whatever the instance. */
const BY_REGION = [['region']] as const;

/** One count of `name` for a run, by its instance, the measuring region and its kind. */
function runCount(
  name: string,
  run: { instanceId: string; kind: string },
  region: string,
): Datapoint {
  return {
    name,
    unit: 'Count',
    value: 1,
    dimensions: { instance: run.instanceId, region, kind: run.kind },
  };
}

/** A run that began: one RunsStarted. */
export function runStartedPoints(
  run: { kind: string; instanceId: string },
  region: string,
): Datapoint[] {
  return [runCount(Metric.RunsStarted, run, region)];
}

/** A run that ended: completed or failed, its RTO and RPO, and each step's duration. */
export function runEndedPoints(report: RunReport, region: string): Datapoint[] {
  const dims = { instance: report.instanceId, region, kind: report.kind };
  const points: Datapoint[] = [
    {
      name: report.status === 'failed' ? Metric.RunsFailed : Metric.RunsCompleted,
      unit: 'Count',
      value: 1,
      dimensions: dims,
      // The "Recovery or Failback Failed" alarm watches the region-wide count.
      ...(report.status === 'failed' ? { alsoBy: BY_REGION } : {}),
    },
  ];
  if (report.rtoSeconds !== undefined)
    points.push({ name: Metric.Rto, unit: 'Seconds', value: report.rtoSeconds, dimensions: dims });
  if (report.rpoSeconds !== undefined)
    points.push({ name: Metric.Rpo, unit: 'Seconds', value: report.rpoSeconds, dimensions: dims });
  for (const step of report.steps)
    if (step.durationSeconds !== undefined)
      points.push({
        name: Metric.StepDuration,
        unit: 'Seconds',
        value: step.durationSeconds,
        dimensions: { ...dims, step: step.name },
      });
  return points;
}

/** One instance's snapshot: duration and bytes uploaded when it committed, a failure otherwise. */
export function snapshotPoints(
  outcome: { instanceId: string; status: string; durationMs?: number; bytesUploaded?: number },
  region: string,
): Datapoint[] {
  const dimensions = { instance: outcome.instanceId, region };
  if (outcome.status === 'failed')
    return [{ name: Metric.SnapshotFailed, unit: 'Count', value: 1, dimensions }];
  if (outcome.status !== 'committed') return [];
  const points: Datapoint[] = [
    // A committed snapshot is the newest: its age is zero now; CloudWatch's missing data and
    // the schedule make the RPO-breach alarm (age > 2 × schedule) from NewestSnapshotAge.
    { name: Metric.NewestSnapshotAge, unit: 'Seconds', value: 0, dimensions },
  ];
  if (outcome.durationMs !== undefined)
    points.push({
      name: Metric.SnapshotDuration,
      unit: 'Milliseconds',
      value: outcome.durationMs,
      dimensions,
    });
  if (outcome.bytesUploaded !== undefined)
    points.push({
      name: Metric.SnapshotBytesUploaded,
      unit: 'Bytes',
      value: outcome.bytesUploaded,
      dimensions,
    });
  return points;
}

/** One probe check as the vantage saw it. */
export interface ProbeSample {
  instanceId: string;
  region: string;
  latencyMs: number;
  ok: boolean;
}

/**
 * A vantage's probing of one invocation: per target (instance × region), the mean latency and
 * the failed checks (0 too, so a vantage that goes silent shows as missing data, not as zero).
 */
export function probePoints(vantage: string, samples: readonly ProbeSample[]): Datapoint[] {
  const byTarget = new Map<string, ProbeSample[]>();
  for (const s of samples) {
    const key = `${s.instanceId}\u0000${s.region}`;
    byTarget.set(key, [...(byTarget.get(key) ?? []), s]);
  }
  const points: Datapoint[] = [];
  for (const group of byTarget.values()) {
    const first = group[0] as ProbeSample;
    const dimensions = { instance: first.instanceId, region: first.region, vantage };
    points.push({
      name: Metric.ProbeLatency,
      unit: 'Milliseconds',
      value: Math.round(group.reduce((a, s) => a + s.latencyMs, 0) / group.length),
      dimensions,
    });
    points.push({
      name: Metric.ProbeFailures,
      unit: 'Count',
      value: group.filter((s) => !s.ok).length,
      dimensions,
    });
  }
  return points;
}

/** An outage confirmed: fault start → confirmation, per failed region. */
export function detectionPoints(outage: {
  region: string;
  outageStartedAt: string;
  confirmedAt: string;
}): Datapoint[] {
  return [
    {
      name: Metric.DetectionTime,
      unit: 'Seconds',
      value: (Date.parse(outage.confirmedAt) - Date.parse(outage.outageStartedAt)) / 1000,
      dimensions: { region: outage.region },
    },
  ];
}

/** What a detection published, per region (shared/domain/detection/detect.ts RegionDetection). */
interface PublishedDetection {
  region: string;
  published: readonly { detailType: string; detail: Record<string, unknown> }[];
}

/** The outages a detection confirmed: one DetectionTime per "Region Outage Confirmed" it published. */
export function confirmedOutagePoints(detections: readonly PublishedDetection[]): Datapoint[] {
  return detections.flatMap(({ region, published }) =>
    published.flatMap(({ detailType, detail }) =>
      detailType === DetailType.RegionOutageConfirmed &&
      typeof detail.outageStartedAt === 'string' &&
      typeof detail.confirmedAt === 'string'
        ? detectionPoints({
            region,
            outageStartedAt: detail.outageStartedAt,
            confirmedAt: detail.confirmedAt,
          })
        : [],
    ),
  );
}

/** A run the sweeper reported stalled (shared/domain/recovery/steps/reconcile.ts): one RunsStalled. */
export function runStalledPoints(
  run: { instanceId: string; kind: string },
  region: string,
): Datapoint[] {
  return [{ ...runCount(Metric.RunsStalled, run, region), alsoBy: BY_REGION }];
}

/**
 * The runs one sweep reported stalled (a verdict of shared/domain/recovery/steps/reconcile.ts):
 * one RunsStalled each, by the instance and kind its report event carries.
 */
export function reportedStallPoints(
  verdicts: readonly { action: string; event?: { detail: unknown } }[],
  region: string,
): Datapoint[] {
  return verdicts.flatMap((v) =>
    v.action === 'report' && v.event ? runStalledPoints(stalledRunOf(v.event.detail), region) : [],
  );
}

/** The instance and kind a stalled report is about (its event carries the run's fields). */
function stalledRunOf(detail: unknown): { instanceId: string; kind: string } {
  const fields = (typeof detail === 'object' && detail !== null ? detail : {}) as Record<
    string,
    unknown
  >;
  return {
    instanceId: typeof fields.instanceId === 'string' ? fields.instanceId : 'unknown',
    kind: typeof fields.kind === 'string' ? fields.kind : 'unknown',
  };
}

/**
 * The age of each instance's newest committed snapshot as measured in `region`; an instance
 * with none publishes nothing, so its RPO alarm sees missing data, which it counts as breached.
 */
export function snapshotAgePoints(
  ages: readonly { instanceId: string; ageSeconds?: number }[],
  region: string,
): Datapoint[] {
  return ages.flatMap((a) =>
    a.ageSeconds === undefined
      ? []
      : [
          {
            name: Metric.NewestSnapshotAge,
            unit: 'Seconds' as const,
            value: Math.max(0, Math.round(a.ageSeconds)),
            dimensions: { instance: a.instanceId, region },
          },
        ],
  );
}

/**
 * Observations that reached the detector in `region`, per vantage: a vantage that stops
 * probing (its region down, its probe broken) shows as missing data, which the "vantage
 * silent" alarm counts as breached.
 */
export function observationPoints(vantages: readonly string[], region: string): Datapoint[] {
  const counts = new Map<string, number>();
  for (const v of vantages) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([vantage, count]) => ({
    name: Metric.ObservationsReceived,
    unit: 'Count' as const,
    value: count,
    dimensions: { vantage, region },
  }));
}
