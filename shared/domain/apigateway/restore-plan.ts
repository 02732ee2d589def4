import { isDeepStrictEqual } from 'node:util';
import {
  emptyApiParts,
  type MethodDocument,
  type RestApiDocument,
  type StageDocument,
} from './documents.ts';

/*
 * The restore planner: what must change in a target REST API so that it equals a snapshot's
 * document, in dependency order. Pure: the adapter carries the operations out, mapping names
 * and paths to the target's ids. Equal documents give an empty plan, which is what makes a
 * second restore write nothing and a resumed restore pick up where the last one stopped.
 *
 * API Gateway (and moto, which has no Update* for methods, integrations, resources, models and
 * gateway responses) leaves few ways to change a thing in place, so a changed method or model
 * is deleted and put again, whole.
 */

/** Top-level settings of an API that one UpdateRestApi patch sets. */
export const API_SETTINGS = [
  'description',
  'apiKeySource',
  'binaryMediaTypes',
  'minimumCompressionSize',
  'disableExecuteApiEndpoint',
  'policy',
] as const;

/** One step of a restore, in the order the adapter must run them. */
export type ApiOperation =
  | { op: 'createApi' }
  | { op: 'updateApiSettings'; settings: (typeof API_SETTINGS)[number][] }
  | { op: 'tagApi'; add: Record<string, string>; remove: string[] }
  | { op: 'createModel'; name: string }
  | { op: 'deleteModel'; name: string }
  | { op: 'createValidator'; name: string }
  | { op: 'updateValidator'; name: string }
  | { op: 'deleteValidator'; name: string }
  | { op: 'createAuthorizer'; name: string }
  | { op: 'updateAuthorizer'; name: string }
  | { op: 'deleteAuthorizer'; name: string }
  | { op: 'createResource'; path: string }
  | { op: 'deleteResource'; path: string }
  | { op: 'putMethod'; path: string; verb: string }
  | { op: 'deleteMethod'; path: string; verb: string }
  | { op: 'putGatewayResponse'; type: string }
  | { op: 'deleteGatewayResponse'; type: string }
  | { op: 'createDeployment'; description: string | undefined }
  | { op: 'createStage'; stage: string }
  | { op: 'updateStage'; stage: string; redeploy: boolean }
  | { op: 'deleteStage'; stage: string };

function changedKeys<T>(desired: Record<string, T>, current: Record<string, T>) {
  const missing = Object.keys(desired).filter((k) => !(k in current));
  const changed = Object.keys(desired).filter(
    (k) => k in current && !isDeepStrictEqual(desired[k], current[k]),
  );
  const extra = Object.keys(current).filter((k) => !(k in desired));
  return { missing, changed, extra };
}

function depth(path: string): number {
  return path === '/' ? 0 : path.split('/').length - 1;
}

/** The parent path of a resource path (`/a/b` → `/a`, `/a` → `/`). */
export function parentPath(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

/** The structure a deployment captures: everything but stages, settings and tags. */
function structureOf(doc: RestApiDocument) {
  return {
    resources: doc.resources,
    models: doc.models,
    requestValidators: doc.requestValidators,
    authorizers: doc.authorizers,
    gatewayResponses: doc.gatewayResponses,
  };
}

function hasMethods(doc: RestApiDocument): boolean {
  return Object.values(doc.resources).some((r) => Object.keys(r.methods).length > 0);
}

/**
 * The API that `createApi` makes for `desired`: its name, endpoint and tags, none of its
 * settings, and nothing in it (the plan's later operations add those).
 */
export function createdApi(desired: RestApiDocument): RestApiDocument {
  return {
    ...desired,
    description: undefined,
    apiKeySource: undefined,
    binaryMediaTypes: [],
    minimumCompressionSize: undefined,
    disableExecuteApiEndpoint: false,
    policy: undefined,
    ...emptyApiParts(),
  };
}

/** Plans the operations that turn `current` (absent: no such API yet) into `desired`. */
export function planApiRestore(
  desired: RestApiDocument,
  current: RestApiDocument | undefined,
): ApiOperation[] {
  const ops: ApiOperation[] = [];
  const base: RestApiDocument = current ?? createdApi(desired);
  if (!current) ops.push({ op: 'createApi' });

  const settings = API_SETTINGS.filter((s) => !isDeepStrictEqual(desired[s], base[s]));
  if (settings.length > 0) ops.push({ op: 'updateApiSettings', settings });
  if (current) {
    const add = Object.fromEntries(
      Object.entries(desired.tags).filter(([k, v]) => current.tags[k] !== v),
    );
    const remove = Object.keys(current.tags).filter((k) => !(k in desired.tags));
    if (Object.keys(add).length > 0 || remove.length > 0) ops.push({ op: 'tagApi', add, remove });
  }

  // Methods name models, validators and authorizers: those come first, and what a changed or
  // removed method still names goes only after the methods are gone.
  const models = changedKeys(desired.models, base.models);
  const validators = changedKeys(desired.requestValidators, base.requestValidators);
  const authorizers = changedKeys(desired.authorizers, base.authorizers);
  for (const name of models.missing) ops.push({ op: 'createModel', name });
  for (const name of validators.missing) ops.push({ op: 'createValidator', name });
  for (const name of validators.changed) ops.push({ op: 'updateValidator', name });
  for (const name of authorizers.missing) ops.push({ op: 'createAuthorizer', name });
  for (const name of authorizers.changed) ops.push({ op: 'updateAuthorizer', name });

  const resources = changedKeys(desired.resources, base.resources);
  const removedPaths = resources.extra.sort((a, b) => depth(b) - depth(a));
  // Deleting a resource deletes its children: delete only the topmost removed ones.
  const topRemoved = removedPaths.filter((p) => !removedPaths.includes(parentPath(p)) || p === '/');
  // API Gateway refuses to delete a model a method names, and a changed model is deleted and
  // created again: the methods that name it go first and are put again after.
  const replacedModels = new Set(models.changed);
  const namesReplacedModel = (method: MethodDocument | undefined) =>
    method !== undefined &&
    [
      ...Object.values(method.requestModels),
      ...Object.values(method.responses).flatMap((r) => Object.values(r.responseModels)),
    ].some((model) => replacedModels.has(model));
  const methodDeletes: ApiOperation[] = [];
  const methodPuts: ApiOperation[] = [];
  for (const path of Object.keys(desired.resources).sort()) {
    const want = desired.resources[path]?.methods ?? {};
    const have = base.resources[path]?.methods ?? {};
    const verbs = changedKeys<MethodDocument>(want, have);
    const unchanged = Object.keys(want).filter(
      (v) => v in have && !verbs.changed.includes(v) && namesReplacedModel(have[v]),
    );
    const replaced = [...verbs.changed, ...unchanged];
    for (const verb of [...replaced, ...verbs.extra].sort())
      methodDeletes.push({ op: 'deleteMethod', path, verb });
    for (const verb of [...verbs.missing, ...replaced].sort())
      methodPuts.push({ op: 'putMethod', path, verb });
  }
  ops.push(...methodDeletes);
  for (const path of topRemoved) ops.push({ op: 'deleteResource', path });
  // A changed model is replaced before the methods are put again, so they name the new one.
  for (const name of models.changed)
    ops.push({ op: 'deleteModel', name }, { op: 'createModel', name });
  for (const path of resources.missing.sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1)))
    ops.push({ op: 'createResource', path });
  ops.push(...methodPuts);

  const responses = changedKeys(desired.gatewayResponses, base.gatewayResponses);
  for (const type of [...responses.missing, ...responses.changed].sort())
    ops.push({ op: 'putGatewayResponse', type });
  for (const type of responses.extra.sort()) ops.push({ op: 'deleteGatewayResponse', type });

  for (const name of authorizers.extra) ops.push({ op: 'deleteAuthorizer', name });
  for (const name of validators.extra) ops.push({ op: 'deleteValidator', name });
  for (const name of models.extra) ops.push({ op: 'deleteModel', name });

  const structureChanged = !isDeepStrictEqual(structureOf(desired), structureOf(base));
  const stages = changedKeys<StageDocument>(desired.stages, base.stages);
  const deploymentNeeded = structureChanged || stages.missing.length > 0;
  if (Object.keys(desired.stages).length > 0 && deploymentNeeded && hasMethods(desired)) {
    // One deployment per distinct description the snapshot's stages name.
    const descriptions = [
      ...new Set(Object.values(desired.stages).map((s) => s.deploymentDescription)),
    ];
    for (const description of descriptions) ops.push({ op: 'createDeployment', description });
  }
  const redeploy = deploymentNeeded && hasMethods(desired);
  for (const stage of stages.missing.sort()) ops.push({ op: 'createStage', stage });
  for (const stage of Object.keys(desired.stages).sort()) {
    if (stages.missing.includes(stage)) continue;
    if (redeploy || stages.changed.includes(stage))
      ops.push({ op: 'updateStage', stage, redeploy });
  }
  for (const stage of stages.extra.sort()) ops.push({ op: 'deleteStage', stage });
  return ops;
}

/** The setting name of a stage's method setting as a patch path segment (AWS's own names). */
const METHOD_SETTING_PATHS: Record<string, string> = {
  metricsEnabled: 'metrics/enabled',
  dataTraceEnabled: 'logging/dataTrace',
  loggingLevel: 'logging/loglevel',
  throttlingBurstLimit: 'throttling/burstLimit',
  throttlingRateLimit: 'throttling/rateLimit',
  cachingEnabled: 'caching/enabled',
  cacheTtlInSeconds: 'caching/ttlInSeconds',
  cacheDataEncrypted: 'caching/dataEncrypted',
  requireAuthorizationForCacheControl: 'caching/requireAuthorizationForCacheControl',
  unauthorizedCacheControlHeaderStrategy: 'caching/unauthorizedCacheControlHeaderStrategy',
};

/**
 * The operations left once `createApi` has made the API. AWS gives every new REST API the
 * models `Empty` and `Error` (moto gives none), so a plan made against "no API" would create
 * models that already exist and fail with a conflict. A model the create made is kept when it
 * equals the snapshot's, replaced when it differs; nothing names it yet, so replacing is safe.
 */
export function afterApiCreated(
  operations: readonly ApiOperation[],
  created: Pick<RestApiDocument, 'models'>,
  desired: Pick<RestApiDocument, 'models'>,
): ApiOperation[] {
  const out: ApiOperation[] = [];
  for (const operation of operations) {
    if (operation.op === 'createApi') continue;
    const made = operation.op === 'createModel' ? created.models[operation.name] : undefined;
    if (operation.op === 'createModel' && made) {
      if (isDeepStrictEqual(made, desired.models[operation.name])) continue;
      out.push({ op: 'deleteModel', name: operation.name });
    }
    out.push(operation);
  }
  // A default model the snapshot's API does not have goes, as it would on any drifted target.
  for (const name of Object.keys(created.models))
    if (!(name in desired.models)) out.push({ op: 'deleteModel', name });
  return out;
}

/** A JSON patch operation as API Gateway's Update* calls take it. */
export interface PatchOperation {
  op: 'replace' | 'add' | 'remove';
  path: string;
  value?: string;
}

function escapePatch(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * The one UpdateStage patch that turns a stage's `current` settings into `desired`: variables,
 * method settings, tracing, cache, access logs, description. `deploymentId` re-points it.
 */
export function stagePatch(
  desired: StageDocument,
  current: StageDocument | undefined,
  deploymentId?: string,
): PatchOperation[] {
  const ops: PatchOperation[] = [];
  if (deploymentId) ops.push({ op: 'replace', path: '/deploymentId', value: deploymentId });
  if ((desired.description ?? '') !== (current?.description ?? ''))
    ops.push({ op: 'replace', path: '/description', value: desired.description ?? '' });
  if (desired.tracingEnabled !== (current?.tracingEnabled ?? false))
    ops.push({ op: 'replace', path: '/tracingEnabled', value: String(desired.tracingEnabled) });
  if (desired.cacheClusterEnabled !== (current?.cacheClusterEnabled ?? false))
    ops.push({
      op: 'replace',
      path: '/cacheClusterEnabled',
      value: String(desired.cacheClusterEnabled),
    });
  if (desired.cacheClusterSize && desired.cacheClusterSize !== current?.cacheClusterSize)
    ops.push({ op: 'replace', path: '/cacheClusterSize', value: desired.cacheClusterSize });
  const currentVariables = current?.variables ?? {};
  for (const [name, value] of Object.entries(desired.variables).sort()) {
    if (currentVariables[name] !== value)
      ops.push({ op: 'replace', path: `/variables/${escapePatch(name)}`, value });
  }
  for (const name of Object.keys(currentVariables).sort()) {
    if (!(name in desired.variables))
      ops.push({ op: 'remove', path: `/variables/${escapePatch(name)}` });
  }
  const currentSettings = current?.methodSettings ?? {};
  for (const [key, settings] of Object.entries(desired.methodSettings).sort()) {
    for (const [setting, value] of Object.entries(settings).sort()) {
      const segment = METHOD_SETTING_PATHS[setting];
      if (!segment || currentSettings[key]?.[setting] === value) continue;
      // The key is already in API Gateway's `~1`-escaped `<path>/<METHOD>` form.
      ops.push({ op: 'replace', path: `/${key}/${segment}`, value: String(value) });
    }
  }
  const log = desired.accessLogSettings;
  if (!isDeepStrictEqual(log, current?.accessLogSettings)) {
    if (log?.destinationArn)
      ops.push({
        op: 'replace',
        path: '/accessLogSettings/destinationArn',
        value: log.destinationArn,
      });
    if (log?.format)
      ops.push({ op: 'replace', path: '/accessLogSettings/format', value: log.format });
    if (!log && current?.accessLogSettings) ops.push({ op: 'remove', path: '/accessLogSettings' });
  }
  return ops;
}
