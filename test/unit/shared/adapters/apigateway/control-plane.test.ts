import {
  APIGatewayClient,
  CreateRestApiCommand,
  GetResourcesCommand,
  GetRestApiCommand,
  GetRestApisCommand,
  NotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-api-gateway';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  apiGatewayClientFor,
  ControlPlane,
  pacingFor,
} from '../../../../../shared/adapters/apigateway/control-plane.ts';
import { AWS_PACING, UNPACED } from '../../../../../shared/domain/apigateway/pacing.ts';
import { ApiGatewayCallError } from '../../../../../shared/errors.ts';

const apigateway = mockClient(APIGatewayClient);

function sdkError(name: string, status: number | undefined): Error {
  return Object.assign(new Error(`${name} happened`), {
    name,
    $fault: status && status < 500 ? 'client' : 'server',
    $metadata: status ? { httpStatusCode: status } : {},
  });
}

/** A plane on a fake clock: sleeps are recorded and move virtual time on. */
function plane() {
  let now = 0;
  const sleeps: number[] = [];
  const cp = new ControlPlane(new APIGatewayClient({ region: 'us-west-2' }), 'us-west-2', {
    pacing: UNPACED,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  });
  return { cp, sleeps };
}

beforeEach(() => apigateway.reset());

describe('ControlPlane.all', () => {
  it('follows position across pages until the last page', async () => {
    apigateway
      .on(GetRestApisCommand)
      .resolvesOnce({ items: [{ id: 'a' }, { id: 'b' }], position: 'p1' })
      .resolvesOnce({ items: [{ id: 'c' }], position: 'p2' })
      .resolvesOnce({ items: [{ id: 'd' }] });
    const { cp } = plane();

    const items = await cp.all<{ id: string }>(
      'GetRestApis',
      (position) => new GetRestApisCommand({ limit: 2, position }),
    );

    expect(items.map((i) => i.id)).toEqual(['a', 'b', 'c', 'd']);
    const positions = apigateway
      .commandCalls(GetRestApisCommand)
      .map((c) => c.args[0].input.position);
    expect(positions).toEqual([undefined, 'p1', 'p2']);
    expect(cp.calls.get('GetRestApis')).toBe(3);
  });

  it('stops when a server hands back a position it already gave', async () => {
    apigateway
      .on(GetResourcesCommand)
      .resolvesOnce({ items: [{ id: 'r1' }], position: 'p1' })
      .resolvesOnce({ items: [{ id: 'r2' }], position: 'p2' })
      .resolves({ items: [{ id: 'again' }], position: 'p1' });
    const { cp } = plane();

    const items = await cp.all<{ id: string }>(
      'GetResources',
      (position) => new GetResourcesCommand({ restApiId: 'x', position }),
    );

    expect(apigateway.commandCalls(GetResourcesCommand)).toHaveLength(3);
    expect(items.slice(0, 2).map((i) => i.id)).toEqual(['r1', 'r2']);
  });

  it('reads a listing with no items as empty', async () => {
    apigateway.on(GetRestApisCommand).resolves({});
    const { cp } = plane();
    expect(await cp.all('GetRestApis', () => new GetRestApisCommand({}))).toEqual([]);
  });
});

describe('ControlPlane.send', () => {
  it('retries a throttled call with backoff and returns its answer', async () => {
    apigateway
      .on(CreateRestApiCommand)
      .rejectsOnce(new TooManyRequestsException({ message: 'slow down', $metadata: {} }))
      .rejectsOnce(sdkError('Throttled', 429))
      .resolves({ id: 'made' });
    const { cp, sleeps } = plane();

    const out = await cp.call<{ id: string }>(
      'CreateRestApi',
      new CreateRestApiCommand({ name: 'a' }),
    );

    expect(out.id).toBe('made');
    expect(apigateway.commandCalls(CreateRestApiCommand)).toHaveLength(3);
    expect(sleeps).toEqual([250, 500]);
  });

  it('never retries a create that failed with a 500: it may have taken effect', async () => {
    apigateway.on(CreateRestApiCommand).rejects(sdkError('InternalFailure', 500));
    const { cp } = plane();

    const error = await cp
      .call('CreateRestApi', new CreateRestApiCommand({ name: 'a' }))
      .catch((e: unknown) => e);

    expect(apigateway.commandCalls(CreateRestApiCommand)).toHaveLength(1);
    expect(error).toBeInstanceOf(ApiGatewayCallError);
    expect(error).toMatchObject({
      operation: 'CreateRestApi',
      region: 'us-west-2',
      ambiguous: true,
    });
  });

  it('never retries a lost connection, and calls it ambiguous', async () => {
    apigateway
      .on(CreateRestApiCommand)
      .rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const { cp } = plane();

    const error = await cp
      .call('CreateRestApi', new CreateRestApiCommand({ name: 'a' }))
      .catch((e: unknown) => e);

    expect(apigateway.commandCalls(CreateRestApiCommand)).toHaveLength(1);
    expect(error).toMatchObject({ name: 'ApiGatewayCallError', ambiguous: true });
  });

  it('reports a refused request (4xx) as not ambiguous, without retrying it', async () => {
    apigateway.on(CreateRestApiCommand).rejects(sdkError('BadRequestException', 400));
    const { cp } = plane();

    await expect(
      cp.call('CreateRestApi', new CreateRestApiCommand({ name: 'a' })),
    ).rejects.toMatchObject({ name: 'ApiGatewayCallError', ambiguous: false });
    expect(apigateway.commandCalls(CreateRestApiCommand)).toHaveLength(1);
  });

  it('gives up on a call that stays throttled, after a bounded number of tries', async () => {
    apigateway.on(GetRestApiCommand).rejects(sdkError('TooManyRequestsException', 429));
    const { cp, sleeps } = plane();

    await expect(
      cp.call('GetRestApi', new GetRestApiCommand({ restApiId: 'a' })),
    ).rejects.toBeInstanceOf(ApiGatewayCallError);
    expect(apigateway.commandCalls(GetRestApiCommand)).toHaveLength(9);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(10_000);
  });

  it('answers undefined for a missing thing only when asked to', async () => {
    apigateway
      .on(GetRestApiCommand)
      .rejects(new NotFoundException({ message: 'gone', $metadata: { httpStatusCode: 404 } }));
    const { cp } = plane();

    expect(
      await cp.send('GetRestApi', new GetRestApiCommand({ restApiId: 'a' }), { missingOk: true }),
    ).toBeUndefined();
    await expect(
      cp.call('GetRestApi', new GetRestApiCommand({ restApiId: 'a' })),
    ).rejects.toMatchObject({ name: 'ApiGatewayCallError', ambiguous: false });
  });

  it('paces every call, retries included', async () => {
    apigateway
      .on(CreateRestApiCommand)
      .rejectsOnce(sdkError('TooManyRequestsException', 429))
      .resolves({ id: 'made' });
    let now = 0;
    const cp = new ControlPlane(new APIGatewayClient({ region: 'us-west-2' }), 'us-west-2', {
      pacing: AWS_PACING,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });

    await cp.call('CreateRestApi', new CreateRestApiCommand({ name: 'a' }));
    await cp.call('CreateRestApi', new CreateRestApiCommand({ name: 'b' }));

    // Three CreateRestApi calls went out (one retried): two 3-second gaps at least.
    expect(cp.calls.get('CreateRestApi')).toBe(3);
    expect(now).toBeGreaterThanOrEqual(6_000);
  });
});

describe('apiGatewayClientFor', () => {
  it('builds a client that makes exactly one attempt, so the SDK never repeats a create', async () => {
    const client = apiGatewayClientFor(
      { region: 'eu-west-1', endpointUrl: 'http://127.0.0.1:1' },
      {},
    );
    expect(await client.config.maxAttempts()).toBe(1);
    expect(client).toBe(
      apiGatewayClientFor({ region: 'eu-west-1', endpointUrl: 'http://127.0.0.1:1' }, {}),
    );
  });
});

describe('pacingFor', () => {
  it("paces for AWS's limits unless the endpoint is a local emulator", () => {
    expect(pacingFor(undefined, {})).toBe(AWS_PACING);
    expect(pacingFor('http://127.0.0.1:5000', {})).toBe(UNPACED);
    expect(pacingFor(undefined, { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' })).toBe(UNPACED);
  });
});
