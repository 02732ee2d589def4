import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmfMetrics } from '../../../../shared/adapters/emf-metrics.ts';
import { emfLines } from '../../../fakes/emf.ts';

afterEach(() => vi.restoreAllMocks());

describe('EmfMetrics', () => {
  it('writes one EMF document per datapoint with its own instance and region dimensions', async () => {
    const docs = await emfLines(() =>
      new EmfMetrics().record([
        {
          name: 'RTO',
          unit: 'Seconds',
          value: 94,
          dimensions: { instance: 'petstore', region: 'us-east-2' },
        },
        {
          name: 'RPO',
          unit: 'Seconds',
          value: 21600,
          dimensions: { instance: 'api-02', region: 'us-west-2' },
        },
      ]),
    );
    expect(docs).toHaveLength(2);
    const [rto, rpo] = docs as [Record<string, unknown>, Record<string, unknown>];
    expect(rto).toMatchObject({ RTO: 94, instance: 'petstore', region: 'us-east-2' });
    expect(rpo).toMatchObject({ RPO: 21600, instance: 'api-02', region: 'us-west-2' });
    expect(rpo.instance).not.toBe('petstore');
    const aws = rto._aws as {
      CloudWatchMetrics: {
        Namespace: string;
        Dimensions: string[][];
        Metrics: { Name: string; Unit: string }[];
      }[];
    };
    expect(aws.CloudWatchMetrics[0]?.Namespace).toBe('lifeboat');
    expect(aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(
      expect.arrayContaining(['instance', 'region']),
    );
    expect(aws.CloudWatchMetrics[0]?.Metrics).toEqual([{ Name: 'RTO', Unit: 'Seconds' }]);
  });

  it('publishes the value again under each further dimension set when a datapoint asks for one', async () => {
    const docs = await emfLines(() =>
      new EmfMetrics().record([
        {
          name: 'RunsFailed',
          unit: 'Count',
          value: 1,
          dimensions: { instance: 'petstore', region: 'us-east-2', kind: 'recovery' },
          alsoBy: [['region']],
        },
      ]),
    );
    const sets = docs.map(
      (d) =>
        (d._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]
          ?.Dimensions,
    );
    expect(sets).toEqual([[['service', 'instance', 'region', 'kind']], [['service', 'region']]]);
    expect(docs[1]).toMatchObject({ RunsFailed: 1, region: 'us-east-2' });
    expect(docs[1]).not.toHaveProperty('instance');
  });
});
