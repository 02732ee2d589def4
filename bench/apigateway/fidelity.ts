import { isDeepStrictEqual } from 'node:util';
import type { CanonicalInstance } from '../../shared/domain/apigateway/documents.ts';

/*
 * What a restore carried, counted item by item. The source's canonical documents are cut into
 * items (one setting, one tag, one method, one stage variable, one plan key, ...), each with
 * its value; a restored copy carries an item when it has the same item with an equal value.
 * Canonical documents are region-neutral and id-free, so a copy in another region compares
 * directly. lifeboat's restore and the peer's import are counted by the same function.
 */

/** Item categories, in the order reports list them. */
export const CATEGORIES = [
  'API settings',
  'API tags',
  'resources',
  'methods',
  'method responses',
  'integrations',
  'integration responses',
  'models',
  'request validators',
  'authorizers',
  'gateway responses',
  'stages',
  'stage variables',
  'stage method settings',
  'stage settings (tracing, cache, access log)',
  'stage tags',
  'usage plans',
  'usage plan API stages',
  'usage plan keys',
  'API keys',
  'API key values',
  'domain names',
  'base path mappings',
] as const;

/** One category of item. */
export type Category = (typeof CATEGORIES)[number];

/**
 * Whether AWS's own GetExport (OpenAPI with `extensions=apigateway`) plus ImportRestApi can
 * carry a category at all, per AWS's documentation of the export and of the
 * `x-amazon-apigateway-*` extensions. Stages come back only if the script deploys one; their
 * variables, settings and tags, the account-level members and the API's tags have no place in
 * the exported document.
 */
export const EXPORT_FORMAT_CARRIES: Record<Category, boolean> = {
  'API settings': true,
  'API tags': false,
  resources: true,
  methods: true,
  'method responses': true,
  integrations: true,
  'integration responses': true,
  models: true,
  'request validators': true,
  authorizers: true,
  'gateway responses': true,
  stages: true,
  'stage variables': false,
  'stage method settings': false,
  'stage settings (tracing, cache, access log)': false,
  'stage tags': false,
  'usage plans': false,
  'usage plan API stages': false,
  'usage plan keys': false,
  'API keys': false,
  'API key values': false,
  'domain names': false,
  'base path mappings': false,
};

type Items = Map<Category, Map<string, unknown>>;

function put(items: Items, category: Category, key: string, value: unknown): void {
  let byKey = items.get(category);
  if (!byKey) {
    byKey = new Map();
    items.set(category, byKey);
  }
  byKey.set(key, value);
}

/** Cuts an instance into items (category → item key → value). */
export function inventory(instance: CanonicalInstance): Items {
  const items: Items = new Map();
  for (const api of instance.apis) {
    const a = api.name;
    const settings: Record<string, unknown> = {
      description: api.description,
      endpointTypes: api.endpointTypes.length > 0 ? api.endpointTypes : undefined,
      apiKeySource: api.apiKeySource,
      binaryMediaTypes: api.binaryMediaTypes.length > 0 ? api.binaryMediaTypes : undefined,
      minimumCompressionSize: api.minimumCompressionSize,
      disableExecuteApiEndpoint: api.disableExecuteApiEndpoint || undefined,
      policy: api.policy,
    };
    for (const [k, v] of Object.entries(settings))
      if (v !== undefined) put(items, 'API settings', `${a} ${k}`, v);
    for (const [k, v] of Object.entries(api.tags)) put(items, 'API tags', `${a} ${k}`, v);
    for (const [path, resource] of Object.entries(api.resources)) {
      if (path !== '/') put(items, 'resources', `${a} ${path}`, true);
      for (const [verb, method] of Object.entries(resource.methods)) {
        const m = `${a} ${verb} ${path}`;
        const { responses, integration, ...own } = method;
        put(items, 'methods', m, own);
        for (const [code, r] of Object.entries(responses))
          put(items, 'method responses', `${m} ${code}`, r);
        if (integration) {
          const { responses: integrationResponses, ...integrationOwn } = integration;
          put(items, 'integrations', m, integrationOwn);
          for (const [code, r] of Object.entries(integrationResponses))
            put(items, 'integration responses', `${m} ${code}`, r);
        }
      }
    }
    for (const [name, v] of Object.entries(api.models)) put(items, 'models', `${a} ${name}`, v);
    for (const [name, v] of Object.entries(api.requestValidators))
      put(items, 'request validators', `${a} ${name}`, v);
    for (const [name, v] of Object.entries(api.authorizers))
      put(items, 'authorizers', `${a} ${name}`, v);
    for (const [type, v] of Object.entries(api.gatewayResponses))
      put(items, 'gateway responses', `${a} ${type}`, v);
    for (const [name, stage] of Object.entries(api.stages)) {
      const s = `${a} ${name}`;
      put(items, 'stages', s, { description: stage.description });
      for (const [k, v] of Object.entries(stage.variables))
        put(items, 'stage variables', `${s} ${k}`, v);
      for (const [key, settings] of Object.entries(stage.methodSettings))
        for (const [k, v] of Object.entries(settings))
          put(items, 'stage method settings', `${s} ${key} ${k}`, v);
      const stageSettings: Record<string, unknown> = {
        tracingEnabled: stage.tracingEnabled || undefined,
        cacheClusterEnabled: stage.cacheClusterEnabled || undefined,
        cacheClusterSize: stage.cacheClusterSize,
        accessLogSettings: stage.accessLogSettings,
      };
      for (const [k, v] of Object.entries(stageSettings))
        if (v !== undefined)
          put(items, 'stage settings (tracing, cache, access log)', `${s} ${k}`, v);
      for (const [k, v] of Object.entries(stage.tags)) put(items, 'stage tags', `${s} ${k}`, v);
    }
  }
  for (const plan of instance.usagePlans) {
    const { apiStages, keys, ...own } = plan;
    put(items, 'usage plans', plan.name, own);
    for (const s of apiStages)
      put(items, 'usage plan API stages', `${plan.name} ${s.api}/${s.stage}`, s.throttle);
    for (const key of keys) put(items, 'usage plan keys', `${plan.name} ${key}`, true);
  }
  for (const key of instance.apiKeys) {
    const { value, ...own } = key;
    put(items, 'API keys', key.name, own);
    put(items, 'API key values', key.name, value);
  }
  for (const domain of instance.domains) {
    const { mappings, ...own } = domain;
    put(items, 'domain names', domain.domainName, own);
    for (const m of mappings)
      put(items, 'base path mappings', `${domain.domainName} /${m.basePath}`, m);
  }
  return items;
}

/** How much of one category a copy carried. */
export interface CategoryCount {
  category: Category;
  source: number;
  carried: number;
  /** Present in the copy but with another value. */
  changed: number;
  missing: number;
  /** Whether AWS's export format can carry it at all. */
  exportFormatCarries: boolean;
}

/** Compares a copy against the source, category by category. */
export function compareInstances(
  source: CanonicalInstance,
  copy: CanonicalInstance,
): CategoryCount[] {
  const want = inventory(source);
  const have = inventory(copy);
  return CATEGORIES.map((category) => {
    const s = want.get(category) ?? new Map();
    const c = have.get(category) ?? new Map();
    let carried = 0;
    let changed = 0;
    for (const [key, value] of s) {
      if (!c.has(key)) continue;
      if (isDeepStrictEqual(c.get(key), value)) carried += 1;
      else changed += 1;
    }
    return {
      category,
      source: s.size,
      carried,
      changed,
      missing: s.size - carried - changed,
      exportFormatCarries: EXPORT_FORMAT_CARRIES[category],
    };
  });
}

/** Totals over categories. */
export function totals(counts: readonly CategoryCount[]) {
  const sum = (f: (c: CategoryCount) => number) => counts.reduce((a, c) => a + f(c), 0);
  return {
    source: sum((c) => c.source),
    carried: sum((c) => c.carried),
    changed: sum((c) => c.changed),
    missing: sum((c) => c.missing),
  };
}
