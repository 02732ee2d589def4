import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  InvalidChangeBatch,
  InvalidInput,
  ListResourceRecordSetsCommand,
  NoSuchHostedZone,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  isRetryableDnsError,
  Route53Dns,
  type Route53DnsOptions,
  route53ClientFor,
} from '../../../../shared/adapters/route53-dns.ts';
import type { DnsRecordSpec } from '../../../../shared/domain/recovery/ports.ts';
import {
  DnsChangeError,
  DnsChangeRejectedError,
  InvalidWeightsError,
} from '../../../../shared/errors.ts';

const route53 = mockClient(Route53Client);

const spec: DnsRecordSpec = {
  instanceId: 'petstore',
  hostedZoneId: 'Z123',
  recordName: 'petstore.example.com',
  ttl: 30,
  targets: {
    'us-east-1': 'petstore.us-east-1.example.net',
    'us-east-2': 'petstore.us-east-2.example.net',
    'us-west-2': 'petstore.us-west-2.example.net',
  },
  healthChecks: { 'us-east-1': 'hc-east-1', 'us-west-2': 'hc-west-2' },
};

const weights = { 'us-east-1': 100, 'us-east-2': 0, 'us-west-2': 0 };

function sdkError(name: string, status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    ...extra,
  });
}

const throttling = () =>
  sdkError('Throttling', 400, { message: 'Rate exceeded', $retryable: { throttling: true } });

/** An adapter whose sleeps are recorded and advance a fake clock instead of waiting. */
function adapter(options: Route53DnsOptions = {}) {
  let clock = 0;
  const sleep = vi.fn(async (ms: number) => {
    clock += ms;
  });
  const dns = new Route53Dns(new Route53Client({ region: 'us-east-1' }), {
    sleep,
    now: () => clock,
    ...options,
  });
  return { dns, sleep };
}

beforeEach(() => {
  route53.reset();
  route53
    .on(ChangeResourceRecordSetsCommand)
    .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
  route53
    .on(GetChangeCommand)
    .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
});

describe('Route53Dns.applyWeights', () => {
  it('sends one UPSERT per region with weight, TTL, CNAME target and health check when applying weights', async () => {
    const { dns } = adapter();
    await dns.applyWeights(spec, { 'us-east-1': 10, 'us-east-2': 0, 'us-west-2': 245 });
    const calls = route53.commandCalls(ChangeResourceRecordSetsCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.HostedZoneId).toBe('Z123');
    expect(input?.ChangeBatch?.Changes).toEqual([
      {
        Action: 'UPSERT',
        ResourceRecordSet: {
          Name: 'petstore.example.com.',
          Type: 'CNAME',
          SetIdentifier: 'us-east-1',
          Weight: 10,
          TTL: 30,
          ResourceRecords: [{ Value: 'petstore.us-east-1.example.net' }],
          HealthCheckId: 'hc-east-1',
        },
      },
      {
        Action: 'UPSERT',
        ResourceRecordSet: {
          Name: 'petstore.example.com.',
          Type: 'CNAME',
          SetIdentifier: 'us-east-2',
          Weight: 0,
          TTL: 30,
          ResourceRecords: [{ Value: 'petstore.us-east-2.example.net' }],
        },
      },
      {
        Action: 'UPSERT',
        ResourceRecordSet: {
          Name: 'petstore.example.com.',
          Type: 'CNAME',
          SetIdentifier: 'us-west-2',
          Weight: 245,
          TTL: 30,
          ResourceRecords: [{ Value: 'petstore.us-west-2.example.net' }],
          HealthCheckId: 'hc-west-2',
        },
      },
    ]);
    expect(input?.ChangeBatch?.Comment).toMatch(/^lifeboat: .*petstore/);
    expect(input?.ChangeBatch?.Comment).toContain('us-west-2=245');
  });

  it('omits HealthCheckId from every record when the spec has no health checks', async () => {
    const { dns } = adapter();
    await dns.applyWeights({ ...spec, healthChecks: undefined }, weights);
    const changes =
      route53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch
        ?.Changes ?? [];
    expect(changes).toHaveLength(3);
    for (const change of changes)
      expect(change.ResourceRecordSet).not.toHaveProperty('HealthCheckId');
  });

  it('returns the change id, one attempt and insync without polling when Route 53 answers INSYNC', async () => {
    const { dns, sleep } = adapter();
    expect(await dns.applyWeights(spec, weights)).toEqual({
      changeId: '/change/C1',
      attempts: 1,
      insync: true,
    });
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(0);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('polls GetChange every pollMs until INSYNC when the change is PENDING', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C9', Status: 'PENDING', SubmittedAt: new Date() } });
    route53
      .on(GetChangeCommand)
      .resolvesOnce({
        ChangeInfo: { Id: '/change/C9', Status: 'PENDING', SubmittedAt: new Date() },
      })
      .resolvesOnce({
        ChangeInfo: { Id: '/change/C9', Status: 'PENDING', SubmittedAt: new Date() },
      })
      .resolves({ ChangeInfo: { Id: '/change/C9', Status: 'INSYNC', SubmittedAt: new Date() } });
    const { dns, sleep } = adapter({ pollMs: 1500 });
    const result = await dns.applyWeights(spec, weights);
    expect(result).toEqual({ changeId: '/change/C9', attempts: 1, insync: true });
    const polls = route53.commandCalls(GetChangeCommand);
    expect(polls).toHaveLength(3);
    expect(polls.map((c) => c.args[0].input.Id)).toEqual([
      '/change/C9',
      '/change/C9',
      '/change/C9',
    ]);
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([1500, 1500, 1500]);
  });

  it('reports insync false when the change stays PENDING past insyncTimeoutMs', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C9', Status: 'PENDING', SubmittedAt: new Date() } });
    route53
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/C9', Status: 'PENDING', SubmittedAt: new Date() } });
    const { dns } = adapter({ pollMs: 1000, insyncTimeoutMs: 4500 });
    const result = await dns.applyWeights(spec, weights);
    expect(result).toEqual({ changeId: '/change/C9', attempts: 1, insync: false });
    // Polls at 1 s, 2 s, 3 s, 4 s and 4.5 s, then the deadline has passed.
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(5);
  });

  it('retries GetChange when it is throttled while polling', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C9', Status: 'PENDING', SubmittedAt: new Date() } });
    route53
      .on(GetChangeCommand)
      .rejectsOnce(throttling())
      .resolves({ ChangeInfo: { Id: '/change/C9', Status: 'INSYNC', SubmittedAt: new Date() } });
    const { dns } = adapter();
    expect(await dns.applyWeights(spec, weights)).toMatchObject({ attempts: 1, insync: true });
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(2);
  });

  it('reports insync false rather than failing when GetChange keeps being throttled', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C9', Status: 'PENDING', SubmittedAt: new Date() } });
    route53.on(GetChangeCommand).rejects(throttling());
    const { dns } = adapter({ maxAttempts: 3 });
    expect(await dns.applyWeights(spec, weights)).toMatchObject({ attempts: 1, insync: false });
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(3);
  });

  it('retries once and reports 2 attempts when the first change is throttled', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(throttling())
      .resolves({ ChangeInfo: { Id: '/change/C2', Status: 'INSYNC', SubmittedAt: new Date() } });
    const { dns, sleep } = adapter({ baseDelayMs: 200, maxDelayMs: 5000 });
    const result = await dns.applyWeights(spec, weights);
    expect(result).toEqual({ changeId: '/change/C2', attempts: 2, insync: true });
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(2);
    expect(sleep).toHaveBeenCalledTimes(1);
    const [delay] = sleep.mock.calls[0] ?? [];
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThanOrEqual(200);
  });

  it('doubles the backoff cap on each retry up to maxDelayMs when retries keep failing', async () => {
    route53.on(ChangeResourceRecordSetsCommand).rejects(sdkError('PriorRequestNotComplete', 400));
    const { dns, sleep } = adapter({
      maxAttempts: 6,
      baseDelayMs: 100,
      maxDelayMs: 500,
      random: () => 0.999,
    });
    await expect(dns.applyWeights(spec, weights)).rejects.toBeInstanceOf(DnsChangeError);
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([99, 199, 399, 499, 499]);
  });

  it('draws each delay uniformly below its cap (full jitter) when the jitter source varies', async () => {
    route53.on(ChangeResourceRecordSetsCommand).rejects(throttling());
    const { dns, sleep } = adapter({ maxAttempts: 4, baseDelayMs: 1000, random: () => 0 });
    await expect(dns.applyWeights(spec, weights)).rejects.toBeInstanceOf(DnsChangeError);
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([0, 0, 0]);
  });

  it('gives up with DnsChangeError carrying attempts and the last cause when attempts run out', async () => {
    const last = sdkError('ServiceUnavailable', 503);
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(throttling())
      .rejectsOnce(throttling())
      .rejects(last);
    const { dns } = adapter({ maxAttempts: 4 });
    const caught = await dns.applyWeights(spec, weights).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(DnsChangeError);
    const error = caught as DnsChangeError;
    expect(error.attempts).toBe(4);
    expect(error.operation).toBe('ChangeResourceRecordSets');
    expect(error.instanceId).toBe('petstore');
    expect(error.cause).toBe(last);
    expect(error.message).toContain('4 attempt');
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(4);
  });

  it.each([
    ['throttling (Throttling, 400)', () => throttling()],
    ['ThrottlingException', () => sdkError('ThrottlingException', 400)],
    ['PriorRequestNotComplete', () => sdkError('PriorRequestNotComplete', 400)],
    ['HTTP 429', () => sdkError('SomethingElse', 429)],
    ['HTTP 500', () => sdkError('InternalFailure', 500)],
    ['a request timeout', () => Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
    [
      'a reset connection',
      () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    ],
    ['a refused connection', () => Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })],
  ])('retries when the first attempt fails with %s', async (_, error) => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(error())
      .resolves({ ChangeInfo: { Id: '/change/C3', Status: 'INSYNC', SubmittedAt: new Date() } });
    const { dns } = adapter();
    expect((await dns.applyWeights(spec, weights)).attempts).toBe(2);
  });

  it('fails at once with DnsChangeRejectedError and Route 53 messages when the batch is invalid', async () => {
    route53.on(ChangeResourceRecordSetsCommand).rejects(
      new InvalidChangeBatch({
        message: 'Invalid change batch',
        messages: ['RRSet with DNS name petstore.example.com. is not permitted in zone other.com.'],
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const { dns, sleep } = adapter();
    const caught = await dns.applyWeights(spec, weights).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(DnsChangeRejectedError);
    expect((caught as DnsChangeRejectedError).code).toBe('InvalidChangeBatch');
    expect((caught as Error).message).toContain('is not permitted in zone other.com.');
    expect((caught as Error).message).toContain('petstore');
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it.each([
    [
      'NoSuchHostedZone',
      () =>
        new NoSuchHostedZone({
          message: 'No hosted zone found with ID: Z123',
          $metadata: { httpStatusCode: 404 },
        }),
    ],
    [
      'InvalidInput',
      () => new InvalidInput({ message: 'bad input', $metadata: { httpStatusCode: 400 } }),
    ],
    ['AccessDenied', () => sdkError('AccessDenied', 403)],
  ])('fails at once without retry when Route 53 answers %s', async (code, error) => {
    route53.on(ChangeResourceRecordSetsCommand).rejects(error());
    const { dns } = adapter();
    const caught = await dns.applyWeights(spec, weights).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(DnsChangeRejectedError);
    expect((caught as DnsChangeRejectedError).code).toBe(code);
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
  });

  it.each([
    ['a region outside the spec', { ...weights, 'eu-west-1': 5 }, 'eu-west-1'],
    ['a weight above 255', { ...weights, 'us-east-2': 256 }, '256'],
    ['a negative weight', { ...weights, 'us-east-2': -1 }, '-1'],
    ['a fractional weight', { ...weights, 'us-east-2': 1.5 }, '1.5'],
    ['a NaN weight', { ...weights, 'us-east-2': Number.NaN }, 'NaN'],
    ['every weight 0', { 'us-east-1': 0, 'us-east-2': 0, 'us-west-2': 0 }, 'every weight is 0'],
    ['a region of the spec missing', { 'us-east-1': 100, 'us-east-2': 0 }, 'us-west-2'],
  ])('throws InvalidWeightsError before any request when given %s', async (_, bad, named) => {
    const { dns } = adapter();
    const caught = await dns.applyWeights(spec, bad).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(InvalidWeightsError);
    expect((caught as Error).message).toContain(named);
    expect((caught as InvalidWeightsError).instanceId).toBe('petstore');
    expect(route53.calls()).toHaveLength(0);
  });

  it('names the offending region in the error when a weight is out of range', async () => {
    const { dns } = adapter();
    const caught = await dns
      .applyWeights(spec, { ...weights, 'us-west-2': 300 })
      .catch((e: unknown) => e);
    expect((caught as InvalidWeightsError).region).toBe('us-west-2');
  });
});

describe('Route53Dns.precreate', () => {
  it('sends the same UPSERT batch as applyWeights when pre-creating records', async () => {
    const { dns } = adapter();
    await dns.precreate(spec, weights);
    await dns.applyWeights(spec, weights);
    const [first, second] = route53
      .commandCalls(ChangeResourceRecordSetsCommand)
      .map((c) => c.args[0].input);
    expect(first).toEqual(second);
    expect(first?.ChangeBatch?.Changes?.map((c) => c.Action)).toEqual([
      'UPSERT',
      'UPSERT',
      'UPSERT',
    ]);
  });
});

const record = (name: string, setId: string | undefined, weight?: number, type = 'CNAME') => ({
  Name: name,
  Type: type as 'CNAME',
  SetIdentifier: setId,
  Weight: weight,
  TTL: 30,
  ResourceRecords: [{ Value: 'x.example.net' }],
});

describe('Route53Dns.readWeights', () => {
  it('starts listing at the record name and type CNAME when reading weights', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [record('petstore.example.com.', 'us-east-1', 7)],
      IsTruncated: false,
      MaxItems: 300,
    });
    const { dns } = adapter();
    expect(await dns.readWeights(spec)).toEqual({ 'us-east-1': 7 });
    expect(route53.commandCalls(ListResourceRecordSetsCommand)[0]?.args[0].input).toEqual({
      HostedZoneId: 'Z123',
      StartRecordName: 'petstore.example.com.',
      StartRecordType: 'CNAME',
      StartRecordIdentifier: undefined,
    });
  });

  it('follows NextRecordName and NextRecordIdentifier and ignores foreign records when the listing is paged', async () => {
    route53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce({
        ResourceRecordSets: [
          record('PetStore.Example.com.', 'us-east-1', 100),
          record('petstore.example.com.', 'legacy-blue', 50),
        ],
        IsTruncated: true,
        NextRecordName: 'petstore.example.com.',
        NextRecordType: 'CNAME',
        NextRecordIdentifier: 'us-east-2',
        MaxItems: 2,
      })
      .resolvesOnce({
        ResourceRecordSets: [
          record('petstore.example.com', 'us-east-2', 0),
          record('petstore.example.com.', 'us-west-2', 20),
        ],
        IsTruncated: true,
        NextRecordName: 'petstore.example.com.',
        NextRecordType: 'CNAME',
        NextRecordIdentifier: 'zz-other',
        MaxItems: 2,
      })
      .resolvesOnce({
        ResourceRecordSets: [
          record('petstore.example.com.', 'zz-other', 1),
          record('shop.petstore.example.com.', 'us-east-1', 99),
        ],
        IsTruncated: true,
        NextRecordName: 'www.shop.petstore.example.com.',
        NextRecordType: 'A',
        MaxItems: 2,
      });
    const { dns } = adapter();
    expect(await dns.readWeights(spec)).toEqual({
      'us-east-1': 100,
      'us-east-2': 0,
      'us-west-2': 20,
    });
    const inputs = route53.commandCalls(ListResourceRecordSetsCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(3);
    expect(inputs[1]).toMatchObject({
      StartRecordName: 'petstore.example.com.',
      StartRecordType: 'CNAME',
      StartRecordIdentifier: 'us-east-2',
    });
    expect(inputs[2]).toMatchObject({ StartRecordIdentifier: 'zz-other' });
  });

  it('stops without another request when the next page starts at another name', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [record('petstore.example.com.', 'us-east-1', 3)],
      IsTruncated: true,
      NextRecordName: 'shop.petstore.example.com.',
      NextRecordType: 'CNAME',
      MaxItems: 1,
    });
    const { dns } = adapter();
    expect(await dns.readWeights(spec)).toEqual({ 'us-east-1': 3 });
    expect(route53.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(1);
  });

  it('stops when a page repeats the previous one (a backend that ignores StartRecordIdentifier)', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [record('petstore.example.com.', 'us-east-1', 3)],
      IsTruncated: true,
      NextRecordName: 'petstore.example.com.',
      NextRecordType: 'CNAME',
      MaxItems: 1,
    });
    const { dns } = adapter();
    expect(await dns.readWeights(spec)).toEqual({ 'us-east-1': 3 });
    expect(route53.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(2);
  });

  it('returns no weights when the listing starts past the record (no record exists yet)', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [record('www.example.com.', undefined, undefined, 'A')],
      IsTruncated: false,
      MaxItems: 300,
    });
    const { dns } = adapter();
    expect(await dns.readWeights(spec)).toEqual({});
  });

  it('retries a throttled listing when reading weights', async () => {
    route53
      .on(ListResourceRecordSetsCommand)
      .rejectsOnce(throttling())
      .resolves({
        ResourceRecordSets: [record('petstore.example.com.', 'us-west-2', 9)],
        IsTruncated: false,
        MaxItems: 300,
      });
    const { dns } = adapter();
    expect(await dns.readWeights(spec)).toEqual({ 'us-west-2': 9 });
  });

  it('throws DnsChangeRejectedError when the hosted zone does not exist', async () => {
    route53
      .on(ListResourceRecordSetsCommand)
      .rejects(new NoSuchHostedZone({ message: 'nope', $metadata: { httpStatusCode: 404 } }));
    const { dns } = adapter();
    await expect(dns.readWeights(spec)).rejects.toBeInstanceOf(DnsChangeRejectedError);
  });
});

describe('isRetryableDnsError', () => {
  it('treats validation errors and non-errors as final when classifying failures', () => {
    expect(isRetryableDnsError(sdkError('InvalidChangeBatch', 400))).toBe(false);
    expect(isRetryableDnsError(new Error('bug'))).toBe(false);
    expect(isRetryableDnsError(undefined)).toBe(false);
    expect(isRetryableDnsError('Throttling')).toBe(false);
  });
});

describe('route53ClientFor', () => {
  it('returns one cached us-east-1 client per endpoint with SDK retries off when asked repeatedly', async () => {
    const a = route53ClientFor('http://127.0.0.1:45101', {});
    expect(route53ClientFor('http://127.0.0.1:45101', {})).toBe(a);
    expect(route53ClientFor('http://127.0.0.1:45102', {})).not.toBe(a);
    expect(await a.config.region()).toBe('us-east-1');
    expect(await a.config.maxAttempts()).toBe(1);
  });

  it('prefers AWS_ENDPOINT_URL_ROUTE_53 over AWS_ENDPOINT_URL when no endpoint is given', async () => {
    const env = {
      AWS_ENDPOINT_URL_ROUTE_53: 'http://127.0.0.1:45103',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:45104',
    };
    const client = route53ClientFor(undefined, env);
    expect(client).toBe(route53ClientFor('http://127.0.0.1:45103', {}));
    expect(route53ClientFor(undefined, { AWS_ENDPOINT_URL: 'http://127.0.0.1:45104' })).toBe(
      route53ClientFor('http://127.0.0.1:45104', {}),
    );
    const endpoint = await client.config.endpoint?.();
    expect(endpoint?.port).toBe(45103);
  });
});
