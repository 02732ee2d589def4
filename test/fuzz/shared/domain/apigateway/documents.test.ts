import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeDocument,
  documentKey,
  encodeDocument,
  type InstanceDocument,
} from '../../../../../shared/domain/apigateway/documents.ts';
import { InstanceDocumentError } from '../../../../../shared/errors.ts';
import {
  apiKeyDoc,
  domainDoc,
  methodDoc,
  restApiDoc,
  stageDoc,
  usagePlanDoc,
} from '../../../../support/apigateway-documents.ts';
import { fuzzParser, type ParserSpec } from '../../../support/harness.ts';
import type { Path } from '../../../support/json-paths.ts';

/**
 * The canonical documents of API Gateway instances are read back from backups by every
 * restore and from the target by every digest: malformed bytes must be an
 * InstanceDocumentError naming the key and the field, never a crash.
 */

const text = fc.string({ minLength: 1, maxLength: 12 });
const stringMap = fc.dictionary(fc.constantFrom('a', 'b', 'x-y'), fc.string({ maxLength: 8 }), {
  maxKeys: 2,
});
const boolMap = fc.dictionary(fc.constantFrom('method.request.path.id', 'q'), fc.boolean(), {
  maxKeys: 2,
});
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** Drops the keys whose value is undefined: what JSON (and so the stored bytes) would do. */
const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

const method = fc
  .record({
    authorizationType: fc.constantFrom('NONE', 'CUSTOM', 'COGNITO_USER_POOLS'),
    authorizer: maybe(text),
    apiKeyRequired: fc.boolean(),
    operationName: maybe(text),
    requestParameters: boolMap,
    requestModels: stringMap,
    timeoutInMillis: maybe(fc.integer({ min: 50, max: 29_000 })),
    cacheKeyParameters: fc.array(text, { maxLength: 2 }),
    requestTemplates: stringMap,
  })
  .map(({ timeoutInMillis, cacheKeyParameters, requestTemplates, ...m }) =>
    defined({
      ...methodDoc(),
      ...defined(m),
      integration: defined({
        type: 'AWS_PROXY',
        uri: 'arn:aws:apigateway:{{lifeboat:region}}:lambda:path/fn',
        timeoutInMillis,
        requestParameters: {},
        requestTemplates,
        cacheKeyParameters,
        responses: { '200': { responseParameters: {}, responseTemplates: { 'text/plain': '' } } },
      }),
    }),
  );

const restApi = fc
  .record({
    description: maybe(text),
    minimumCompressionSize: maybe(fc.integer({ min: 0, max: 10_000_000 })),
    binaryMediaTypes: fc.array(fc.constantFrom('image/png', 'application/octet-stream'), {
      maxLength: 2,
    }),
    tags: stringMap,
    methods: fc.dictionary(fc.constantFrom('GET', 'POST', 'PUT'), method, { maxKeys: 2 }),
    variables: stringMap,
    rateLimit: fc.double({ min: 0, max: 10_000, noNaN: true }),
    policy: maybe(
      fc.record({
        Version: fc.constant('2012-10-17'),
        Statement: fc.array(fc.record({ Effect: text }), { maxLength: 2 }),
      }),
    ),
  })
  .map(({ methods, variables, rateLimit, ...r }) =>
    restApiDoc(
      defined({
        ...r,
        resources: { '/': { methods: {} }, '/items': { methods } },
        stages: {
          prod: stageDoc({
            variables,
            methodSettings: { '*/*': { throttlingRateLimit: rateLimit, metricsEnabled: true } },
            accessLogSettings: { destinationArn: '{{lifeboat:ref:access-logs}}' },
          }),
        },
      }),
    ),
  );

const usagePlan = fc
  .record({
    description: maybe(text),
    burstLimit: fc.integer({ min: 0, max: 5_000 }),
    rateLimit: fc.double({ min: 0, max: 10_000, noNaN: true }),
    keys: fc.uniqueArray(text, { maxLength: 3 }),
    stages: fc.array(fc.record({ api: text, stage: text }), { maxLength: 2 }),
  })
  .map(({ burstLimit, rateLimit, stages, ...p }) =>
    usagePlanDoc(
      defined({
        ...p,
        throttle: { burstLimit, rateLimit },
        apiStages: stages.map((s) => ({ ...s, throttle: { '/items/GET': { rateLimit } } })),
      }),
    ),
  );

const apiKey = fc
  .record({
    description: maybe(text),
    enabled: fc.boolean(),
    customerId: maybe(text),
    tags: stringMap,
  })
  .map((k) => apiKeyDoc(defined(k)));

const domain = fc
  .record({
    certificate: maybe(fc.constant('{{lifeboat:ref:shop-cert}}')),
    mappings: fc.array(
      fc.record({ basePath: fc.string({ maxLength: 6 }), api: text, stage: text }),
      {
        maxLength: 2,
      },
    ),
  })
  .map((d) => domainDoc(defined(d)));

/** The bytes a store would hold for an input: raw bytes as they are, anything else as JSON. */
function bytesOf(input: unknown): Uint8Array {
  if (input instanceof Uint8Array) return input;
  let json: string | undefined;
  try {
    json = JSON.stringify(input);
  } catch {
    // A BigInt somewhere (fc.anything): the replacer costs stack frames, so only here.
    json = JSON.stringify(input, (_key, value) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
  }
  return Buffer.from(json ?? 'undefined', 'utf8');
}

// Record fields (any key, checked values); every other object of a document is strict.
const RECORDS = new Set([
  'tags',
  'resources',
  'methods',
  'requestParameters',
  'requestModels',
  'responses',
  'responseParameters',
  'responseModels',
  'requestTemplates',
  'responseTemplates',
  'models',
  'requestValidators',
  'authorizers',
  'gatewayResponses',
  'stages',
  'variables',
  'methodSettings',
]);

function objectMode(path: Path) {
  const last = path.at(-1);
  const parent = path.at(-2);
  // `apiStages[i].throttle` is a record by method; a plan's own `throttle` is an object.
  if (last === 'throttle' && typeof parent === 'number') return 'record' as const;
  if (parent === 'methodSettings') return 'record' as const;
  return typeof last === 'string' && RECORDS.has(last) ? ('record' as const) : ('strict' as const);
}

const RECORD_ENTRIES = [
  'tags.*',
  'resources.*',
  'resources.*.methods.*',
  'resources.*.methods.*.requestParameters.*',
  'resources.*.methods.*.requestModels.*',
  'resources.*.methods.*.responses.*',
  'resources.*.methods.*.responses.*.*.*',
  'resources.*.methods.*.integration.*.*',
  'resources.*.methods.*.integration.responses.*.*.*',
  'models.*',
  'requestValidators.*',
  'authorizers.*',
  'gatewayResponses.*',
  'stages.*',
  'stages.*.variables.*',
  'stages.*.methodSettings.*',
  'stages.*.methodSettings.*.*',
  'stages.*.tags.*',
  'apiStages[].throttle.*',
];

const errors = {
  isValidationError: (error: unknown) => error instanceof InstanceDocumentError,
  fieldOf: (error: unknown) => (error as InstanceDocumentError).field,
};

function spec(name: string, valid: fc.Arbitrary<InstanceDocument>, optional: string[]): ParserSpec {
  const [sample] = fc.sample(valid, 1) as InstanceDocument[];
  const key = documentKey(sample as InstanceDocument);
  return {
    ...errors,
    name: `decodeDocument (${name})`,
    valid,
    parse: (input) => decodeDocument(key, bytesOf(input)),
    check: (input, output) => expect(output).toEqual(input),
    optional: [...optional, ...RECORD_ENTRIES],
    objectMode,
    // The policy is any JSON; a method setting any string, number or boolean.
    unchecked: ['policy', 'policy.*', 'policy.*[]', 'policy.*[].*', 'stages.*.methodSettings.*.*'],
    violations: fc
      .tuple(
        valid,
        fc.constantFrom(
          { field: 'format', value: 'lifeboat.apigateway/0' },
          { field: 'kind', value: 'stage' },
          { field: name === 'domain-name' ? 'domainName' : 'name', value: 'someone-else' },
        ),
      )
      .map(([doc, { field, value }]) => ({
        input: { ...doc, [field]: value },
        field,
        why: `${field} = ${value}`,
      })),
    junk: fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.string().map((s) => Buffer.from(s, 'utf8')),
      fc.constant(Buffer.from('{"format":')),
      fc.constant(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])),
    ),
    runs: 200,
  };
}

// Every document of one kind shares one name, so it has one key.
const METHOD_OPTIONAL = [
  'resources.*.methods.*.authorizer',
  'resources.*.methods.*.requestValidator',
  'resources.*.methods.*.operationName',
  'resources.*.methods.*.authorizationScopes',
  'resources.*.methods.*.integration',
  'resources.*.methods.*.integration.httpMethod',
  'resources.*.methods.*.integration.uri',
  'resources.*.methods.*.integration.connectionType',
  'resources.*.methods.*.integration.connectionId',
  'resources.*.methods.*.integration.credentials',
  'resources.*.methods.*.integration.passthroughBehavior',
  'resources.*.methods.*.integration.contentHandling',
  'resources.*.methods.*.integration.timeoutInMillis',
  'resources.*.methods.*.integration.responses.*.selectionPattern',
  'resources.*.methods.*.integration.responses.*.contentHandling',
];

describe('decodeDocument', () => {
  describe('of a REST API', () => {
    fuzzParser(
      spec('rest-api', restApi, [
        'description',
        'apiKeySource',
        'minimumCompressionSize',
        'policy',
        ...METHOD_OPTIONAL,
        'models.*.schema',
        'models.*.description',
        'authorizers.*.authorizerUri',
        'authorizers.*.authorizerCredentials',
        'authorizers.*.identitySource',
        'authorizers.*.identityValidationExpression',
        'authorizers.*.authorizerResultTtlInSeconds',
        'authorizers.*.providerARNs',
        'authorizers.*.authType',
        'gatewayResponses.*.statusCode',
        'stages.*.description',
        'stages.*.deploymentDescription',
        'stages.*.cacheClusterSize',
        'stages.*.accessLogSettings',
        'stages.*.accessLogSettings.*',
      ]),
    );
  });

  describe('of a usage plan', () => {
    fuzzParser(
      spec('usage-plan', usagePlan, [
        'description',
        'throttle',
        'throttle.*',
        'quota',
        'quota.offset',
        'apiStages[].throttle.*.*',
      ]),
    );
  });

  describe('of an API key', () => {
    fuzzParser(spec('api-key', apiKey, ['description', 'customerId']));
  });

  describe('of a domain name', () => {
    fuzzParser(spec('domain-name', domain, ['certificate', 'securityPolicy']));
  });

  it('names the key of every refusal, and refuses a key that is no document key', () => {
    const doc = restApiDoc();
    const bytes = encodeDocument(doc);
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constantFrom('apis/x.json', 'apis/%E0.json', 'a/b/c.json')),
        (key) => {
          let outcome: unknown;
          try {
            outcome = decodeDocument(key, bytes);
          } catch (error) {
            outcome = error;
          }
          if (key === documentKey(doc)) {
            expect(outcome).toEqual(doc);
            return;
          }
          expect(outcome).toBeInstanceOf(InstanceDocumentError);
          expect((outcome as InstanceDocumentError).key).toBe(key);
          expect((outcome as Error).message.startsWith(`instance document ${key}: `)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads back exactly what it stored, byte for byte on a second encode', () => {
    fc.assert(
      fc.property(fc.oneof(restApi, usagePlan, apiKey, domain), (doc) => {
        const bytes = encodeDocument(doc);
        const decoded = decodeDocument(documentKey(doc), bytes);
        expect(Buffer.from(encodeDocument(decoded))).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 300 },
    );
  });
});
