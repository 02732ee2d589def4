import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../../shared/config/load.ts';
import { EventValidationError } from '../../../../shared/errors.ts';
import { parseFailbackTrigger } from '../../../../shared/schemas/recovery-events.ts';

const config = loadConfig(DEFAULT_CONFIG_PATH);
const sample = (name: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`../../../../events/${name}`, import.meta.url)), 'utf8'),
  );
const withDetail = (event: Record<string, unknown>, detail: Record<string, unknown>) => ({
  ...event,
  detail: { ...(event.detail as Record<string, unknown>), ...detail },
});
const refusal = (event: unknown): EventValidationError => {
  try {
    parseFailbackTrigger(event, config);
  } catch (error) {
    if (error instanceof EventValidationError) return error;
    throw error;
  }
  throw new Error('test: the event was accepted');
};

describe('parseFailbackTrigger', () => {
  it('reads "Region Recovered" as a region trigger with its delivery id', () => {
    expect(parseFailbackTrigger(sample('region-recovered.json'), config)).toEqual({
      kind: 'region',
      recovered: {
        deliveryId: '7d9a1f0e-3c2b-4e5d-9f60-1a2b3c4d5e6f',
        region: 'us-east-1',
        recoveredAt: '2026-11-25T07:10:00.000Z',
      },
    });
  });

  it('reads "Failback Requested" as one instance with its claimant', () => {
    expect(parseFailbackTrigger(sample('failback-requested.json'), config)).toEqual({
      kind: 'instance',
      request: {
        instanceId: 'petstore',
        region: 'us-east-1',
        recoveredAt: '2026-11-25T07:10:00.000Z',
        claimant: '7d9a1f0e-3c2b-4e5d-9f60-1a2b3c4d5e6f',
      },
    });
  });

  it('refuses any other detail-type by naming the field', () => {
    const error = refusal({ ...sample('failback-requested.json'), 'detail-type': 'Tick' });
    expect(error.field).toBe('detail-type');
    expect(error.message).toContain('"Tick"');
    expect(refusal(null).field).toBe('detail-type');
  });

  it.each([
    ['detail.instanceId', { instanceId: 'nobody' }, 'unknown instance "nobody"'],
    ['detail.region', { region: 'mars-north-1' }, 'unknown region "mars-north-1"'],
    ['detail.claimant', { claimant: '' }, ''],
    ['detail.recoveredAt', { recoveredAt: 'yesterday' }, ''],
  ])('refuses a request whose %s is wrong', (field, change, words) => {
    const error = refusal(withDetail(sample('failback-requested.json'), change));
    expect(error.message).toContain(field);
    expect(error.message).toContain(words);
  });
});
