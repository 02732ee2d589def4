'use strict';

/**
 * The dashboard of each region's stack (deploy/notifications.cjs puts it beside the alarms):
 * widgets over lifeboat's EMF metrics, by instance where they have one.
 */

const tsx = require('tsx/cjs/api');
const { instances, rateToSeconds } = require('./config.cjs');

const { Metric } = tsx.require('../shared/domain/metrics.ts', __filename);
const { METRICS_NAMESPACE } = tsx.require('../shared/adapters/emf-metrics.ts', __filename);

/** Powertools adds `service` (POWERTOOLS_SERVICE_NAME in serverless.yml) to every metric. */
const SERVICE = 'lifeboat';

/** A dashboard widget of metrics: explicit ones, or a SEARCH over every instance. */
function metricWidget(
  title,
  metrics,
  { x, y, width = 12, height = 6, stat = 'Maximum', region, annotations } = {},
) {
  return {
    type: 'metric',
    x,
    y,
    width,
    height,
    properties: {
      title,
      region,
      view: 'timeSeries',
      stat,
      period: 300,
      metrics,
      ...(annotations ? { annotations } : {}),
    },
  };
}

/** A SEARCH expression over lifeboat's metrics with these dimension names. */
function search(metric, dims, stat, id) {
  const schema = [METRICS_NAMESPACE, 'service', ...dims].join(',');
  return [
    { expression: `SEARCH('{${schema}} MetricName="${metric}"', '${stat}', 300)`, id, label: '' },
  ];
}

/**
 * The region's dashboard (CloudWatch's JSON body, for Fn::Sub): its alarms, the snapshot ages,
 * detection, runs and probes; `topic` is the notification topic the alarms go to.
 */
function dashboardBody(doc, region, stage, alarmIds, topic) {
  const ids = instances(doc).map((i) => i.id);
  const row = (n) => n * 6;
  const widgets = [
    {
      type: 'text',
      x: 0,
      y: 0,
      width: 24,
      height: 2,
      properties: {
        markdown: `# lifeboat ${stage} in ${region}\nSnapshots, detection, runs and probes of this region's stack (docs/operations.md). Alarms go to the ${topic} topic.`,
      },
    },
    {
      type: 'alarm',
      x: 0,
      y: 2,
      width: 24,
      height: 3,
      properties: {
        title: 'Alarms',
        // Fn::Sub fills these in (DashboardBody below).
        alarms: alarmIds.map(
          (name) => `arn:\${AWS::Partition}:cloudwatch:${region}:\${AWS::AccountId}:alarm:${name}`,
        ),
      },
    },
    metricWidget(
      'Newest committed snapshot age (s); the RPO alarm fires above 2 × schedule',
      ids.map((id) => [
        METRICS_NAMESPACE,
        Metric.NewestSnapshotAge,
        'service',
        SERVICE,
        'instance',
        id,
        'region',
        region,
      ]),
      {
        x: 0,
        y: 5,
        region,
        annotations: {
          horizontal: instances(doc).map((i) => ({
            label: `${i.id} RPO limit`,
            value: 2 * rateToSeconds(i.snapshot.schedule),
          })),
        },
      },
    ),
    metricWidget(
      'Snapshot duration (ms) and bytes uploaded',
      [
        ...search(Metric.SnapshotDuration, ['instance', 'region'], 'Maximum', 'duration'),
        ...search(Metric.SnapshotBytesUploaded, ['instance', 'region'], 'Sum', 'bytes'),
      ],
      { x: 12, y: 5, region },
    ),
    metricWidget(
      'Runs started, completed, failed and stalled',
      [
        ...search(Metric.RunsStarted, ['instance', 'region', 'kind'], 'Sum', 'started'),
        ...search(Metric.RunsCompleted, ['instance', 'region', 'kind'], 'Sum', 'completed'),
        ...search(Metric.RunsFailed, ['instance', 'region', 'kind'], 'Sum', 'failed'),
        ...search(Metric.RunsStalled, ['instance', 'region', 'kind'], 'Sum', 'stalled'),
      ],
      { x: 0, y: 5 + row(1), region, stat: 'Sum' },
    ),
    metricWidget(
      'RTO and RPO per run (s)',
      [
        ...search(Metric.Rto, ['instance', 'region', 'kind'], 'Maximum', 'rto'),
        ...search(Metric.Rpo, ['instance', 'region', 'kind'], 'Maximum', 'rpo'),
      ],
      { x: 12, y: 5 + row(1), region },
    ),
    metricWidget(
      'Step durations (s)',
      search(Metric.StepDuration, ['instance', 'region', 'kind', 'step'], 'Maximum', 'steps'),
      { x: 0, y: 5 + row(2), region },
    ),
    metricWidget(
      'Detection time: fault start to confirmation (s)',
      search(Metric.DetectionTime, ['region'], 'Maximum', 'detection'),
      { x: 12, y: 5 + row(2), region },
    ),
    metricWidget(
      'Probe latency (ms) per vantage and target',
      search(Metric.ProbeLatency, ['instance', 'region', 'vantage'], 'Average', 'latency'),
      { x: 0, y: 5 + row(3), region, stat: 'Average' },
    ),
    metricWidget(
      'Probe failures per vantage and target',
      search(Metric.ProbeFailures, ['instance', 'region', 'vantage'], 'Sum', 'failures'),
      { x: 12, y: 5 + row(3), region, stat: 'Sum' },
    ),
    metricWidget(
      `Observations reaching the detector in ${region}, per vantage (0: vantage silent)`,
      doc.regions.map((r) => [
        METRICS_NAMESPACE,
        Metric.ObservationsReceived,
        'service',
        SERVICE,
        'vantage',
        r.name,
        'region',
        region,
      ]),
      { x: 0, y: 5 + row(4), region, stat: 'Sum' },
    ),
    metricWidget(
      'Notifications waiting in the dead-letter queue',
      [
        [
          'AWS/SQS',
          'ApproximateNumberOfMessagesVisible',
          'QueueName',
          `lifeboat-${stage}-notify-dlq`,
        ],
      ],
      { x: 12, y: 5 + row(4), region },
    ),
  ];
  return JSON.stringify({ widgets });
}

module.exports = { dashboardBody, SERVICE };
