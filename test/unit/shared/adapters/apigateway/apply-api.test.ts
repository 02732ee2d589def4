import {
  APIGatewayClient,
  CreateAuthorizerCommand,
  CreateDeploymentCommand,
  CreateModelCommand,
  CreateRequestValidatorCommand,
  CreateResourceCommand,
  CreateRestApiCommand,
  CreateStageCommand,
  DeleteMethodCommand,
  DeleteModelCommand,
  GetAuthorizersCommand,
  GetDeploymentsCommand,
  GetGatewayResponsesCommand,
  GetModelsCommand,
  GetRequestValidatorsCommand,
  GetResourcesCommand,
  GetStagesCommand,
  PutGatewayResponseCommand,
  PutIntegrationCommand,
  PutIntegrationResponseCommand,
  PutMethodCommand,
  PutMethodResponseCommand,
  UpdateRestApiCommand,
  UpdateStageCommand,
} from '@aws-sdk/client-api-gateway';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { RestApiWriter } from '../../../../../shared/adapters/apigateway/apply-api.ts';
import { ControlPlane } from '../../../../../shared/adapters/apigateway/control-plane.ts';
import type { ApiIndex } from '../../../../../shared/adapters/apigateway/read-instance.ts';
import { UNPACED } from '../../../../../shared/domain/apigateway/pacing.ts';
import type { DataKey } from '../../../../../shared/domain/apigateway/sealing.ts';
import { ApiGatewayCallError } from '../../../../../shared/errors.ts';
import { restApiDoc, stageDoc } from '../../../../support/apigateway-documents.ts';

const apigateway = mockClient(APIGatewayClient);
const TARGET = 'us-west-2';
const dataKey: DataKey = { keyId: 'k1', key: Buffer.alloc(32, 1) };
const keyring = { current: async () => dataKey, byId: async () => dataKey };
const references = {
  'access-logs': {
    'us-east-1': 'arn:aws:logs:us-east-1:123456789012:log-group:/a',
    [TARGET]: 'arn:aws:logs:us-west-2:123456789012:log-group:/a',
  },
};

const WRITES = [
  CreateRestApiCommand,
  UpdateRestApiCommand,
  CreateModelCommand,
  CreateRequestValidatorCommand,
  CreateAuthorizerCommand,
  CreateResourceCommand,
  DeleteMethodCommand,
  PutMethodCommand,
  PutMethodResponseCommand,
  PutIntegrationCommand,
  PutIntegrationResponseCommand,
  PutGatewayResponseCommand,
  CreateDeploymentCommand,
  CreateStageCommand,
  UpdateStageCommand,
];

/** A snapshot's API whose stages have settings CreateStage cannot take. */
function desired() {
  const settings = {
    methodSettings: { '*/*': { metricsEnabled: true, throttlingRateLimit: 500 } },
    accessLogSettings: { destinationArn: '{{lifeboat:ref:access-logs}}', format: '$x' },
    tracingEnabled: true,
  };
  return restApiDoc({
    stages: {
      dev: stageDoc({ ...settings, variables: { backend: 'green' } }),
      prod: stageDoc(settings),
    },
  });
}

/** A target that answers like API Gateway: created resources get ids from their path part. */
function target() {
  const resources = [{ id: 'root', path: '/' }];
  apigateway.on(CreateRestApiCommand).resolves({ id: 'newapi' });
  apigateway.on(GetResourcesCommand).callsFake(async () => ({ items: resources }));
  apigateway.on(CreateResourceCommand).callsFake(async (input: { pathPart: string }) => ({
    id: `res-${input.pathPart}`,
  }));
  apigateway.on(GetModelsCommand).resolves({ items: [] });
  apigateway
    .on(GetRequestValidatorsCommand)
    .resolves({ items: [{ id: 'val1', name: 'body-only' }] });
  apigateway.on(GetAuthorizersCommand).resolves({ items: [{ id: 'auth1', name: 'token' }] });
  apigateway.on(GetGatewayResponsesCommand).resolves({ items: [] });
  apigateway.on(GetStagesCommand).resolves({ item: [] });
  apigateway.on(GetDeploymentsCommand).resolves({ items: [] });
  apigateway.on(CreateDeploymentCommand).resolves({ id: 'dep1' });
}

function writer() {
  const plane = new ControlPlane(new APIGatewayClient({ region: TARGET }), TARGET, {
    pacing: UNPACED,
  });
  return new RestApiWriter(plane, 'shop', references, keyring);
}

/** The inputs of every call of one command (typed loosely: one helper for many commands). */
function inputs(command: (typeof WRITES)[number]): Record<string, unknown>[] {
  return apigateway
    .commandCalls(command as typeof CreateRestApiCommand)
    .map((c) => c.args[0].input as unknown as Record<string, unknown>);
}

beforeEach(() => apigateway.reset());

describe('RestApiWriter', () => {
  it('creates the API with its tags, so it is found by them from its first moment', async () => {
    target();
    await writer().apply(desired(), undefined);
    expect(inputs(CreateRestApiCommand)).toEqual([
      expect.objectContaining({
        name: 'shop-api-0',
        tags: { 'lifeboat:instance': 'shop', team: 'payments' },
        endpointConfiguration: { types: ['REGIONAL'] },
      }),
    ]);
  });

  it('makes one UpdateStage per stage, carrying every setting CreateStage cannot take', async () => {
    target();
    await writer().apply(desired(), undefined);
    const updates = inputs(UpdateStageCommand);
    expect(updates.map((u) => u.stageName).sort()).toEqual(['dev', 'prod']);
    for (const update of updates) {
      expect(update.patchOperations).toEqual(
        expect.arrayContaining([
          { op: 'replace', path: '/*/*/metrics/enabled', value: 'true' },
          { op: 'replace', path: '/*/*/throttling/rateLimit', value: '500' },
          {
            op: 'replace',
            path: '/accessLogSettings/destinationArn',
            value: references['access-logs'][TARGET],
          },
        ]),
      );
    }
    expect(inputs(CreateStageCommand).map((s) => [s.stageName, s.deploymentId])).toEqual([
      ['dev', 'dep1'],
      ['prod', 'dep1'],
    ]);
  });

  it('writes children under their parents, and methods naming authorizers and validators by id', async () => {
    target();
    await writer().apply(desired(), undefined);
    expect(inputs(CreateResourceCommand)).toEqual([
      expect.objectContaining({ restApiId: 'newapi', parentId: 'root', pathPart: 'items' }),
      expect.objectContaining({ restApiId: 'newapi', parentId: 'res-items', pathPart: '{id}' }),
    ]);
    const post = inputs(PutMethodCommand).find((m) => m.httpMethod === 'POST');
    expect(post).toMatchObject({
      resourceId: 'res-{id}',
      authorizerId: 'auth1',
      requestValidatorId: 'val1',
      requestModels: { 'application/json': 'Pet' },
    });
    const proxy = inputs(PutIntegrationCommand).find((i) => i.type === 'AWS_PROXY');
    expect(proxy?.uri).toBe(
      'arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/arn:aws:lambda:us-west-2:123456789012:function:items/invocations',
    );
  });

  it('makes a create once when it fails with a 500, and stops there', async () => {
    target();
    apigateway.on(CreateRestApiCommand).rejects(
      Object.assign(new Error('internal'), {
        name: 'InternalFailure',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    const error = await writer()
      .apply(desired(), undefined)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiGatewayCallError);
    expect((error as ApiGatewayCallError).ambiguous).toBe(true);
    expect(WRITES.map((w) => inputs(w).length)).toEqual(
      WRITES.map((w) => (w === CreateRestApiCommand ? 1 : 0)),
    );
  });

  it('writes only the one stage patch when only a stage variable drifted', async () => {
    target();
    const want = desired();
    const drifted = structuredClone(want);
    (drifted.stages.prod as { variables: Record<string, string> }).variables = {
      backend: 'red',
      extra: 'x',
    };
    const index: ApiIndex = {
      id: 'existing',
      resourceIds: new Map([
        ['/', 'root'],
        ['/items', 'r1'],
        ['/items/{id}', 'r2'],
      ]),
      authorizerIds: new Map([['token', 'auth1']]),
      validatorIds: new Map([['body-only', 'val1']]),
      modelNames: new Set(['Pet']),
      stageDeployments: new Map([
        ['dev', 'dep0'],
        ['prod', 'dep0'],
      ]),
    };
    const result = await writer().apply(want, {
      api: { id: 'existing', name: want.name },
      document: drifted,
      index,
    });
    expect(result.writes).toBe(1);
    expect(inputs(UpdateStageCommand)).toEqual([
      {
        restApiId: 'existing',
        stageName: 'prod',
        patchOperations: [
          { op: 'replace', path: '/variables/backend', value: 'blue' },
          { op: 'remove', path: '/variables/extra' },
        ],
      },
    ]);
    for (const write of WRITES.filter((w) => w !== UpdateStageCommand))
      expect(inputs(write), write.name).toEqual([]);
  });
  it('names a created authorizer and validator by the ids their creates returned, reading the API back only once, when restoring a new API', async () => {
    target();
    apigateway.on(CreateAuthorizerCommand).resolves({ id: 'auth-new' });
    apigateway.on(CreateRequestValidatorCommand).resolves({ id: 'val-new' });
    await writer().apply(desired(), undefined);
    const post = inputs(PutMethodCommand).find((m) => m.httpMethod === 'POST');
    expect(post).toMatchObject({ authorizerId: 'auth-new', requestValidatorId: 'val-new' });
    // One read back, after CreateRestApi (for the root resource); none per authorizer or validator.
    expect(apigateway.commandCalls(GetAuthorizersCommand)).toHaveLength(1);
    expect(apigateway.commandCalls(GetRequestValidatorsCommand)).toHaveLength(1);
  });

  it("does not create again the models AWS gives every new API, and replaces one that differs from the snapshot's", async () => {
    target();
    const empty = { contentType: 'application/json', schema: '{"type":"object"}' };
    let created = false;
    apigateway.on(CreateRestApiCommand).callsFake(async () => {
      created = true;
      return { id: 'newapi' };
    });
    apigateway.on(GetModelsCommand).callsFake(async () => ({
      items: created
        ? [
            { id: 'm1', name: 'Empty', ...empty },
            { id: 'm2', name: 'Pet', contentType: 'application/json', schema: '{}' },
          ]
        : [],
    }));
    const doc = desired();
    doc.models = { ...doc.models, Empty: empty };
    await writer().apply(doc, undefined);

    expect(inputs(CreateModelCommand).map((m) => m.name)).toEqual(['Pet']);
    expect(inputs(DeleteModelCommand as never).map((m) => m.modelName)).toEqual(['Pet']);
  });
});
