import {
  APIGatewayClient,
  GetApiKeysCommand,
  GetAuthorizersCommand,
  GetBasePathMappingsCommand,
  GetDeploymentsCommand,
  GetDomainNamesCommand,
  GetGatewayResponsesCommand,
  GetModelsCommand,
  GetRequestValidatorsCommand,
  GetResourcesCommand,
  GetRestApisCommand,
  GetStagesCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
  type Resource,
  type RestApi,
} from '@aws-sdk/client-api-gateway';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ControlPlane } from '../../../../../shared/adapters/apigateway/control-plane.ts';
import { readInstance } from '../../../../../shared/adapters/apigateway/read-instance.ts';
import {
  encodeDocument,
  INSTANCE_TAG,
  instanceDocuments,
} from '../../../../../shared/domain/apigateway/documents.ts';
import { UNPACED } from '../../../../../shared/domain/apigateway/pacing.ts';
import { type DataKey, unseal } from '../../../../../shared/domain/apigateway/sealing.ts';
import { DuplicateMemberError } from '../../../../../shared/errors.ts';

const apigateway = mockClient(APIGatewayClient);

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const API_ID = 'a1b2c3d4e5';
const CREATED = new Date('2026-11-30T10:11:12Z');
const UPDATED = new Date('2026-12-01T13:14:15Z');
/** Every server-generated id and date the responses carry: none may reach a document. */
const GENERATED = [
  API_ID,
  'rootid0001',
  'resid00002',
  'resid00003',
  'authid0001',
  'valid00001',
  'modelid001',
  'depid00001',
  'planid0001',
  'keyid00001',
  'd-regional123',
  'Z2OJLYMUO9EFXC',
  '2026-11-30',
  '2026-12-01',
  'execute-api.us-east-1.amazonaws.com',
];
const SECRET = 'SECRETKEYVALUE0123456789';
const dataKey: DataKey = { keyId: 'k1', key: Buffer.alloc(32, 7) };
const keyring = { current: async () => dataKey, byId: async () => dataKey };
const lambda = (fn: string) =>
  `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:${REGION}:${ACCOUNT}:function:${fn}/invocations`;
const certificate = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/cert-1`;
const logGroup = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/access`;
const references = {
  'shop-cert': { [REGION]: certificate, 'us-west-2': 'arn:aws:acm:us-west-2:1:certificate/c' },
  'access-logs': { [REGION]: logGroup, 'us-west-2': 'arn:aws:logs:us-west-2:1:log-group:/a' },
};

/** API Gateway's answers for one instance, in SDK shapes; `reverse` lists everything backwards. */
function answer(reverse = false) {
  const order = <T>(items: T[]) => (reverse ? [...items].reverse() : items);
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: '*',
        Action: 'execute-api:Invoke',
        Resource: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${API_ID}/*/GET/items`,
      },
    ],
  });
  apigateway.on(GetRestApisCommand).resolves({
    items: order<RestApi>([
      {
        id: API_ID,
        name: 'shop-api-0',
        description: 'the shop',
        createdDate: CREATED,
        version: 'v1',
        apiKeySource: 'HEADER',
        endpointConfiguration: { types: ['REGIONAL'] },
        binaryMediaTypes: order(['image/png', 'application/octet-stream']),
        disableExecuteApiEndpoint: false,
        // AWS hands the policy back as an escaped JSON string.
        policy: policy.replaceAll('"', '\\"'),
        tags: { team: 'payments', 'lifeboat:instance': 'shop' },
      },
      { id: 'otherapi01', name: 'other', tags: { 'lifeboat:instance': 'other' } },
      { id: 'untagged01', name: 'untagged' },
    ]),
  });
  apigateway.on(GetResourcesCommand, { restApiId: API_ID }).resolves({
    items: order<Resource>([
      { id: 'rootid0001', path: '/' },
      {
        id: 'resid00002',
        parentId: 'rootid0001',
        pathPart: 'items',
        path: '/items',
        resourceMethods: {
          POST: {
            httpMethod: 'POST',
            authorizationType: 'CUSTOM',
            authorizerId: 'authid0001',
            requestValidatorId: 'valid00001',
            apiKeyRequired: false,
            requestModels: { 'application/json': 'Pet' },
            methodResponses: {
              '200': { statusCode: '200', responseModels: { 'application/json': 'Empty' } },
            },
            methodIntegration: {
              type: 'AWS_PROXY',
              httpMethod: 'POST',
              uri: lambda('items'),
              cacheNamespace: 'resid00002',
              cacheKeyParameters: order(['method.request.path.b', 'method.request.path.a']),
              passthroughBehavior: 'WHEN_NO_MATCH',
              timeoutInMillis: 29000,
              integrationResponses: {
                '200': { statusCode: '200', responseTemplates: { 'application/json': null } },
              } as never,
            },
          },
        },
      },
      {
        id: 'resid00003',
        parentId: 'resid00002',
        pathPart: '{id}',
        path: '/items/{id}',
        resourceMethods: {
          GET: {
            httpMethod: 'GET',
            authorizationType: 'NONE',
            apiKeyRequired: true,
            requestParameters: { 'method.request.path.id': true },
            methodIntegration: {
              type: 'MOCK',
              cacheNamespace: 'resid00003',
              requestTemplates: { 'application/json': '{"statusCode": 200}' },
            },
          },
        },
      },
    ]),
  });
  apigateway.on(GetModelsCommand).resolves({
    items: [{ id: 'modelid001', name: 'Pet', contentType: 'application/json', schema: '{}' }],
  });
  apigateway.on(GetRequestValidatorsCommand).resolves({
    items: [
      {
        id: 'valid00001',
        name: 'body-only',
        validateRequestBody: true,
        validateRequestParameters: false,
      },
    ],
  });
  apigateway.on(GetAuthorizersCommand).resolves({
    items: [
      {
        id: 'authid0001',
        name: 'token',
        type: 'TOKEN',
        authorizerUri: lambda('auth'),
        identitySource: 'method.request.header.Authorization',
        authorizerResultTtlInSeconds: 300,
      },
    ],
  });
  apigateway.on(GetGatewayResponsesCommand).resolves({
    items: order([
      { responseType: 'DEFAULT_4XX', statusCode: '400', defaultResponse: false },
      { responseType: 'DEFAULT_5XX', defaultResponse: true, responseTemplates: { a: 'b' } },
    ]),
  });
  apigateway.on(GetStagesCommand).resolves({
    item: [
      {
        stageName: 'prod',
        deploymentId: 'depid00001',
        description: 'production',
        createdDate: CREATED,
        lastUpdatedDate: UPDATED,
        cacheClusterEnabled: false,
        cacheClusterStatus: 'NOT_AVAILABLE',
        tracingEnabled: true,
        variables: { version: '1', backend: 'blue' },
        methodSettings: {
          '*/*': { metricsEnabled: true, throttlingRateLimit: 500, throttlingBurstLimit: 1000 },
        },
        accessLogSettings: { destinationArn: logGroup, format: '$context.requestId' },
        tags: { env: 'prod' },
      },
    ],
  });
  apigateway.on(GetDeploymentsCommand).resolves({
    items: [{ id: 'depid00001', description: 'release 1', createdDate: CREATED }],
  });
  apigateway.on(GetUsagePlansCommand).resolves({
    items: order([
      {
        id: 'planid0001',
        name: 'shop-api-0-gold',
        description: 'gold',
        apiStages: order([
          { apiId: 'otherapi01', stage: 'prod' },
          {
            apiId: API_ID,
            stage: 'prod',
            throttle: { '/items/POST': { rateLimit: 5, burstLimit: 10 } },
          },
        ]),
        throttle: { rateLimit: 100, burstLimit: 200 },
        quota: { limit: 1000, offset: 0, period: 'MONTH' },
        tags: { 'lifeboat:instance': 'shop', tier: 'gold' },
      },
      { id: 'planid0002', name: 'foreign', apiStages: [{ apiId: 'otherapi01', stage: 'prod' }] },
    ]),
  });
  apigateway.on(GetApiKeysCommand).resolves({
    items: order([
      {
        id: 'keyid00001',
        name: 'shop-api-0-customer',
        value: SECRET,
        enabled: true,
        createdDate: CREATED,
        lastUpdatedDate: UPDATED,
        stageKeys: [`${API_ID}/prod`],
        tags: { customer: 'c0', 'lifeboat:instance': 'shop' },
      },
      { id: 'keyid00002', name: 'foreign-key', value: 'NOTOURS', enabled: true },
    ]),
  });
  apigateway
    .on(GetUsagePlanKeysCommand, { usagePlanId: 'planid0001' })
    .resolves({ items: [{ id: 'keyid00001', type: 'API_KEY', name: 'shop-api-0-customer' }] });
  apigateway.on(GetDomainNamesCommand).resolves({
    items: order([
      {
        domainName: 'api.example.com',
        endpointConfiguration: { types: ['REGIONAL'] },
        regionalCertificateArn: certificate,
        regionalDomainName: 'd-regional123.execute-api.us-east-1.amazonaws.com',
        regionalHostedZoneId: 'Z2OJLYMUO9EFXC',
        domainNameStatus: 'AVAILABLE',
        securityPolicy: 'TLS_1_2',
        tags: {},
      },
      { domainName: 'edge.example.com', endpointConfiguration: { types: ['EDGE'] } },
      { domainName: 'theirs.example.com', endpointConfiguration: { types: ['REGIONAL'] } },
    ]),
  });
  apigateway.on(GetBasePathMappingsCommand, { domainName: 'api.example.com' }).resolves({
    items: order([
      { basePath: 'v1', restApiId: API_ID, stage: 'prod' },
      { basePath: '(none)', restApiId: API_ID, stage: 'prod' },
      { basePath: 'them', restApiId: 'otherapi01', stage: 'prod' },
    ]),
  });
  apigateway
    .on(GetBasePathMappingsCommand, { domainName: 'theirs.example.com' })
    .resolves({ items: [{ basePath: '(none)', restApiId: 'otherapi01', stage: 'prod' }] });
}

function read() {
  const plane = new ControlPlane(new APIGatewayClient({ region: REGION }), REGION, {
    pacing: UNPACED,
  });
  return readInstance({ plane, instanceId: 'shop', references, keyring });
}

beforeEach(() => apigateway.reset());

describe('readInstance', () => {
  it('reads only the members: tagged APIs, the plans, keys and domains that refer to them', async () => {
    answer();
    const { instance } = await read();
    expect(instance.apis.map((a) => a.name)).toEqual(['shop-api-0']);
    expect(instance.usagePlans.map((p) => p.name)).toEqual(['shop-api-0-gold']);
    expect(instance.apiKeys.map((k) => k.name)).toEqual(['shop-api-0-customer']);
    expect(instance.domains.map((d) => d.domainName)).toEqual(['api.example.com']);
  });

  it('removes every server-generated id and date, and the key value, from the documents', async () => {
    answer();
    const { instance } = await read();
    const text = instanceDocuments(instance)
      .map((doc) => Buffer.from(encodeDocument(doc)).toString('utf8'))
      .join('\n');
    for (const generated of GENERATED) expect(text, generated).not.toContain(generated);
    expect(text).not.toContain(SECRET);
    for (const field of [
      '"id"',
      'createdDate',
      'lastUpdatedDate',
      'cacheNamespace',
      'statusCode":"200"',
    ])
      expect(text, field).not.toContain(field);
  });

  it('refers to authorizers, validators, deployments, APIs and keys by name or path', async () => {
    answer();
    const { instance } = await read();
    const [api] = instance.apis;
    const post = api?.resources['/items']?.methods.POST;
    expect(post).toMatchObject({ authorizer: 'token', requestValidator: 'body-only' });
    expect(Object.keys(api?.resources ?? {})).toEqual(['/', '/items', '/items/{id}']);
    expect(api?.stages.prod).toMatchObject({ deploymentDescription: 'release 1' });
    expect(instance.usagePlans[0]).toMatchObject({
      apiStages: [
        {
          api: 'shop-api-0',
          stage: 'prod',
          throttle: { '/items/POST': { rateLimit: 5, burstLimit: 10 } },
        },
      ],
      keys: ['shop-api-0-customer'],
      // lifeboat's own tags are bookkeeping, not configuration.
      tags: { tier: 'gold' },
    });
    expect(instance.domains[0]?.mappings).toEqual([
      { basePath: '', api: 'shop-api-0', stage: 'prod' },
      { basePath: 'v1', api: 'shop-api-0', stage: 'prod' },
    ]);
  });

  it('keeps region-bound values as tokens and the key value sealed', async () => {
    answer();
    const { instance } = await read();
    const [api] = instance.apis;
    expect(api?.resources['/items']?.methods.POST?.integration?.uri).toBe(
      'arn:aws:apigateway:{{lifeboat:region}}:lambda:path/2015-03-31/functions/arn:aws:lambda:{{lifeboat:region}}:123456789012:function:items/invocations',
    );
    expect(api?.policy).toMatchObject({
      Statement: [
        {
          Resource: `arn:aws:execute-api:{{lifeboat:region}}:${ACCOUNT}:{{lifeboat:api-id}}/*/GET/items`,
        },
      ],
    });
    expect(api?.stages.prod?.accessLogSettings?.destinationArn).toBe(
      '{{lifeboat:ref:access-logs}}',
    );
    expect(instance.domains[0]?.certificate).toBe('{{lifeboat:ref:shop-cert}}');
    const sealed = instance.apiKeys[0]?.value.sealed as string;
    expect(unseal(sealed, dataKey)).toBe(SECRET);
  });

  it('sorts what API Gateway lists in any order: the same instance gives the same bytes', async () => {
    answer(false);
    const one = instanceDocuments((await read()).instance).map((d) => encodeDocument(d));
    apigateway.reset();
    answer(true);
    const two = instanceDocuments((await read()).instance).map((d) => encodeDocument(d));
    expect(two).toEqual(one);
    const [api] = (await read()).instance.apis;
    expect(api?.binaryMediaTypes).toEqual(['application/octet-stream', 'image/png']);
    expect(api?.resources['/items']?.methods.POST?.integration?.cacheKeyParameters).toEqual([
      'method.request.path.a',
      'method.request.path.b',
    ]);
  });

  it('leaves out the gateway responses API Gateway makes by default, and keeps empty templates', async () => {
    answer();
    const [api] = (await read()).instance.apis;
    expect(Object.keys(api?.gatewayResponses ?? {})).toEqual(['DEFAULT_4XX']);
    expect(
      api?.resources['/items']?.methods.POST?.integration?.responses['200']?.responseTemplates,
    ).toEqual({ 'application/json': '' });
  });

  it('keeps the ids it met in the index, for the restore to turn names back into ids', async () => {
    answer();
    const { index } = await read();
    const api = index.apis.get('shop-api-0');
    expect(api?.id).toBe(API_ID);
    expect(api?.resourceIds.get('/items/{id}')).toBe('resid00003');
    expect(api?.authorizerIds.get('token')).toBe('authid0001');
    expect(api?.stageDeployments.get('prod')).toBe('depid00001');
    expect(index.usagePlanIds.get('shop-api-0-gold')).toBe('planid0001');
    expect(index.apiKeys.get('shop-api-0-customer')).toEqual({ id: 'keyid00001', value: SECRET });
  });

  it('refuses two member APIs of one name, since references by name would be ambiguous', async () => {
    answer();
    apigateway.on(GetRestApisCommand).resolves({
      items: [
        { id: 'one', name: 'twin', tags: { 'lifeboat:instance': 'shop' } },
        { id: 'two', name: 'twin', tags: { 'lifeboat:instance': 'shop' } },
      ],
    });
    await expect(read()).rejects.toBeInstanceOf(DuplicateMemberError);
  });
});

const APIS = 20;
const PLANS = 30;

let inFlight = 0;
let peak = 0;

/** A listing that answers after a few milliseconds, counting how many are open at once. */
function slow<T>(answer: T) {
  return async () => {
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight -= 1;
    return answer;
  };
}

/** An instance of many APIs and plans whose listings answer slowly. */
function manyApis() {
  apigateway.reset();
  inFlight = 0;
  peak = 0;
  apigateway.on(GetRestApisCommand).resolves({
    items: Array.from({ length: APIS }, (_, i) => ({
      id: `id${i}`,
      name: `api-${i}`,
      tags: { [INSTANCE_TAG]: 'shop' },
    })),
  });
  apigateway.on(GetResourcesCommand).callsFake(slow({ items: [] }));
  apigateway.on(GetModelsCommand).callsFake(slow({ items: [] }));
  apigateway.on(GetRequestValidatorsCommand).callsFake(slow({ items: [] }));
  apigateway.on(GetAuthorizersCommand).callsFake(slow({ items: [] }));
  apigateway.on(GetGatewayResponsesCommand).callsFake(slow({ items: [] }));
  apigateway.on(GetDeploymentsCommand).callsFake(slow({ items: [] }));
  apigateway.on(GetStagesCommand).callsFake(slow({ item: [] }));
  apigateway.on(GetUsagePlansCommand).resolves({
    items: Array.from({ length: PLANS }, (_, i) => ({
      id: `plan${i}`,
      name: `plan-${i}`,
      apiStages: [{ apiId: `id${i % APIS}`, stage: 'prod' }],
    })),
  });
  apigateway.on(GetUsagePlanKeysCommand).callsFake(slow({ items: [] }));
  apigateway.on(GetApiKeysCommand).resolves({ items: [] });
  apigateway.on(GetDomainNamesCommand).resolves({ items: [] });
}

describe('readInstance of a large instance', () => {
  it('keeps at most 4 APIs (28 listings) in flight when an instance has many APIs and plans', async () => {
    manyApis();
    const plane = new ControlPlane(new APIGatewayClient({ region: 'us-east-1' }), 'us-east-1', {
      pacing: UNPACED,
    });
    const keyring = {
      current: () => Promise.reject(new Error('no keys here')),
      byId: () => Promise.reject(new Error('no keys here')),
    };
    const { instance } = await readInstance({ plane, instanceId: 'shop', references: {}, keyring });
    expect(instance.apis.map((a) => a.name).sort()).toEqual(
      Array.from({ length: APIS }, (_, i) => `api-${i}`).sort(),
    );
    expect(instance.usagePlans).toHaveLength(PLANS);
    expect(apigateway.commandCalls(GetResourcesCommand)).toHaveLength(APIS);
    expect(apigateway.commandCalls(GetUsagePlanKeysCommand)).toHaveLength(PLANS);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(28);
  });
});
