import {
  CreateApiKeyCommand,
  CreateAuthorizerCommand,
  CreateBasePathMappingCommand,
  CreateDeploymentCommand,
  CreateDomainNameCommand,
  CreateModelCommand,
  CreateRequestValidatorCommand,
  CreateResourceCommand,
  CreateRestApiCommand,
  CreateStageCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  GetResourcesCommand,
  PutGatewayResponseCommand,
  PutIntegrationCommand,
  PutIntegrationResponseCommand,
  PutMethodCommand,
  PutMethodResponseCommand,
  UpdateStageCommand,
} from '@aws-sdk/client-api-gateway';
import type { ControlPlane } from '../shared/adapters/apigateway/control-plane.ts';
import { INSTANCE_TAG } from '../shared/domain/apigateway/documents.ts';

/*
 * A rich API Gateway instance for the drill, the tests and the benchmark: every resource type
 * lifeboat snapshots (resources, methods with responses and integrations, models, validators,
 * authorizers, gateway responses, stages with settings, usage plans, API keys and a REGIONAL
 * custom domain), built through the same paced control plane lifeboat uses.
 */

/** The shape of the sample. */
export interface ApiGatewaySampleOptions {
  instanceId: string;
  apis?: number;
  resourcesPerApi?: number;
  methodsPerResource?: number;
  /** The account id in ARNs. */
  account?: string;
  /** ACM certificate ARN of the domain in this region; no domain when absent. */
  certificateArn?: string;
  domainName?: string;
  /** Deterministic key values, so tests can look for them in backups. */
  keyValue?: (api: number) => string;
}

/** What was made, by name. */
export interface ApiGatewaySample {
  apiNames: string[];
  apiIds: string[];
  keyValues: string[];
  /** Static credentials the integrations send their backend (one per API): never in the clear. */
  backendCredentials: string[];
  planNames: string[];
  domainName?: string;
}

const VERBS = ['GET', 'POST', 'PUT', 'DELETE'];

/** The access-log group every sample stage writes to, one per region. */
export function accessLogArn(region: string, account = '123456789012'): string {
  return `arn:aws:logs:${region}:${account}:log-group:/lifeboat/access`;
}

/** Builds the sample instance in the plane's region. */
export async function seedApiGatewayInstance(
  plane: ControlPlane,
  options: ApiGatewaySampleOptions,
): Promise<ApiGatewaySample> {
  const region = plane.region;
  const account = options.account ?? '123456789012';
  const apis = options.apis ?? 2;
  const resources = options.resourcesPerApi ?? 3;
  const methods = Math.min(options.methodsPerResource ?? 2, VERBS.length);
  const lambda = (fn: string) =>
    `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/arn:aws:lambda:${region}:${account}:function:${fn}/invocations`;
  const out: ApiGatewaySample = {
    apiNames: [],
    apiIds: [],
    keyValues: [],
    backendCredentials: [],
    planNames: [],
  };
  for (let a = 0; a < apis; a++) {
    const name = `${options.instanceId}-api-${a}`;
    const api = await plane.call<{ id: string }>(
      'CreateRestApi',
      new CreateRestApiCommand({
        name,
        description: `${name} (lifeboat sample)`,
        endpointConfiguration: { types: ['REGIONAL'] },
        tags: { [INSTANCE_TAG]: options.instanceId, team: 'payments' },
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: '*',
              Action: 'execute-api:Invoke',
              Resource: `arn:aws:execute-api:${region}:${account}:*/*/*/*`,
            },
          ],
        }),
      }),
    );
    const restApiId = api.id;
    out.apiNames.push(name);
    out.apiIds.push(restApiId);
    const root = (
      await plane.call<{ items?: { id?: string; path?: string }[] }>(
        'GetResources',
        new GetResourcesCommand({ restApiId }),
      )
    ).items?.find((r) => r.path === '/')?.id as string;
    const authorizer = await plane.call<{ id: string }>(
      'CreateAuthorizer',
      new CreateAuthorizerCommand({
        restApiId,
        name: 'token',
        type: 'TOKEN',
        authorizerUri: lambda('authorizer'),
        identitySource: 'method.request.header.Authorization',
        authorizerResultTtlInSeconds: 300,
      }),
    );
    await plane.call(
      'CreateModel',
      new CreateModelCommand({
        restApiId,
        name: 'Pet',
        contentType: 'application/json',
        schema: '{"type":"object","properties":{"id":{"type":"integer"}}}',
      }),
    );
    const validator = await plane.call<{ id: string }>(
      'CreateRequestValidator',
      new CreateRequestValidatorCommand({
        restApiId,
        name: 'body-only',
        validateRequestBody: true,
        validateRequestParameters: false,
      }),
    );
    await plane.call(
      'PutGatewayResponse',
      new PutGatewayResponseCommand({
        restApiId,
        responseType: 'DEFAULT_4XX',
        statusCode: '400',
        responseTemplates: { 'application/json': '{"message":$context.error.messageString}' },
      }),
    );
    for (let r = 0; r < resources; r++) {
      const parent = await plane.call<{ id: string }>(
        'CreateResource',
        new CreateResourceCommand({ restApiId, parentId: root, pathPart: `items${r}` }),
      );
      const child = await plane.call<{ id: string }>(
        'CreateResource',
        new CreateResourceCommand({ restApiId, parentId: parent.id, pathPart: '{id}' }),
      );
      for (const resourceId of [child.id]) {
        for (let m = 0; m < methods; m++) {
          const httpMethod = VERBS[m] as string;
          // Every call below is about this one method.
          const method = { restApiId, resourceId, httpMethod };
          const secured = m % 2 === 1;
          await plane.call(
            'PutMethod',
            new PutMethodCommand({
              ...method,
              authorizationType: secured ? 'CUSTOM' : 'NONE',
              authorizerId: secured ? authorizer.id : undefined,
              apiKeyRequired: !secured,
              requestValidatorId: secured ? validator.id : undefined,
              requestParameters: { 'method.request.path.id': true },
              requestModels: secured ? { 'application/json': 'Pet' } : undefined,
            }),
          );
          await plane.call(
            'PutMethodResponse',
            new PutMethodResponseCommand({
              ...method,
              statusCode: '200',
              responseModels: { 'application/json': 'Empty' },
            }),
          );
          if (m === 0) {
            // The first resource's mock integration sends its backend a static credential, as
            // an HTTP integration with a backend API key does.
            const credential =
              r === 0
                ? `${options.instanceId}-backend-${a}-${Math.random().toString(36).slice(2, 14)}`
                : undefined;
            if (credential) out.backendCredentials.push(credential);
            await plane.call(
              'PutIntegration',
              new PutIntegrationCommand({
                ...method,
                type: 'MOCK',
                requestTemplates: { 'application/json': '{"statusCode": 200}' },
                requestParameters: credential
                  ? { 'integration.request.header.x-api-key': `'${credential}'` }
                  : undefined,
              }),
            );
            await plane.call(
              'PutIntegrationResponse',
              new PutIntegrationResponseCommand({
                ...method,
                statusCode: '200',
                responseTemplates: { 'application/json': '{"id": "$input.params(\'id\')"}' },
              }),
            );
          } else {
            await plane.call(
              'PutIntegration',
              new PutIntegrationCommand({
                ...method,
                type: 'AWS_PROXY',
                integrationHttpMethod: 'POST',
                uri: lambda(`items-${httpMethod.toLowerCase()}`),
                timeoutInMillis: 29000,
              }),
            );
          }
        }
      }
    }
    const deployment = await plane.call<{ id: string }>(
      'CreateDeployment',
      new CreateDeploymentCommand({ restApiId, description: 'release 1' }),
    );
    await plane.call(
      'CreateStage',
      new CreateStageCommand({
        restApiId,
        stageName: 'prod',
        deploymentId: deployment.id,
        description: 'production',
        variables: { backend: 'blue', version: '1' },
        tracingEnabled: true,
        tags: { env: 'prod' },
      }),
    );
    await plane.call(
      'UpdateStage',
      new UpdateStageCommand({
        restApiId,
        stageName: 'prod',
        patchOperations: [
          { op: 'replace', path: '/*/*/throttling/rateLimit', value: '500' },
          { op: 'replace', path: '/*/*/throttling/burstLimit', value: '1000' },
          { op: 'replace', path: '/*/*/metrics/enabled', value: 'true' },
          {
            op: 'replace',
            path: '/accessLogSettings/destinationArn',
            value: accessLogArn(region, account),
          },
          {
            op: 'replace',
            path: '/accessLogSettings/format',
            value: '$context.requestId $context.status',
          },
        ],
      }),
    );
    const keyValue =
      options.keyValue?.(a) ??
      `${options.instanceId}-key-${a}-${Math.random().toString(36).slice(2, 14)}`;
    const key = await plane.call<{ id: string }>(
      'CreateApiKey',
      new CreateApiKeyCommand({
        name: `${name}-customer`,
        enabled: true,
        value: keyValue,
        tags: { customer: `c${a}` },
      }),
    );
    out.keyValues.push(keyValue);
    const plan = await plane.call<{ id: string }>(
      'CreateUsagePlan',
      new CreateUsagePlanCommand({
        name: `${name}-gold`,
        description: 'gold tier',
        apiStages: [
          {
            apiId: restApiId,
            stage: 'prod',
            throttle: { '/items0/{id}/GET': { rateLimit: 50, burstLimit: 100 } },
          },
        ],
        throttle: { rateLimit: 100, burstLimit: 200 },
        quota: { limit: 100000, period: 'MONTH', offset: 0 },
      }),
    );
    out.planNames.push(`${name}-gold`);
    await plane.call(
      'CreateUsagePlanKey',
      new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id, keyType: 'API_KEY' }),
    );
    if (a === 0 && options.domainName) {
      await plane.call(
        'CreateDomainName',
        new CreateDomainNameCommand({
          domainName: options.domainName,
          regionalCertificateArn: options.certificateArn,
          endpointConfiguration: { types: ['REGIONAL'] },
          securityPolicy: 'TLS_1_2',
        }),
      );
      await plane.call(
        'CreateBasePathMapping',
        new CreateBasePathMappingCommand({
          domainName: options.domainName,
          restApiId,
          stage: 'prod',
          basePath: 'v1',
        }),
      );
      out.domainName = options.domainName;
    }
  }
  return out;
}
