import {
  APIGATEWAY_FORMAT,
  type ApiKeyDocument,
  type DomainDocument,
  type MethodDocument,
  type RestApiDocument,
  type StageDocument,
  type UsagePlanDocument,
} from '../../shared/domain/apigateway/documents.ts';

/*
 * Canonical API Gateway documents for unit and fuzz tests: a small but complete REST API (every
 * part the planner orders: models, validators, authorizers, nested resources, methods naming
 * them, a gateway response, two stages), and one of each account-level member.
 */

/** A method; `overrides` replace fields. */
export function methodDoc(overrides: Partial<MethodDocument> = {}): MethodDocument {
  return {
    authorizationType: 'NONE',
    apiKeyRequired: false,
    requestParameters: {},
    requestModels: {},
    responses: { '200': { responseParameters: {}, responseModels: {} } },
    integration: {
      type: 'MOCK',
      requestParameters: {},
      requestTemplates: { 'application/json': '{"statusCode": 200}' },
      cacheKeyParameters: [],
      responses: { '200': { responseParameters: {}, responseTemplates: {} } },
    },
    ...overrides,
  };
}

/** A stage; `overrides` replace fields. */
export function stageDoc(overrides: Partial<StageDocument> = {}): StageDocument {
  return {
    deploymentDescription: 'release 1',
    variables: { backend: 'blue' },
    methodSettings: {},
    tracingEnabled: false,
    cacheClusterEnabled: false,
    tags: {},
    ...overrides,
  };
}

const LAMBDA_URI =
  'arn:aws:apigateway:{{lifeboat:region}}:lambda:path/2015-03-31/functions/arn:aws:lambda:{{lifeboat:region}}:123456789012:function:items/invocations';

/** A REST API document with every part the planner orders. */
export function restApiDoc(overrides: Partial<RestApiDocument> = {}): RestApiDocument {
  return {
    format: APIGATEWAY_FORMAT,
    kind: 'rest-api',
    name: 'shop-api-0',
    description: 'the shop',
    endpointTypes: ['REGIONAL'],
    binaryMediaTypes: [],
    disableExecuteApiEndpoint: false,
    tags: { 'lifeboat:instance': 'shop', team: 'payments' },
    resources: {
      '/': { methods: {} },
      '/items': { methods: { GET: methodDoc() } },
      '/items/{id}': {
        methods: {
          GET: methodDoc({ requestParameters: { 'method.request.path.id': true } }),
          POST: methodDoc({
            authorizationType: 'CUSTOM',
            authorizer: 'token',
            requestValidator: 'body-only',
            requestModels: { 'application/json': 'Pet' },
            integration: {
              type: 'AWS_PROXY',
              httpMethod: 'POST',
              uri: LAMBDA_URI,
              requestParameters: {},
              requestTemplates: {},
              cacheKeyParameters: [],
              responses: {},
            },
          }),
        },
      },
    },
    models: { Pet: { contentType: 'application/json', schema: '{"type":"object"}' } },
    requestValidators: {
      'body-only': { validateRequestBody: true, validateRequestParameters: false },
    },
    authorizers: {
      token: {
        type: 'TOKEN',
        authorizerUri: LAMBDA_URI,
        identitySource: 'method.request.header.Authorization',
        authorizerResultTtlInSeconds: 300,
      },
    },
    gatewayResponses: {
      DEFAULT_4XX: { statusCode: '400', responseParameters: {}, responseTemplates: {} },
    },
    stages: { dev: stageDoc({ variables: { backend: 'green' } }), prod: stageDoc() },
    ...overrides,
  };
}

/** A usage plan document. */
export function usagePlanDoc(overrides: Partial<UsagePlanDocument> = {}): UsagePlanDocument {
  return {
    format: APIGATEWAY_FORMAT,
    kind: 'usage-plan',
    name: 'shop-api-0-gold',
    description: 'gold tier',
    apiStages: [{ api: 'shop-api-0', stage: 'prod', throttle: {} }],
    throttle: { burstLimit: 200, rateLimit: 100 },
    quota: { limit: 100000, offset: 0, period: 'MONTH' },
    keys: ['shop-api-0-customer'],
    tags: {},
    ...overrides,
  };
}

/** An API key document (its value sealed; the seal is opaque here). */
export function apiKeyDoc(overrides: Partial<ApiKeyDocument> = {}): ApiKeyDocument {
  return {
    format: APIGATEWAY_FORMAT,
    kind: 'api-key',
    name: 'shop-api-0-customer',
    enabled: true,
    value: { sealed: 'lifeboat-sealed:v1:k1:AAAA' },
    tags: { customer: 'c0' },
    ...overrides,
  };
}

/** A domain name document. */
export function domainDoc(overrides: Partial<DomainDocument> = {}): DomainDocument {
  return {
    format: APIGATEWAY_FORMAT,
    kind: 'domain-name',
    domainName: 'api.example.com',
    endpointType: 'REGIONAL',
    certificate: '{{lifeboat:ref:shop-cert}}',
    securityPolicy: 'TLS_1_2',
    mappings: [{ basePath: 'v1', api: 'shop-api-0', stage: 'prod' }],
    tags: {},
    ...overrides,
  };
}
