import { Readable } from 'node:stream';
import {
  APIGatewayClient,
  CreateResourceCommand,
  CreateRestApiCommand,
  PutIntegrationCommand,
} from '@aws-sdk/client-api-gateway';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  type AwsService,
  type CannedResponse,
  cannedFault,
  classifyRequest,
  faultOnce,
  faultPersistently,
  type ProxiedCall,
} from '../../../local/fault-proxy.ts';

/**
 * No sockets: each SDK client gets a request handler that records what it would have sent and
 * answers with a canned response, so the test sees the real wire shape and the real parsing.
 */
interface WireRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
}

function wire(answer: { status: number; headers: Record<string, string>; body: string }) {
  const seen: WireRequest[] = [];
  const handler = {
    handle: async (request: WireRequest) => {
      seen.push(request);
      return {
        response: {
          statusCode: answer.status,
          reason: '',
          headers: answer.headers,
          body: Readable.from([Buffer.from(answer.body)]),
        },
      };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  };
  return { handler, seen };
}

const ok = { status: 200, headers: { 'content-type': 'application/xml' }, body: '' };
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

function pathOf(request: WireRequest): string {
  const query = Object.entries(request.query ?? {})
    .map(([k, v]) => (v === null ? k : `${k}=${v}`))
    .join('&');
  return query ? `${request.path}?${query}` : request.path;
}

function classified(request: WireRequest) {
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return classifyRequest(request.method, pathOf(request), headers);
}

function s3(answer: CannedResponse = ok) {
  const { handler, seen } = wire(answer);
  const client = new S3Client({
    region: 'us-east-2',
    credentials,
    endpoint: 'http://127.0.0.1:1',
    forcePathStyle: true,
    maxAttempts: 1,
    requestHandler: handler,
  });
  return { client, seen };
}

describe('classifyRequest', () => {
  it('names the S3 operation and the signing region of what the real S3 client sends', async () => {
    const { client, seen } = s3();
    await client
      .send(new PutObjectCommand({ Bucket: 'bkt', Key: 'a/b.json', Body: 'x' }))
      .catch(() => 0);
    await client.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'a/b.json' })).catch(() => 0);
    await client.send(new ListObjectsV2Command({ Bucket: 'bkt', Prefix: 'a/' })).catch(() => 0);
    await client
      .send(new DeleteObjectsCommand({ Bucket: 'bkt', Delete: { Objects: [{ Key: 'a' }] } }))
      .catch(() => 0);

    expect(seen.map((r) => classified(r))).toMatchObject([
      { service: 's3', region: 'us-east-2', method: 'PUT', operation: 'PutObject' },
      { service: 's3', region: 'us-east-2', method: 'GET', operation: 'GetObject' },
      { service: 's3', region: 'us-east-2', method: 'GET', operation: 'ListObjectsV2' },
      { service: 's3', region: 'us-east-2', method: 'POST', operation: 'DeleteObjects' },
    ]);
  });

  it('tells Route 53 record changes from listings, and EventBridge by its target header', async () => {
    const r53 = wire(ok);
    const route53 = new Route53Client({
      region: 'us-east-1',
      credentials,
      endpoint: 'http://127.0.0.1:1',
      maxAttempts: 1,
      requestHandler: r53.handler,
    });
    await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z1' })).catch(() => 0);
    await route53
      .send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: 'Z1',
          ChangeBatch: { Changes: [] },
        }),
      )
      .catch(() => 0);
    const eb = wire({ status: 200, headers: {}, body: '{}' });
    const events = new EventBridgeClient({
      region: 'us-west-2',
      credentials,
      endpoint: 'http://127.0.0.1:1',
      maxAttempts: 1,
      requestHandler: eb.handler,
    });
    await events.send(new PutEventsCommand({ Entries: [] })).catch(() => 0);

    expect([...r53.seen, ...eb.seen].map((r) => classified(r))).toMatchObject([
      { service: 'route53', operation: 'ListResourceRecordSets' },
      { service: 'route53', operation: 'ChangeResourceRecordSets' },
      { service: 'eventbridge', region: 'us-west-2', operation: 'PutEvents' },
    ]);
  });

  it('names the API Gateway call by its shape, without ids, from what the real client sends', async () => {
    const { handler, seen } = wire({ status: 200, headers: {}, body: '{}' });
    const client = new APIGatewayClient({
      region: 'eu-west-1',
      credentials,
      endpoint: 'http://127.0.0.1:1',
      maxAttempts: 1,
      requestHandler: handler,
    });
    await client.send(new CreateRestApiCommand({ name: 'a' })).catch(() => 0);
    await client
      .send(new CreateResourceCommand({ restApiId: 'abc123', parentId: 'r00t', pathPart: 'x' }))
      .catch(() => 0);
    await client
      .send(
        new PutIntegrationCommand({
          restApiId: 'abc123',
          resourceId: 'res9',
          httpMethod: 'GET',
          type: 'MOCK',
        }),
      )
      .catch(() => 0);

    expect(seen.map((r) => classified(r))).toMatchObject([
      { service: 'apigateway', region: 'eu-west-1', operation: 'POST /restapis' },
      {
        service: 'apigateway',
        operation: 'POST /restapis/{restapis}/resources/{resources}',
      },
      {
        service: 'apigateway',
        operation: 'PUT /restapis/{restapis}/resources/{resources}/methods/{methods}/integration',
      },
    ]);
  });

  it("leaves moto's own API unclassified, so it is never numbered or faulted", () => {
    expect(classifyRequest('POST', '/moto-api/reset', {}).service).toBe('other');
  });

  it('gives a request and its retry the same signature, and other keys another', () => {
    const auth = {
      authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=0',
    };
    const a = classifyRequest('GET', '/bkt/runs/x.json', auth);
    const again = classifyRequest('GET', '/bkt/runs/x.json', auth);
    const other = classifyRequest('GET', '/bkt/runs/y.json', auth);

    expect(a.signature).toBe(again.signature);
    expect(a.signature).not.toBe(other.signature);
    expect(a.region).toBe('eu-west-1');
  });
});

describe('cannedFault', () => {
  it.for([
    ['error', 'InternalError', 500],
    ['throttle', 'SlowDown', 503],
  ] as const)('is parsed by the S3 client as %s → %s', async ([kind, name, status]) => {
    const { client } = s3(cannedFault('s3', kind, 'GetObject'));

    const error = await client.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'k' })).then(
      () => undefined,
      (e: { name: string; $metadata: { httpStatusCode: number } }) => e,
    );

    expect(error?.name).toBe(name);
    expect(error?.$metadata.httpStatusCode).toBe(status);
  });

  it.for([
    ['error', 'ListResourceRecordSets', 'InternalFailure'],
    ['throttle', 'ListResourceRecordSets', 'Throttling'],
    ['throttle', 'ChangeResourceRecordSets', 'PriorRequestNotComplete'],
  ] as const)(
    'is parsed by the Route 53 client as %s of %s → %s',
    async ([kind, operation, name]) => {
      const { handler } = wire(cannedFault('route53', kind, operation));
      const client = new Route53Client({
        region: 'us-east-1',
        credentials,
        endpoint: 'http://127.0.0.1:1',
        maxAttempts: 1,
        requestHandler: handler,
      });

      const error = await client
        .send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z' }))
        .then(
          () => undefined,
          (e: { name: string }) => e,
        );

      expect(error?.name).toBe(name);
    },
  );

  it.for([
    ['error', 500],
    ['throttle', 429],
  ] as const)('is parsed by the API Gateway client as %s → HTTP %s', async ([kind, status]) => {
    const { handler } = wire(cannedFault('apigateway', kind, 'POST /restapis'));
    const client = new APIGatewayClient({
      region: 'us-west-2',
      credentials,
      endpoint: 'http://127.0.0.1:1',
      maxAttempts: 1,
      requestHandler: handler,
    });

    const error = await client.send(new CreateRestApiCommand({ name: 'a' })).then(
      () => undefined,
      (e: { name: string; $metadata: { httpStatusCode: number } }) => e,
    );

    expect(error?.$metadata.httpStatusCode).toBe(status);
    // The control plane retries exactly the throttles: the client must name them so.
    if (kind === 'throttle') expect(error?.name).toBe('TooManyRequestsException');
    else expect(error?.name).not.toBe('TooManyRequestsException');
  });

  it.for([
    ['error', 'InternalException'],
    ['throttle', 'ThrottlingException'],
  ] as const)('is parsed by the EventBridge client as %s → %s', async ([kind, name]) => {
    const { handler } = wire(cannedFault('eventbridge', kind, 'PutEvents'));
    const client = new EventBridgeClient({
      region: 'us-west-2',
      credentials,
      endpoint: 'http://127.0.0.1:1',
      maxAttempts: 1,
      requestHandler: handler,
    });

    const error = await client.send(new PutEventsCommand({ Entries: [] })).then(
      () => undefined,
      (e: { name: string }) => e,
    );

    expect(error?.name).toBe(name);
  });
});

function call(service: AwsService, serviceSeq: number, signature: string): ProxiedCall {
  return {
    seq: serviceSeq,
    service,
    serviceSeq,
    region: 'us-east-2',
    method: 'GET',
    path: '/',
    operation: 'GetObject',
    signature,
  };
}

describe('fault plans', () => {
  it('faultOnce breaks only the chosen call of the chosen service', () => {
    const plan = faultOnce('s3', 2, 'reset');

    expect([
      plan(call('s3', 1, 'a')),
      plan(call('eventbridge', 2, 'b')),
      plan(call('s3', 2, 'c')),
      plan(call('s3', 3, 'c')),
    ]).toEqual([undefined, undefined, 'reset', undefined]);
  });

  it('faultPersistently keeps breaking the chosen request and its retries, nothing else', () => {
    const plan = faultPersistently('s3', 2, 'timeout');

    expect([
      plan(call('s3', 1, 'same')),
      plan(call('s3', 2, 'same')),
      plan(call('s3', 3, 'other')),
      plan(call('s3', 4, 'same')),
      plan(call('s3', 9, 'same')),
    ]).toEqual([undefined, 'timeout', undefined, 'timeout', 'timeout']);
  });
});
