import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  MethodDocument,
  RestApiDocument,
  StageDocument,
} from '../../../../../shared/domain/apigateway/documents.ts';
import {
  type ApiOperation,
  afterApiCreated,
  createdApi,
  parentPath,
  planApiRestore,
  stagePatch,
} from '../../../../../shared/domain/apigateway/restore-plan.ts';
import { methodDoc, restApiDoc, stageDoc } from '../../../../support/apigateway-documents.ts';

const clone = <T>(value: T): T => structuredClone(value);

function indexOf(ops: ApiOperation[], match: (op: ApiOperation) => boolean): number {
  const i = ops.findIndex(match);
  if (i < 0) throw new Error(`no such operation in ${JSON.stringify(ops)}`);
  return i;
}

function lastIndexOf(ops: ApiOperation[], match: (op: ApiOperation) => boolean): number {
  return ops.map(match).lastIndexOf(true);
}

/** The structure a deployment captures (what a stage serves). */
function structureOf(doc: RestApiDocument) {
  return clone({
    resources: doc.resources,
    models: doc.models,
    requestValidators: doc.requestValidators,
    authorizers: doc.authorizers,
    gatewayResponses: doc.gatewayResponses,
  });
}

function namesOf(method: MethodDocument) {
  return {
    authorizer: method.authorizer,
    validator: method.requestValidator,
    models: [
      ...Object.values(method.requestModels),
      ...Object.values(method.responses).flatMap((r) => Object.values(r.responseModels)),
    ],
  };
}

/**
 * Carries a plan out on an in-memory API with API Gateway's own rules: a child needs its
 * parent, a method needs its resource and what it names, nothing in use is deleted, a stage
 * needs a deployment. Returns the API it ends with and what each stage serves; throws on the
 * first operation API Gateway would refuse.
 */
function simulate(
  desired: RestApiDocument,
  current: RestApiDocument | undefined,
  ops: ApiOperation[],
) {
  let state: RestApiDocument | undefined = current ? clone(current) : undefined;
  const serves = new Map<string, unknown>(
    Object.keys(current?.stages ?? {}).map((s) => [s, structureOf(current as RestApiDocument)]),
  );
  const deployments = new Map<string | undefined, unknown>();
  const methods = () =>
    Object.entries(state?.resources ?? {}).flatMap(([path, r]) =>
      Object.entries(r.methods).map(([verb, m]) => ({ at: `${verb} ${path}`, ...namesOf(m) })),
    );
  const refuse = (op: ApiOperation, why: string): never => {
    throw new Error(`${JSON.stringify(op)} refused: ${why}`);
  };
  for (const op of ops) {
    if (op.op === 'createApi') {
      if (state) refuse(op, 'the API exists');
      state = createdApi(clone(desired));
      continue;
    }
    const api = state ?? refuse(op, 'no API yet');
    switch (op.op) {
      case 'updateApiSettings':
        for (const s of op.settings) (api as Record<string, unknown>)[s] = clone(desired[s]);
        break;
      case 'tagApi':
        for (const k of op.remove) delete api.tags[k];
        Object.assign(api.tags, op.add);
        break;
      case 'createModel':
        if (api.models[op.name]) refuse(op, 'exists');
        api.models[op.name] = clone(desired.models[op.name] ?? refuse(op, 'not desired'));
        break;
      case 'deleteModel':
        if (!api.models[op.name]) refuse(op, 'absent');
        if (methods().some((m) => m.models.includes(op.name))) refuse(op, 'in use by a method');
        delete api.models[op.name];
        break;
      case 'createValidator':
      case 'updateValidator':
        if (Boolean(api.requestValidators[op.name]) !== (op.op === 'updateValidator'))
          refuse(op, 'wrong existence');
        api.requestValidators[op.name] = clone(
          desired.requestValidators[op.name] ?? refuse(op, 'not desired'),
        );
        break;
      case 'deleteValidator':
        if (!api.requestValidators[op.name]) refuse(op, 'absent');
        if (methods().some((m) => m.validator === op.name)) refuse(op, 'in use by a method');
        delete api.requestValidators[op.name];
        break;
      case 'createAuthorizer':
      case 'updateAuthorizer':
        if (Boolean(api.authorizers[op.name]) !== (op.op === 'updateAuthorizer'))
          refuse(op, 'wrong existence');
        api.authorizers[op.name] = clone(desired.authorizers[op.name] ?? refuse(op, 'not desired'));
        break;
      case 'deleteAuthorizer':
        if (!api.authorizers[op.name]) refuse(op, 'absent');
        if (methods().some((m) => m.authorizer === op.name)) refuse(op, 'in use by a method');
        delete api.authorizers[op.name];
        break;
      case 'createResource':
        if (api.resources[op.path]) refuse(op, 'exists');
        if (!api.resources[parentPath(op.path)]) refuse(op, 'no parent');
        api.resources[op.path] = { methods: {} };
        break;
      case 'deleteResource':
        if (!api.resources[op.path] || op.path === '/') refuse(op, 'absent or the root');
        for (const path of Object.keys(api.resources))
          if (path === op.path || path.startsWith(`${op.path}/`)) delete api.resources[path];
        break;
      case 'putMethod': {
        const resource = api.resources[op.path] ?? refuse(op, 'no resource');
        if (resource.methods[op.verb]) refuse(op, 'exists (PutMethod would drop its integration)');
        const method = desired.resources[op.path]?.methods[op.verb] ?? refuse(op, 'not desired');
        const names = namesOf(method);
        if (names.authorizer && !api.authorizers[names.authorizer]) refuse(op, 'no authorizer');
        if (names.validator && !api.requestValidators[names.validator]) refuse(op, 'no validator');
        for (const model of names.models) if (!api.models[model]) refuse(op, `no model ${model}`);
        resource.methods[op.verb] = clone(method);
        break;
      }
      case 'deleteMethod': {
        const resource = api.resources[op.path] ?? refuse(op, 'no resource');
        if (!resource.methods[op.verb]) refuse(op, 'absent');
        delete resource.methods[op.verb];
        break;
      }
      case 'putGatewayResponse':
        api.gatewayResponses[op.type] = clone(
          desired.gatewayResponses[op.type] ?? refuse(op, 'not desired'),
        );
        break;
      case 'deleteGatewayResponse':
        if (!api.gatewayResponses[op.type]) refuse(op, 'absent');
        delete api.gatewayResponses[op.type];
        break;
      case 'createDeployment':
        if (!Object.values(api.resources).some((r) => Object.keys(r.methods).length > 0))
          refuse(op, 'an API without methods cannot be deployed');
        deployments.set(op.description, structureOf(api));
        break;
      case 'createStage': {
        if (api.stages[op.stage]) refuse(op, 'exists');
        const stage = desired.stages[op.stage] ?? refuse(op, 'not desired');
        if (deployments.size === 0) refuse(op, 'no deployment to point at');
        serves.set(
          op.stage,
          deployments.get(stage.deploymentDescription) ?? [...deployments.values()][0],
        );
        api.stages[op.stage] = clone(stage);
        break;
      }
      case 'updateStage': {
        if (!api.stages[op.stage]) refuse(op, 'absent');
        const stage = desired.stages[op.stage] ?? refuse(op, 'not desired');
        if (op.redeploy)
          serves.set(
            op.stage,
            deployments.get(stage.deploymentDescription) ?? refuse(op, 'no such deployment'),
          );
        api.stages[op.stage] = clone(stage);
        break;
      }
      case 'deleteStage':
        if (!api.stages[op.stage]) refuse(op, 'absent');
        delete api.stages[op.stage];
        serves.delete(op.stage);
        break;
    }
  }
  return { state, serves };
}

describe('planApiRestore', () => {
  it('writes nothing when the target already equals the snapshot', () => {
    const doc = restApiDoc();
    expect(planApiRestore(doc, clone(doc))).toEqual([]);
  });

  it('creates a new API in dependency order when the target has none', () => {
    const ops = planApiRestore(restApiDoc(), undefined);
    const at = (match: (op: ApiOperation) => boolean) => indexOf(ops, match);
    expect(ops[0]).toEqual({ op: 'createApi' });
    const firstMethod = at((o) => o.op === 'putMethod');
    for (const dependency of ['createModel', 'createValidator', 'createAuthorizer'])
      expect(at((o) => o.op === dependency)).toBeLessThan(firstMethod);
    expect(at((o) => o.op === 'createResource' && o.path === '/items')).toBeLessThan(
      at((o) => o.op === 'createResource' && o.path === '/items/{id}'),
    );
    expect(at((o) => o.op === 'createResource' && o.path === '/items/{id}')).toBeLessThan(
      at((o) => o.op === 'putMethod' && o.path === '/items/{id}'),
    );
    const deployment = at((o) => o.op === 'createDeployment');
    expect(lastIndexOf(ops, (o) => o.op === 'putMethod')).toBeLessThan(deployment);
    expect(lastIndexOf(ops, (o) => o.op === 'putGatewayResponse')).toBeLessThan(deployment);
    expect(at((o) => o.op === 'createStage')).toBeGreaterThan(deployment);
    expect(ops.filter((o) => o.op === 'createStage').map((o) => 'stage' in o && o.stage)).toEqual([
      'dev',
      'prod',
    ]);
    // The root exists with every new API: it is never created.
    expect(ops).not.toContainEqual({ op: 'createResource', path: '/' });
  });

  it('deletes a changed method before putting it again, and redeploys every stage once', () => {
    const current = restApiDoc();
    const desired = clone(current);
    (desired.resources['/items/{id}'] as { methods: Record<string, MethodDocument> }).methods.GET =
      methodDoc({ operationName: 'getItem' });
    const ops = planApiRestore(desired, current);
    expect(ops).toEqual([
      { op: 'deleteMethod', path: '/items/{id}', verb: 'GET' },
      { op: 'putMethod', path: '/items/{id}', verb: 'GET' },
      { op: 'createDeployment', description: 'release 1' },
      { op: 'updateStage', stage: 'dev', redeploy: true },
      { op: 'updateStage', stage: 'prod', redeploy: true },
    ]);
  });

  it('patches only the changed stage, without a deployment, when only a stage variable changed', () => {
    const current = restApiDoc();
    const desired = clone(current);
    (desired.stages.prod as StageDocument).variables = { backend: 'green', version: '2' };
    expect(planApiRestore(desired, current)).toEqual([
      { op: 'updateStage', stage: 'prod', redeploy: false },
    ]);
  });

  it('deletes only the topmost of removed resources, after the methods it must outlive', () => {
    const desired = restApiDoc();
    const current = clone(desired);
    current.resources['/old'] = { methods: { GET: methodDoc() } };
    current.resources['/old/{id}'] = { methods: { GET: methodDoc() } };
    const ops = planApiRestore(desired, current);
    expect(ops.filter((o) => o.op === 'deleteResource')).toEqual([
      { op: 'deleteResource', path: '/old' },
    ]);
  });

  it('removes an authorizer, validator and model only after the methods naming them are gone', () => {
    const current = restApiDoc();
    const desired = clone(current);
    desired.authorizers = {};
    desired.requestValidators = {};
    desired.models = {};
    delete (desired.resources['/items/{id}'] as { methods: Record<string, MethodDocument> }).methods
      .POST;
    const ops = planApiRestore(desired, current);
    const deleteMethod = indexOf(ops, (o) => o.op === 'deleteMethod' && o.verb === 'POST');
    for (const kind of ['deleteAuthorizer', 'deleteValidator', 'deleteModel'])
      expect(indexOf(ops, (o) => o.op === kind)).toBeGreaterThan(deleteMethod);
    expect(() => simulate(desired, current, ops)).not.toThrow();
  });

  it('replaces a changed model only after deleting the unchanged methods naming it, then puts them again', () => {
    // Found by the generated-API property: API Gateway refuses to delete a model in use.
    const current = restApiDoc();
    const desired = clone(current);
    desired.models.Pet = { contentType: 'application/json', schema: '{"type":"string"}' };
    const ops = planApiRestore(desired, current);
    expect(ops.slice(0, 4)).toEqual([
      { op: 'deleteMethod', path: '/items/{id}', verb: 'POST' },
      { op: 'deleteModel', name: 'Pet' },
      { op: 'createModel', name: 'Pet' },
      { op: 'putMethod', path: '/items/{id}', verb: 'POST' },
    ]);
    expect(() => simulate(desired, current, ops)).not.toThrow();
  });

  it('tags an existing API with what it lacks and untags what it should not have', () => {
    const desired = restApiDoc();
    const current = clone(desired);
    current.tags = { 'lifeboat:instance': 'shop', team: 'retail', stray: 'x' };
    expect(planApiRestore(desired, current)).toEqual([
      { op: 'tagApi', add: { team: 'payments' }, remove: ['stray'] },
    ]);
  });

  it('sets only the API settings that differ', () => {
    const desired = restApiDoc({ binaryMediaTypes: ['image/png'], minimumCompressionSize: 1024 });
    const current = restApiDoc();
    expect(planApiRestore(desired, current)).toEqual([
      { op: 'updateApiSettings', settings: ['binaryMediaTypes', 'minimumCompressionSize'] },
    ]);
  });
});

// Generated APIs: resource trees, methods naming authorizers, validators and models, stages.
const PATHS = ['/a', '/a/b', '/a/b/c', '/a/{id}', '/d', '/d/{id}'];

function closed(paths: string[]): string[] {
  const out = new Set(['/']);
  for (const path of paths) for (let p = path; p !== '/'; p = parentPath(p)) out.add(p);
  return [...out].sort();
}

const variant = fc.constantFrom(1, 2);

const apiArb: fc.Arbitrary<RestApiDocument> = fc
  .record({
    paths: fc.subarray(PATHS),
    models: fc.subarray(['Pet', 'Order']),
    validators: fc.subarray(['body', 'params']),
    authorizers: fc.subarray(['token', 'pool']),
    responses: fc.subarray(['DEFAULT_4XX', 'DEFAULT_5XX']),
    stages: fc.subarray(['dev', 'prod']),
    versions: fc.array(variant, { minLength: 24, maxLength: 24 }),
    picks: fc.array(fc.nat(), { minLength: 24, maxLength: 24 }),
    tags: fc.dictionary(fc.constantFrom('team', 'env', 'cost'), fc.constantFrom('a', 'b')),
    description: fc.option(fc.constantFrom('one', 'two'), { nil: undefined }),
  })
  .map((g) => {
    let n = 0;
    const version = () => g.versions[n++ % g.versions.length] as number;
    const pick = <T>(items: T[]): T | undefined => {
      const i = g.picks[n++ % g.picks.length] as number;
      return items.length === 0 || i % 3 === 0 ? undefined : items[i % items.length];
    };
    const resources: RestApiDocument['resources'] = {};
    for (const path of closed(g.paths)) {
      const methods: Record<string, MethodDocument> = {};
      if (path !== '/')
        for (const verb of ['GET', 'POST'])
          if (version() === 1 || verb === 'GET') {
            const authorizer = pick(g.authorizers);
            const model = pick(g.models);
            const responseModel = pick(g.models);
            methods[verb] = methodDoc({
              responses: {
                '200': {
                  responseParameters: {},
                  responseModels: responseModel ? { 'application/json': responseModel } : {},
                },
              },
              authorizationType: authorizer ? 'CUSTOM' : 'NONE',
              authorizer,
              requestValidator: pick(g.validators),
              requestModels: model ? { 'application/json': model } : {},
              operationName: `op${version()}`,
            });
          }
      resources[path] = { methods };
    }
    const hasMethods = Object.values(resources).some((r) => Object.keys(r.methods).length > 0);
    return restApiDoc({
      description: g.description,
      tags: { 'lifeboat:instance': 'shop', ...g.tags },
      resources,
      models: Object.fromEntries(
        g.models.map((m) => [m, { contentType: 'application/json', schema: `{"v":${version()}}` }]),
      ),
      requestValidators: Object.fromEntries(
        g.validators.map((v) => [
          v,
          { validateRequestBody: version() === 1, validateRequestParameters: true },
        ]),
      ),
      authorizers: Object.fromEntries(
        g.authorizers.map((a) => [
          a,
          {
            type: 'TOKEN',
            identitySource: 'method.request.header.A',
            authorizerResultTtlInSeconds: version(),
          },
        ]),
      ),
      gatewayResponses: Object.fromEntries(
        g.responses.map((r) => [
          r,
          { statusCode: `40${version()}`, responseParameters: {}, responseTemplates: {} },
        ]),
      ),
      // API Gateway cannot deploy an API without methods, so such an API has no stages.
      stages: hasMethods
        ? Object.fromEntries(
            g.stages.map((s) => [
              s,
              stageDoc({
                deploymentDescription: `release ${version()}`,
                variables: { backend: version() === 1 ? 'blue' : 'green' },
              }),
            ]),
          )
        : {},
    });
  });

describe('planApiRestore over generated APIs', () => {
  it('brings any target to the snapshot with only operations API Gateway accepts', () => {
    fc.assert(
      fc.property(apiArb, fc.option(apiArb, { nil: undefined }), (desired, current) => {
        const ops = planApiRestore(desired, current);
        const { state, serves } = simulate(desired, current, ops);
        expect(state).toEqual(desired);
        // Every stage serves the snapshot's structure, not an older deployment.
        for (const stage of Object.keys(desired.stages))
          expect(serves.get(stage), `stage ${stage}`).toEqual(structureOf(desired));
        // One settings patch per stage at most.
        const stageOps = ops.flatMap((o) =>
          o.op === 'createStage' || o.op === 'updateStage' ? [o.stage] : [],
        );
        expect(new Set(stageOps).size).toBe(stageOps.length);
      }),
      { numRuns: 500 },
    );
  });

  it('plans nothing for a target equal to the snapshot', () => {
    fc.assert(
      fc.property(apiArb, (doc) => {
        expect(planApiRestore(doc, clone(doc))).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('is stable: planning again from where the plan ends plans nothing', () => {
    fc.assert(
      fc.property(apiArb, fc.option(apiArb, { nil: undefined }), (desired, current) => {
        const { state } = simulate(desired, current, planApiRestore(desired, current));
        expect(state).toEqual(desired);
        expect(planApiRestore(desired, state)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('stagePatch', () => {
  it('sets variables, removes extra ones and re-points the deployment in one patch', () => {
    const current = stageDoc({ variables: { backend: 'blue', stray: 'x' } });
    const desired = stageDoc({ variables: { backend: 'green', 'a/b': '1' } });
    expect(stagePatch(desired, current, 'dep-2')).toEqual([
      { op: 'replace', path: '/deploymentId', value: 'dep-2' },
      { op: 'replace', path: '/variables/a~1b', value: '1' },
      { op: 'replace', path: '/variables/backend', value: 'green' },
      { op: 'remove', path: '/variables/stray' },
    ]);
  });

  it('is empty for an unchanged stage and no new deployment', () => {
    const stage = stageDoc({
      methodSettings: { '*/*': { metricsEnabled: true, throttlingRateLimit: 500 } },
      accessLogSettings: { destinationArn: 'arn:aws:logs:us-east-1:1:log-group:x', format: '$x' },
    });
    expect(stagePatch(stage, clone(stage))).toEqual([]);
  });

  it('writes method settings by their AWS patch paths, and tracing and cache flags', () => {
    const desired = stageDoc({
      tracingEnabled: true,
      cacheClusterEnabled: true,
      cacheClusterSize: '0.5',
      methodSettings: { '*/*': { metricsEnabled: true, throttlingBurstLimit: 1000 } },
    });
    expect(stagePatch(desired, undefined)).toEqual([
      { op: 'replace', path: '/tracingEnabled', value: 'true' },
      { op: 'replace', path: '/cacheClusterEnabled', value: 'true' },
      { op: 'replace', path: '/cacheClusterSize', value: '0.5' },
      { op: 'replace', path: '/variables/backend', value: 'blue' },
      { op: 'replace', path: '/*/*/metrics/enabled', value: 'true' },
      { op: 'replace', path: '/*/*/throttling/burstLimit', value: '1000' },
    ]);
  });
});

describe('afterApiCreated', () => {
  const EMPTY = {
    contentType: 'application/json',
    schema:
      '{"$schema":"http://json-schema.org/draft-04/schema#","title":"Empty Schema","type":"object"}',
  };
  const ERROR = {
    contentType: 'application/json',
    schema: '{"type":"object","properties":{"message":{"type":"string"}}}',
  };

  it("keeps a model AWS's create made when it equals the snapshot's, so nothing creates it twice", () => {
    const desired = restApiDoc({ models: { Empty: EMPTY, Pet: ERROR } });
    const ops = afterApiCreated(
      planApiRestore(desired, undefined),
      { models: { Empty: EMPTY } },
      desired,
    );

    expect(ops.some((op) => op.op === 'createApi')).toBe(false);
    expect(ops.filter((op) => op.op === 'createModel')).toEqual([
      { op: 'createModel', name: 'Pet' },
    ]);
    expect(ops.some((op) => op.op === 'deleteModel')).toBe(false);
  });

  it("replaces a model AWS's create made when the snapshot's differs, before the methods name it", () => {
    const changed = { ...ERROR, schema: '{"type":"object"}' };
    const desired = restApiDoc({ models: { Error: changed } });
    const ops = afterApiCreated(
      planApiRestore(desired, undefined),
      { models: { Error: ERROR } },
      desired,
    );

    const del = indexOf(ops, (op) => op.op === 'deleteModel' && op.name === 'Error');
    const create = indexOf(ops, (op) => op.op === 'createModel' && op.name === 'Error');
    const firstMethod = indexOf(ops, (op) => op.op === 'putMethod');
    expect(del).toBeLessThan(create);
    expect(create).toBeLessThan(firstMethod);
  });

  it("deletes a model AWS's create made that the snapshot's API does not have", () => {
    const desired = restApiDoc({ models: {} });
    const ops = afterApiCreated(
      planApiRestore(desired, undefined),
      { models: { Empty: EMPTY } },
      desired,
    );

    expect(ops.filter((op) => op.op.endsWith('Model'))).toEqual([
      { op: 'deleteModel', name: 'Empty' },
    ]);
  });

  it('leaves the plan as it was when the create made nothing (moto)', () => {
    const desired = restApiDoc();
    const plan = planApiRestore(desired, undefined);
    expect(afterApiCreated(plan, { models: {} }, desired)).toEqual(
      plan.filter((op) => op.op !== 'createApi'),
    );
  });
});
