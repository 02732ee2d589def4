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
      this.publish(point.name, point.unit, point.value, point.dimensions);
      // Each further dimension set is a line of its own: Powertools warns when two sets of
      // one document share a key, though the values agree.
      for (const names of point.alsoBy ?? []) {
        const subset = Object.fromEntries(
          names.flatMap((n) => {
            const value = point.dimensions[n];
            return value === undefined ? [] : [[n, value]];
          }),
        );
        this.publish(point.name, point.unit, point.value, subset);
      }
    }
  }

  private publish(
    name: string,
    unit: Datapoint['unit'],
    value: number,
    dimensions: Record<string, string>,
  ): void {
    const single = this.metrics.singleMetric();
    for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
    // A single metric publishes as soon as its metric is added.
    single.addMetric(name, MetricUnit[unit], value);
  }
}
