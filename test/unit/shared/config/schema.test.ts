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

describe('notifications', () => {
  const base = {
    version: 1,
    regions: [{ name: 'us-east-1', location: { lat: 0, lon: 0 }, capacity: 1, zones: ['a'] }],
    instances: [],
  };
  const problem = (subscriptions: unknown[]) => {
    const result = ConfigSchema.safeParse({ ...base, notifications: { subscriptions } });
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    return { path: issue?.path.join('.'), message: issue?.message };
  };

  it('defaults to no subscription when the config has no notifications block', () => {
    expect(ConfigSchema.parse(base).notifications).toEqual({ subscriptions: [] });
  });

  it('accepts email, https, SQS and Lambda subscribers when each endpoint fits its protocol', () => {
    const subscriptions = [
      { protocol: 'email', endpoint: 'oncall@example.com' },
      { protocol: 'https', endpoint: 'https://hooks.example.com/lifeboat' },
      { protocol: 'sqs', endpoint: 'arn:aws:sqs:eu-west-1:123456789012:alerts' },
      { protocol: 'lambda', endpoint: 'arn:aws:lambda:us-east-1:123456789012:function:pager:live' },
    ];
    expect(
      ConfigSchema.parse({ ...base, notifications: { subscriptions } }).notifications.subscriptions,
    ).toEqual(subscriptions);
  });

  it('names the protocol field and the four protocols when the protocol is unknown', () => {
    expect(problem([{ protocol: 'sms', endpoint: '+15550100' }])).toEqual({
      path: 'notifications.subscriptions.0.protocol',
      message: 'must be one of email, https, sqs, lambda',
    });
  });

  it('names the endpoint field when an endpoint does not fit its protocol', () => {
    expect(problem([{ protocol: 'email', endpoint: 'oncall' }])).toEqual({
      path: 'notifications.subscriptions.0.endpoint',
      message: 'must be an email address',
    });
    expect(problem([{ protocol: 'https', endpoint: 'http://hooks.example.com' }]).message).toBe(
      'must be an https:// URL',
    );
    expect(
      problem([{ protocol: 'sqs', endpoint: 'arn:aws:sns:us-east-1:123456789012:topic' }]).message,
    ).toMatch(/^must be an SQS queue ARN/);
    expect(
      problem([{ protocol: 'lambda', endpoint: 'arn:aws:lambda:us-east-1:123456789012:pager' }])
        .message,
    ).toMatch(/^must be a Lambda function ARN/);
  });

  it('rejects a field a subscription does not have', () => {
    expect(problem([{ protocol: 'email', endpoint: 'a@example.com', filter: 'x' }]).path).toBe(
      'notifications.subscriptions.0',
    );
  });
});
