import canonicalize from 'canonicalize';
import { z } from 'zod';
import { InstanceDocumentError } from '../../errors.ts';
import { firstProblem } from '../../validation.ts';

/*
 * The canonical form of an Amazon API Gateway instance: one JSON document per REST API, usage
 * plan, API key and custom domain name. Server-generated ids, dates and generated names are
 * gone; references are by name (APIs, stages, authorizers, validators, models) or by path
 * (resources), so the same configuration read in two regions gives byte-identical documents
 * and the snapshot's config digest can be compared across regions. docs/apigateway.md
 * describes the form well enough for another tool to compute the same digest.
 */

/** The version tag of every canonical document (bumped when the form changes). */
export const APIGATEWAY_FORMAT = 'lifeboat.apigateway/1';

/** Tag that makes a REST API a member of an instance. */
export const INSTANCE_TAG = 'lifeboat:instance';

const stringMap = z.record(z.string(), z.string());
const boolMap = z.record(z.string(), z.boolean());

const IntegrationResponseSchema = z.strictObject({
  selectionPattern: z.string().optional(),
  responseParameters: stringMap,
  responseTemplates: stringMap,
  contentHandling: z.string().optional(),
});

const IntegrationSchema = z.strictObject({
  type: z.string().min(1),
  httpMethod: z.string().optional(),
  uri: z.string().optional(),
  connectionType: z.string().optional(),
  connectionId: z.string().optional(),
  credentials: z.string().optional(),
  requestParameters: stringMap,
  requestTemplates: stringMap,
  passthroughBehavior: z.string().optional(),
  contentHandling: z.string().optional(),
  timeoutInMillis: z.int().optional(),
  cacheKeyParameters: z.array(z.string()),
  responses: z.record(z.string(), IntegrationResponseSchema),
});

const MethodSchema = z.strictObject({
  authorizationType: z.string().min(1),
  /** Authorizer by name. */
  authorizer: z.string().optional(),
  apiKeyRequired: z.boolean(),
  /** Request validator by name. */
  requestValidator: z.string().optional(),
  operationName: z.string().optional(),
  authorizationScopes: z.array(z.string()).optional(),
  requestParameters: boolMap,
  /** Content type → model name. */
  requestModels: stringMap,
  responses: z.record(
    z.string(),
    z.strictObject({ responseParameters: boolMap, responseModels: stringMap }),
  ),
  integration: IntegrationSchema.optional(),
});

const ModelSchema = z.strictObject({
  contentType: z.string().min(1),
  schema: z.string().optional(),
  description: z.string().optional(),
});

const ValidatorSchema = z.strictObject({
  validateRequestBody: z.boolean(),
  validateRequestParameters: z.boolean(),
});

const AuthorizerSchema = z.strictObject({
  type: z.string().min(1),
  authorizerUri: z.string().optional(),
  authorizerCredentials: z.string().optional(),
  identitySource: z.string().optional(),
  identityValidationExpression: z.string().optional(),
  authorizerResultTtlInSeconds: z.int().optional(),
  providerARNs: z.array(z.string()).optional(),
  authType: z.string().optional(),
});

const GatewayResponseSchema = z.strictObject({
  statusCode: z.string().optional(),
  responseParameters: stringMap,
  responseTemplates: stringMap,
});

/** Method settings as API Gateway reports them: `<resource path>/<METHOD>` → setting → value. */
const MethodSettingsSchema = z.record(
  z.string(),
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
);

const StageSchema = z.strictObject({
  description: z.string().optional(),
  /** The description of the deployment the stage serves. */
  deploymentDescription: z.string().optional(),
  variables: stringMap,
  methodSettings: MethodSettingsSchema,
  tracingEnabled: z.boolean(),
  cacheClusterEnabled: z.boolean(),
  cacheClusterSize: z.string().optional(),
  accessLogSettings: z
    .strictObject({ destinationArn: z.string().optional(), format: z.string().optional() })
    .optional(),
  tags: stringMap,
});

/** One REST API, whole. */
export const RestApiDocumentSchema = z.strictObject({
  format: z.literal(APIGATEWAY_FORMAT),
  kind: z.literal('rest-api'),
  name: z.string().min(1),
  description: z.string().optional(),
  endpointTypes: z.array(z.string()),
  apiKeySource: z.string().optional(),
  binaryMediaTypes: z.array(z.string()),
  minimumCompressionSize: z.int().optional(),
  disableExecuteApiEndpoint: z.boolean(),
  /** The resource policy, parsed, with region and own-id references templated. */
  policy: z.unknown().optional(),
  tags: stringMap,
  /** Resource path → its methods by HTTP verb. */
  resources: z.record(z.string(), z.strictObject({ methods: z.record(z.string(), MethodSchema) })),
  models: z.record(z.string(), ModelSchema),
  requestValidators: z.record(z.string(), ValidatorSchema),
  authorizers: z.record(z.string(), AuthorizerSchema),
  /** Only the responses set by the user (API Gateway's defaults are left out). */
  gatewayResponses: z.record(z.string(), GatewayResponseSchema),
  stages: z.record(z.string(), StageSchema),
});

const ThrottleSchema = z.strictObject({
  burstLimit: z.int().optional(),
  rateLimit: z.number().optional(),
});

/** One usage plan: API stages by API name, throttles, quota, and its keys by name. */
export const UsagePlanDocumentSchema = z.strictObject({
  format: z.literal(APIGATEWAY_FORMAT),
  kind: z.literal('usage-plan'),
  name: z.string().min(1),
  description: z.string().optional(),
  apiStages: z.array(
    z.strictObject({
      api: z.string().min(1),
      stage: z.string().min(1),
      /** `<resource path>/<METHOD>` → throttle. */
      throttle: z.record(z.string(), ThrottleSchema),
    }),
  ),
  throttle: ThrottleSchema.optional(),
  quota: z
    .strictObject({ limit: z.int(), offset: z.int().optional(), period: z.string() })
    .optional(),
  keys: z.array(z.string()),
  tags: stringMap,
});

/** A sealed secret: never the value itself (see sealing.ts). */
export const SealedSchema = z.strictObject({ sealed: z.string().min(1) });

/** One API key: its value is always sealed in a document. */
export const ApiKeyDocumentSchema = z.strictObject({
  format: z.literal(APIGATEWAY_FORMAT),
  kind: z.literal('api-key'),
  name: z.string().min(1),
  description: z.string().optional(),
  enabled: z.boolean(),
  customerId: z.string().optional(),
  value: SealedSchema,
  tags: stringMap,
});

/** One REGIONAL custom domain name and its base path mappings by API name and stage. */
export const DomainDocumentSchema = z.strictObject({
  format: z.literal(APIGATEWAY_FORMAT),
  kind: z.literal('domain-name'),
  domainName: z.string().min(1),
  endpointType: z.literal('REGIONAL'),
  /** The ACM certificate, as a reference token (mapped per region) or absent. */
  certificate: z.string().optional(),
  securityPolicy: z.string().optional(),
  mappings: z.array(
    z.strictObject({ basePath: z.string(), api: z.string().min(1), stage: z.string().min(1) }),
  ),
  tags: stringMap,
});

/** A canonical REST API document. */
export type RestApiDocument = z.infer<typeof RestApiDocumentSchema>;

/** What a REST API holds before anything is put in it: the root resource, and nothing else. */
export function emptyApiParts(): Pick<
  RestApiDocument,
  'resources' | 'models' | 'requestValidators' | 'authorizers' | 'gatewayResponses' | 'stages'
> {
  return {
    resources: { '/': { methods: {} } },
    models: {},
    requestValidators: {},
    authorizers: {},
    gatewayResponses: {},
    stages: {},
  };
}
/** A canonical method, with its responses and integration. */
export type MethodDocument = z.infer<typeof MethodSchema>;
/** A canonical stage. */
export type StageDocument = z.infer<typeof StageSchema>;
/** A canonical usage plan document. */
export type UsagePlanDocument = z.infer<typeof UsagePlanDocumentSchema>;
/** A canonical API key document (value sealed). */
export type ApiKeyDocument = z.infer<typeof ApiKeyDocumentSchema>;
/** A canonical domain name document. */
export type DomainDocument = z.infer<typeof DomainDocumentSchema>;
/** Any canonical document. */
export type InstanceDocument =
  | RestApiDocument
  | UsagePlanDocument
  | ApiKeyDocument
  | DomainDocument;

/** The whole instance as canonical documents. */
export interface CanonicalInstance {
  apis: RestApiDocument[];
  usagePlans: UsagePlanDocument[];
  apiKeys: ApiKeyDocument[];
  domains: DomainDocument[];
}

const FOLDERS = {
  'rest-api': 'apis',
  'usage-plan': 'usage-plans',
  'api-key': 'api-keys',
  'domain-name': 'domains',
} as const;

/** The kinds of document, in the order a restore must write them (dependencies first). */
const RESTORE_RANK: Record<InstanceDocument['kind'], number> = {
  'rest-api': 0,
  'api-key': 1,
  'usage-plan': 2,
  'domain-name': 3,
};

function nameOf(doc: InstanceDocument): string {
  return doc.kind === 'domain-name' ? doc.domainName : doc.name;
}

/** The instance-store key of a document: `<folder>/<url-encoded name>.json`. */
export function documentKey(doc: InstanceDocument): string {
  return `${FOLDERS[doc.kind]}/${encodeURIComponent(nameOf(doc))}.json`;
}

/** What a key names, or undefined for a key that is no canonical document. */
export function parseDocumentKey(
  key: string,
): { kind: InstanceDocument['kind']; name: string } | undefined {
  const match = /^([a-z-]+)\/([^/]+)\.json$/.exec(key);
  if (!match) return undefined;
  const kind = (Object.keys(FOLDERS) as InstanceDocument['kind'][]).find(
    (k) => FOLDERS[k] === match[1],
  );
  if (!kind) return undefined;
  try {
    return { kind, name: decodeURIComponent(match[2] as string) };
  } catch {
    return undefined;
  }
}

/** The write rank of a key: a restore writes lower ranks first (APIs, keys, plans, domains). */
export function restoreRank(key: string): number {
  const parsed = parseDocumentKey(key);
  return parsed ? RESTORE_RANK[parsed.kind] : 0;
}

/**
 * The stored bytes of a document: RFC 8785 canonical JSON (sorted keys, no whitespace), so the
 * same configuration always hashes the same.
 */
export function encodeDocument(doc: InstanceDocument): Uint8Array {
  return Buffer.from(canonicalize(doc) as string, 'utf8');
}

/** Parses stored bytes back into a document, naming the field that is wrong. */
export function decodeDocument(key: string, bytes: Uint8Array): InstanceDocument {
  const parsed = parseDocumentKey(key);
  if (!parsed) throw new InstanceDocumentError(key, '', 'not a canonical document key');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new InstanceDocumentError(key, '', `not JSON (${(error as Error).message})`);
  }
  const schema = {
    'rest-api': RestApiDocumentSchema,
    'usage-plan': UsagePlanDocumentSchema,
    'api-key': ApiKeyDocumentSchema,
    'domain-name': DomainDocumentSchema,
  }[parsed.kind];
  const result = schema.safeParse(json);
  if (!result.success) {
    // Named as everywhere else in lifeboat: `apiStages[0].api`, not `apiStages.0.api`.
    const { field, message } = firstProblem(result.error);
    throw new InstanceDocumentError(key, field, message);
  }
  const doc = result.data as InstanceDocument;
  if (nameOf(doc) !== parsed.name) {
    const field = doc.kind === 'domain-name' ? 'domainName' : 'name';
    throw new InstanceDocumentError(key, field, `names "${nameOf(doc)}", not "${parsed.name}"`);
  }
  return doc;
}

/** Every document of an instance, in key order. */
export function instanceDocuments(instance: CanonicalInstance): InstanceDocument[] {
  return [...instance.apis, ...instance.apiKeys, ...instance.usagePlans, ...instance.domains].sort(
    (a, b) => (documentKey(a) < documentKey(b) ? -1 : 1),
  );
}

/** Sorted copy of a record (canonical JSON sorts anyway; this keeps in-memory diffs stable). */
export function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Drops undefined, null and empty-string values, which API Gateway reports inconsistently. */
export function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined && v !== null),
  ) as T;
}
