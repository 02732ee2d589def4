import { type LifeboatConfig, rateToSeconds } from '../../config/schema.ts';
import { Metric } from '../metrics.ts';

/**
 * The CloudWatch alarms of one region's stack, as data: deploy/notifications.cjs writes them into
 * the template (with the notification topic as their action), and the local world creates them
 * in moto (local/provision.ts), so both have the same alarms. Pure: no SDK, no CloudFormation.
 */

/** The namespace every lifeboat metric is published in (shared/adapters/emf-metrics.ts). */
export const ALARM_NAMESPACE = 'lifeboat';
/** Powertools adds `service` (POWERTOOLS_SERVICE_NAME in serverless.yml) to every metric. */
export const METRIC_SERVICE = 'lifeboat';
/** reconcile measures the snapshot ages on its schedule (serverless.yml, RECONCILE_POLICY). */
export const AGE_PERIOD_SECONDS = 300;
/** Three silent periods in a row: one late datapoint never alarms on its own. */
export const SILENT_PERIODS = 3;

/** One alarm on one of lifeboat's own metrics. */
export interface AlarmSpec {
  /** Alphanumeric: the template's logical id. */
  logicalId: string;
  name: string;
  description: string;
  metric: string;
  /** Without `service`, which every alarm adds (see METRIC_SERVICE). */
  dimensions: Record<string, string>;
  statistic: 'Minimum' | 'Maximum' | 'Sum';
  periodSeconds: number;
  /** Periods in a row that must breach (evaluation periods = datapoints to alarm). */
  periods: number;
  comparison: 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold';
  threshold: number;
  /** `breaching`: no datapoint is itself the problem (nothing measured, a vantage silent). */
  missingData: 'breaching' | 'notBreaching';
}

/** What the alarms depend on in the config. */
export interface AlarmInputs {
  stage: string;
  /** The region whose stack holds the alarms (they watch its own metrics). */
  region: string;
  regions: readonly string[];
  instances: readonly { id: string; schedule: string; scheduleSeconds: number }[];
}

/** `petstore` -> `Petstore`, `us-east-2` -> `UsEast2`. */
function pascal(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => (part[0] as string).toUpperCase() + part.slice(1))
    .join('');
}

/** "2 days", "10 minutes": a limit as a person writes it. */
function spoken(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day${seconds === 86_400 ? '' : 's'}`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}`;
  return `${Math.round(seconds / 60)} minutes`;
}

/** Every alarm of this stack starts with this: the topic trusts CloudWatch for them only. */
export function alarmPrefix(stage: string): string {
  return `lifeboat-${stage}-`;
}

/**
 * The stack's alarms on lifeboat's metrics: the RPO breach of every instance (its newest
 * committed snapshot older than two schedules), a failed run, a stalled run, and a silent probe
 * vantage per configured region. The dead-letter alarm watches an SQS metric and lives in the
 * deploy code with the queue.
 */
export function operationalAlarms(inputs: AlarmInputs): AlarmSpec[] {
  const prefix = alarmPrefix(inputs.stage);
  const { region } = inputs;
  return [
    ...inputs.instances.map(
      (instance): AlarmSpec => ({
        logicalId: `RpoAlarm${pascal(instance.id)}`,
        name: `${prefix}rpo-${instance.id}`,
        description:
          `lifeboat RPO breached: ${instance.id}'s newest committed snapshot is older than ` +
          `${spoken(2 * instance.scheduleSeconds)} (2 × ${instance.schedule}), or nothing ` +
          `measured it for ${(SILENT_PERIODS * AGE_PERIOD_SECONDS) / 60} minutes. ` +
          `Check: lifeboat snapshots --instance ${instance.id}`,
        metric: Metric.NewestSnapshotAge,
        dimensions: { instance: instance.id, region },
        statistic: 'Minimum',
        periodSeconds: AGE_PERIOD_SECONDS,
        periods: SILENT_PERIODS,
        comparison: 'GreaterThanThreshold',
        threshold: 2 * instance.scheduleSeconds,
        // No measure is no proof of a fresh snapshot: the sweeper stopped, or none exists.
        missingData: 'breaching',
      }),
    ),
    {
      logicalId: 'RunFailedAlarm',
      name: `${prefix}run-failed`,
      description: `lifeboat: a recovery or failback run failed in ${region}. Look: lifeboat status; lifeboat report --last`,
      metric: Metric.RunsFailed,
      dimensions: { region },
      statistic: 'Sum',
      periodSeconds: 60,
      periods: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
      missingData: 'notBreaching',
    },
    {
      logicalId: 'RunStalledAlarm',
      name: `${prefix}run-stalled`,
      description: `lifeboat: the sweeper in ${region} reported a run that records no progress. Look: lifeboat status; continue: lifeboat resume --run RUN_ID --approve`,
      metric: Metric.RunsStalled,
      dimensions: { region },
      statistic: 'Sum',
      periodSeconds: AGE_PERIOD_SECONDS,
      periods: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
      missingData: 'notBreaching',
    },
    ...inputs.regions.map(
      (vantage): AlarmSpec => ({
        logicalId: `VantageSilentAlarm${pascal(vantage)}`,
        name: `${prefix}vantage-silent-${vantage}`,
        description:
          `lifeboat: no probe observation from vantage ${vantage} reached the detector in ` +
          `${region} for ${SILENT_PERIODS} minutes (its region is down, or its probe fails)`,
        metric: Metric.ObservationsReceived,
        dimensions: { vantage, region },
        statistic: 'Sum',
        periodSeconds: 60,
        periods: SILENT_PERIODS,
        comparison: 'LessThanThreshold',
        threshold: 1,
        missingData: 'breaching',
      }),
    ),
  ];
}

/** An alarm's dimensions as CloudWatch takes them, `service` first (as Powertools writes it). */
export function alarmDimensions(spec: AlarmSpec): { Name: string; Value: string }[] {
  return Object.entries({ service: METRIC_SERVICE, ...spec.dimensions }).map(([Name, Value]) => ({
    Name,
    Value,
  }));
}

/** What the alarms of `region`'s stack depend on, read from the config (the stack's and the local world's). */
export function alarmInputsOf(
  config: Pick<LifeboatConfig, 'regions' | 'instances'>,
  stage: string,
  region: string,
): AlarmInputs {
  return {
    stage,
    region,
    regions: config.regions.map((r) => r.name),
    instances: config.instances.map((i) => ({
      id: i.id,
      schedule: i.snapshot.schedule,
      scheduleSeconds: rateToSeconds(i.snapshot.schedule),
    })),
  };
}

/**
 * An alarm as CloudWatch's PutMetricAlarm and CloudFormation's AWS::CloudWatch::Alarm both take
 * it (they share the property names), telling `action` of both ALARM and OK: the local world
 * passes the topic's ARN, the template a `Ref` to it.
 */
export function alarmProperties<A>(spec: AlarmSpec, action: A) {
  return {
    AlarmName: spec.name,
    AlarmDescription: spec.description,
    Namespace: ALARM_NAMESPACE,
    MetricName: spec.metric,
    Dimensions: alarmDimensions(spec),
    Statistic: spec.statistic,
    Period: spec.periodSeconds,
    EvaluationPeriods: spec.periods,
    DatapointsToAlarm: spec.periods,
    ComparisonOperator: spec.comparison,
    Threshold: spec.threshold,
    TreatMissingData: spec.missingData,
    AlarmActions: [action],
    OKActions: [action],
  };
}
