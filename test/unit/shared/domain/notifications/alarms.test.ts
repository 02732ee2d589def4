import { describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE } from '../../../../../shared/adapters/emf-metrics.ts';
import {
  ALARM_NAMESPACE,
  alarmDimensions,
  operationalAlarms,
} from '../../../../../shared/domain/notifications/alarms.ts';

const inputs = {
  stage: 'prod',
  region: 'us-east-2',
  regions: ['us-east-1', 'us-east-2'],
  instances: [
    { id: 'petstore', schedule: 'rate(1 day)', scheduleSeconds: 86_400 },
    { id: 'ledger', schedule: 'rate(5 minutes)', scheduleSeconds: 300 },
  ],
};

describe('operationalAlarms', () => {
  it('watches the namespace the functions publish in when it names alarms', () => {
    expect(ALARM_NAMESPACE).toBe(METRICS_NAMESPACE);
  });

  it('gives every instance an RPO alarm at twice its schedule that counts silence as a breach', () => {
    const rpo = operationalAlarms(inputs).filter((a) => a.metric === 'NewestSnapshotAge');
    expect(rpo.map((a) => [a.name, a.threshold, a.missingData])).toEqual([
      ['lifeboat-prod-rpo-petstore', 172_800, 'breaching'],
      ['lifeboat-prod-rpo-ledger', 600, 'breaching'],
    ]);
    expect(rpo[0]?.description).toContain('older than 2 days (2 × rate(1 day))');
    expect(alarmDimensions(rpo[0] as (typeof rpo)[number])).toEqual([
      { Name: 'service', Value: 'lifeboat' },
      { Name: 'instance', Value: 'petstore' },
      { Name: 'region', Value: 'us-east-2' },
    ]);
  });

  it('watches failed and stalled runs region-wide and each vantage from this region', () => {
    const alarms = operationalAlarms(inputs);
    expect(alarms.map((a) => a.name)).toEqual([
      'lifeboat-prod-rpo-petstore',
      'lifeboat-prod-rpo-ledger',
      'lifeboat-prod-run-failed',
      'lifeboat-prod-run-stalled',
      'lifeboat-prod-vantage-silent-us-east-1',
      'lifeboat-prod-vantage-silent-us-east-2',
    ]);
    const vantage = alarms.find((a) => a.name.endsWith('silent-us-east-1'));
    expect(vantage).toMatchObject({
      metric: 'ObservationsReceived',
      dimensions: { vantage: 'us-east-1', region: 'us-east-2' },
      comparison: 'LessThanThreshold',
      missingData: 'breaching',
    });
    expect(new Set(alarms.map((a) => a.logicalId)).size).toBe(alarms.length);
    for (const a of alarms) expect(a.logicalId).toMatch(/^[A-Za-z0-9]+$/);
  });
});
