import { describe, expect, it } from 'vitest';
import { ConfigSchema, RATE_EXPRESSION, rateToSeconds } from '../../../../shared/config/schema.ts';

describe('rateToSeconds', () => {
  it.each([
    ['rate(1 minute)', 60],
    ['rate(5 minutes)', 300],
    ['rate(1 hour)', 3600],
    ['rate(12 hours)', 43_200],
    ['rate(1 day)', 86_400],
    ['rate(7 days)', 604_800],
  ])('turns %s into %i seconds', (rate, seconds) => {
    expect(rateToSeconds(rate)).toBe(seconds);
  });

  it.each([
    'cron(0 6 * * ? *)',
    'rate(5 seconds)',
    'rate(five minutes)',
    'rate(5minutes)',
    ' rate(5 minutes)',
    '',
  ])('throws RangeError when the expression is %j', (rate) => {
    expect(() => rateToSeconds(rate)).toThrow(RangeError);
  });
});

describe('RATE_EXPRESSION', () => {
  it('accepts both singular and plural units when the count is 1', () => {
    expect(RATE_EXPRESSION.test('rate(1 minutes)')).toBe(true);
    expect(RATE_EXPRESSION.test('rate(1 minute)')).toBe(true);
    expect(RATE_EXPRESSION.test('rate(1 week)')).toBe(false);
  });
});

describe('ConfigSchema', () => {
  it('defaults the naming block when the config omits it', () => {
    const parsed = ConfigSchema.parse({
      version: 1,
      regions: [{ name: 'us-east-1', location: { lat: 0, lon: 0 }, capacity: 1, zones: ['a'] }],
      instances: [],
    });
    expect(parsed.naming).toEqual({ bucketPrefix: 'lifeboat', eventBusName: 'lifeboat' });
  });

  it('rejects a config with no region when regions is empty', () => {
    expect(ConfigSchema.safeParse({ version: 1, regions: [], instances: [] }).success).toBe(false);
  });
});
