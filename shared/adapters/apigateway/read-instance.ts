import {
  type ApiKey,
  type Authorizer,
  type DomainName,
  type GatewayResponse,
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
  type Stage,
  type UsagePlan,
} from '@aws-sdk/client-api-gateway';
import pLimit from 'p-limit';
import {
  APIGATEWAY_FORMAT,
  type ApiKeyDocument,
  type CanonicalInstance,
  compact,
  type DomainDocument,
  INSTANCE_TAG,
  type RestApiDocument,
  sortedRecord,
  type UsagePlanDocument,
} from '../../domain/apigateway/documents.ts';
import { neutralizeReferences, type ReferenceTable } from '../../domain/apigateway/references.ts';
import { type Keyring, seal } from '../../domain/apigateway/sealing.ts';
import {
  sealStaticCredentials,
  staticCredentialCount,
} from '../../domain/apigateway/static-credentials.ts';
import { DuplicateMemberError } from '../../errors.ts';
import {
  byName,
  canonicalMethod,
  canonicalStage,
  compactThrottles,
  memberTags,
  opt,
  parsePolicy,
  templates,
} from './canonical.ts';
import type { ControlPlane } from './control-plane.ts';

/*
 * Reads an instance out of one region's API Gateway into canonical documents, and keeps the
 * ids it met on the way (the restore needs them to turn names back into ids). Membership:
 * the REST APIs tagged `lifeboat:instance=<id>`; the usage plans that name their stages (or
 * that a restore tagged); the API keys of those plans; the REGIONAL domain names whose base
 * path mappings point at them.
 */

/**
 * REST APIs read at once. Each read is 7 listings in parallel; an instance of 50 APIs read all
 * at once opened 350 connections and timed out against moto, where nothing paces the calls.
 */
const APIS_AT_ONCE = 4;
/** Per-plan and per-domain listings in flight at once, for the same reason. */
const LISTINGS_AT_ONCE = 8;

/** The target-side ids of one REST API, by the names and paths documents use. */
export interface ApiIndex {
  id: string;
  resourceIds: Map<string, string>;
  authorizerIds: Map<string, string>;
  validatorIds: Map<string, string>;
  modelNames: Set<string>;
  stageDeployments: Map<string, string>;
}

/** Ids of an instance's members in one region. */
export interface InstanceIndex {
  apis: Map<string, ApiIndex>;
  usagePlanIds: Map<string, string>;
  apiKeys: Map<string, { id: string; value: string | undefined }>;
  domains: Set<string>;
  /** API id → name, for plans and domains that name APIs by id. */
  apiNames: Map<string, string>;
}

/** Where and how an instance is read. */
export interface ReadContext {
  plane: ControlPlane;
  instanceId: string;
  references: ReferenceTable;
  keyring: Keyring;
}

/** Reads one REST API whole: its canonical document and its ids. */
export async function readRestApi(
  context: ReadContext,
  api: RestApi,
): Promise<{ document: RestApiDocument; index: ApiIndex }> {
  const { plane } = context;
  const restApiId = api.id as string;
  const [resources, models, validators, authorizers, responses, stages, deployments] =
    await Promise.all([
      plane.all<Resource>(
        'GetResources',
        (position) =>
          new GetResourcesCommand({ restApiId, embed: ['methods'], limit: 500, position }),
      ),
      plane.all<{ name?: string; contentType?: string; schema?: string; description?: string }>(
        'GetModels',
        (position) => new GetModelsCommand({ restApiId, limit: 500, position }),
      ),
      plane.all<{
        id?: string;
        name?: string;
        validateRequestBody?: boolean;
        validateRequestParameters?: boolean;
      }>(
        'GetRequestValidators',
        (position) => new GetRequestValidatorsCommand({ restApiId, limit: 500, position }),
      ),
      plane.all<Authorizer>(
        'GetAuthorizers',
        (position) => new GetAuthorizersCommand({ restApiId, limit: 500, position }),
      ),
      plane.all<GatewayResponse>(
        'GetGatewayResponses',
        (position) => new GetGatewayResponsesCommand({ restApiId, limit: 500, position }),
      ),
      plane
        .call<{ item?: Stage[] }>('GetStages', new GetStagesCommand({ restApiId }))
        .then((o) => o.item ?? []),
      plane.all<{ id?: string; description?: string }>(
        'GetDeployments',
        (position) => new GetDeploymentsCommand({ restApiId, limit: 500, position }),
      ),
    ]);
  const auth = byName(
    authorizers,
    (a) => a.name,
    (a) => a.id,
  );
  const vals = byName(
    validators,
    (v) => v.name,
    (v) => v.id,
  );
  const deploymentDescriptions = new Map(
    deployments.flatMap((d) => (d.id ? [[d.id, d.description ?? '']] : [])) as [string, string][],
  );
  const resourceIds = new Map<string, string>();
  const canonicalResources: RestApiDocument['resources'] = {};
  for (const resource of resources) {
    if (!resource.path || !resource.id) continue;
    resourceIds.set(resource.path, resource.id);
    canonicalResources[resource.path] = {
      methods: sortedRecord(
        Object.fromEntries(
          Object.entries(resource.resourceMethods ?? {}).map(([verb, method]) => [
            verb,
            canonicalMethod(method, auth.names, vals.names),
          ]),
        ),
      ),
    };
  }
  const document: RestApiDocument = compact({
    format: APIGATEWAY_FORMAT,
    kind: 'rest-api',
    name: api.name as string,
    description: opt(api.description),
    endpointTypes: [...(api.endpointConfiguration?.types ?? [])].sort(),
    apiKeySource: opt(api.apiKeySource),
    binaryMediaTypes: [...(api.binaryMediaTypes ?? [])].sort(),
    minimumCompressionSize: api.minimumCompressionSize ?? undefined,
    disableExecuteApiEndpoint: api.disableExecuteApiEndpoint ?? false,
    policy: parsePolicy(api.policy),
    tags: sortedRecord(api.tags ?? {}),
    resources: sortedRecord(canonicalResources),
    models: keyedBy(
      models,
      (m) => m.name,
      (m) =>
        compact({
          contentType: m.contentType ?? 'application/json',
          schema: opt(m.schema),
          description: opt(m.description),
        }),
    ),
    requestValidators: keyedBy(
      validators,
      (v) => v.name,
      (v) => ({
        validateRequestBody: v.validateRequestBody ?? false,
        validateRequestParameters: v.validateRequestParameters ?? false,
      }),
    ),
    authorizers: keyedBy(
      authorizers,
      (a) => a.name,
      (a) =>
        compact({
          type: a.type ?? 'TOKEN',
          authorizerUri: opt(a.authorizerUri),
          authorizerCredentials: opt(a.authorizerCredentials),
          identitySource: opt(a.identitySource),
          identityValidationExpression: opt(a.identityValidationExpression),
          authorizerResultTtlInSeconds: a.authorizerResultTtlInSeconds ?? undefined,
          providerARNs: a.providerARNs?.length ? [...a.providerARNs].sort() : undefined,
          authType: opt(a.authType),
        }),
    ),
    gatewayResponses: sortedRecord(
      Object.fromEntries(
        responses
          .filter((r) => r.defaultResponse !== true && r.responseType)
          .map((r) => [
            r.responseType as string,
            compact({
              statusCode: opt(r.statusCode),
              responseParameters: sortedRecord(r.responseParameters ?? {}),
              responseTemplates: templates(r.responseTemplates),
            }),
          ]),
      ),
    ),
    stages: keyedBy(
      stages,
      (s) => s.stageName,
      (s) => canonicalStage(s, deploymentDescriptions),
    ),
  }) as RestApiDocument;
  const index: ApiIndex = {
    id: restApiId,
    resourceIds,
    authorizerIds: auth.ids,
    validatorIds: vals.ids,
    modelNames: new Set(models.flatMap((m) => (m.name ? [m.name] : []))),
    stageDeployments: new Map(
      stages.flatMap((s) => (s.stageName && s.deploymentId ? [[s.stageName, s.deploymentId]] : [])),
    ),
  };
  // Static credentials an integration sends its backend are sealed, as API key values are; the
  // data key is fetched only for an API that has one.
  const sealed =
    staticCredentialCount(document) > 0
      ? sealStaticCredentials(document, await context.keyring.current(context.instanceId))
      : document;
  return {
    document: neutralizeReferences(sealed, {
      region: plane.region,
      apiId: restApiId,
      references: context.references,
    }),
    index,
  };
}

/** The instance's REST APIs in this region (tagged members), refusing duplicate names. */
export async function memberApis(context: ReadContext): Promise<RestApi[]> {
  const all = await context.plane.all<RestApi>(
    'GetRestApis',
    (position) => new GetRestApisCommand({ limit: 500, position }),
  );
  const members = all.filter((api) => api.tags?.[INSTANCE_TAG] === context.instanceId);
  assertUnique(
    context.instanceId,
    'REST API',
    members.map((a) => a.name as string),
  );
  return members;
}

function assertUnique(instanceId: string, kind: string, names: string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new DuplicateMemberError(instanceId, kind, name);
    seen.add(name);
  }
}

/** Reads the whole instance: every member, canonical, with its ids. */
export async function readInstance(
  context: ReadContext,
): Promise<{ instance: CanonicalInstance; index: InstanceIndex }> {
  const { plane, instanceId } = context;
  const apis = await memberApis(context);
  const apiSlot = pLimit(APIS_AT_ONCE);
  const read = await Promise.all(apis.map((api) => apiSlot(() => readRestApi(context, api))));
  const listingSlot = pLimit(LISTINGS_AT_ONCE);
  const apiNames = new Map(apis.map((a) => [a.id as string, a.name as string]));
  const index: InstanceIndex = {
    apis: new Map(read.map((r) => [r.document.name, r.index])),
    usagePlanIds: new Map(),
    apiKeys: new Map(),
    domains: new Set(),
    apiNames,
  };

  const [plans, keys, domains] = await Promise.all([
    plane.all<UsagePlan>(
      'GetUsagePlans',
      (position) => new GetUsagePlansCommand({ limit: 500, position }),
    ),
    plane.all<ApiKey>(
      'GetApiKeys',
      (position) => new GetApiKeysCommand({ includeValues: true, limit: 500, position }),
    ),
    plane.all<DomainName>(
      'GetDomainNames',
      (position) => new GetDomainNamesCommand({ limit: 500, position }),
    ),
  ]);
  const memberPlans = plans.filter(
    (p) =>
      p.tags?.[INSTANCE_TAG] === instanceId ||
      (p.apiStages ?? []).some((s) => s.apiId && apiNames.has(s.apiId)),
  );
  assertUnique(
    instanceId,
    'usage plan',
    memberPlans.map((p) => p.name as string),
  );
  const planKeys = await Promise.all(
    memberPlans.map((p) =>
      listingSlot(() =>
        plane.all<{ id?: string; name?: string }>(
          'GetUsagePlanKeys',
          (position) =>
            new GetUsagePlanKeysCommand({ usagePlanId: p.id as string, limit: 500, position }),
        ),
      ),
    ),
  );
  const keyById = new Map(keys.map((k) => [k.id as string, k]));
  const memberKeyIds = new Set(planKeys.flat().flatMap((k) => (k.id ? [k.id] : [])));
  for (const key of keys)
    if (key.tags?.[INSTANCE_TAG] === instanceId) memberKeyIds.add(key.id as string);
  const memberKeys = [...memberKeyIds].flatMap((id) => {
    const key = keyById.get(id);
    return key?.name ? [key] : [];
  });
  assertUnique(
    instanceId,
    'API key',
    memberKeys.map((k) => k.name as string),
  );

  const dataKey = memberKeys.length > 0 ? await context.keyring.current(instanceId) : undefined;
  const apiKeys: ApiKeyDocument[] = memberKeys.map((key) => {
    index.apiKeys.set(key.name as string, { id: key.id as string, value: key.value });
    return compact({
      format: APIGATEWAY_FORMAT,
      kind: 'api-key',
      name: key.name as string,
      description: opt(key.description),
      enabled: key.enabled ?? false,
      customerId: opt(key.customerId),
      value: { sealed: seal(key.value ?? '', dataKey as NonNullable<typeof dataKey>) },
      tags: memberTags(key.tags),
    }) as ApiKeyDocument;
  });

  const usagePlans: UsagePlanDocument[] = memberPlans.map((plan, i) => {
    index.usagePlanIds.set(plan.name as string, plan.id as string);
    const keyNames = (planKeys[i] ?? []).flatMap((k) => {
      const name = k.id ? keyById.get(k.id)?.name : undefined;
      return name ? [name] : [];
    });
    return compact({
      format: APIGATEWAY_FORMAT,
      kind: 'usage-plan',
      name: plan.name as string,
      description: opt(plan.description),
      // Stages of other instances' APIs stay with those instances.
      apiStages: (plan.apiStages ?? [])
        .flatMap((s) => {
          const api = s.apiId ? apiNames.get(s.apiId) : undefined;
          return api && s.stage
            ? [{ api, stage: s.stage, throttle: sortedRecord(compactThrottles(s.throttle)) }]
            : [];
        })
        .sort((a, b) => (`${a.api}/${a.stage}` < `${b.api}/${b.stage}` ? -1 : 1)),
      throttle: plan.throttle ? compact({ ...plan.throttle }) : undefined,
      quota: plan.quota
        ? compact({
            limit: plan.quota.limit ?? 0,
            offset: plan.quota.offset,
            period: plan.quota.period ?? 'DAY',
          })
        : undefined,
      keys: [...new Set(keyNames)].sort(),
      tags: memberTags(plan.tags),
    }) as UsagePlanDocument;
  });

  const regional = domains.filter((d) => d.endpointConfiguration?.types?.includes('REGIONAL'));
  const mappings = await Promise.all(
    regional.map((d) =>
      listingSlot(() =>
        plane.all<{ basePath?: string; restApiId?: string; stage?: string }>(
          'GetBasePathMappings',
          (position) =>
            new GetBasePathMappingsCommand({
              domainName: d.domainName as string,
              limit: 500,
              position,
            }),
        ),
      ),
    ),
  );
  const domainDocs: DomainDocument[] = [];
  regional.forEach((domain, i) => {
    const own = (mappings[i] ?? []).filter((m) => m.restApiId && apiNames.has(m.restApiId));
    if (own.length === 0 && domain.tags?.[INSTANCE_TAG] !== instanceId) return;
    index.domains.add(domain.domainName as string);
    domainDocs.push(
      neutralizeReferences(
        compact({
          format: APIGATEWAY_FORMAT,
          kind: 'domain-name',
          domainName: domain.domainName as string,
          endpointType: 'REGIONAL',
          certificate: opt(domain.regionalCertificateArn),
          securityPolicy: opt(domain.securityPolicy),
          mappings: own
            .map((m) => ({
              basePath: m.basePath === '(none)' ? '' : (m.basePath ?? ''),
              api: apiNames.get(m.restApiId as string) as string,
              stage: m.stage ?? '',
            }))
            .sort((a, b) => (a.basePath < b.basePath ? -1 : 1)),
          tags: memberTags(domain.tags),
        }) as DomainDocument,
        { region: plane.region, references: context.references },
      ),
    );
  });

  return {
    instance: {
      apis: read.map((r) => r.document),
      usagePlans,
      apiKeys,
      domains: domainDocs,
    },
    index,
  };
}

/** The items that have a key, as a record sorted by key, each mapped by `value`. */
function keyedBy<T, V>(
  items: readonly T[],
  key: (item: T) => string | undefined,
  value: (item: T) => V,
): Record<string, V> {
  return sortedRecord(
    Object.fromEntries(
      items.flatMap((item) => {
        const k = key(item);
        return k ? [[k, value(item)]] : [];
      }),
    ),
  );
}
