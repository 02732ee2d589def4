import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Datapoint, MetricsSink } from '../domain/metrics.ts';

/** The CloudWatch namespace of every lifeboat metric. */
export const METRICS_NAMESPACE = 'lifeboat';

/**
 * Datapoints as CloudWatch Embedded Metric Format lines on stdout, through Powertools Metrics:
 * each datapoint is its own EMF line (a single metric), so its dimensions (instance, region,
 * and kind/step where they apply) are its own and never leak into the next one's.
 */
export class EmfMetrics implements MetricsSink {
  private readonly metrics: Metrics;

  constructor(options: { namespace?: string; serviceName?: string } = {}) {
    this.metrics = new Metrics({
      namespace: options.namespace ?? METRICS_NAMESPACE,
      serviceName: options.serviceName ?? 'lifeboat',
    });
  }

  record(points: readonly Datapoint[]): void {
    for (const point of points) {
      const single = this.metrics.singleMetric();
      for (const [name, value] of Object.entries(point.dimensions))
        single.addDimension(name, value);
      // A single metric publishes as soon as its metric is added.
      single.addMetric(point.name, MetricUnit[point.unit], point.value);
    }
  }
}
