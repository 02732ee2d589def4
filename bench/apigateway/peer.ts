import {
  CreateDeploymentCommand,
  GetExportCommand,
  GetRestApisCommand,
  GetStagesCommand,
  ImportRestApiCommand,
  type RestApi,
} from '@aws-sdk/client-api-gateway';
import type { ControlPlane } from '../../shared/adapters/apigateway/control-plane.ts';
import { readRestApi } from '../../shared/adapters/apigateway/read-instance.ts';
import { secretsKeyring } from '../../shared/composition.ts';
import { findInstance } from '../../shared/config/load.ts';
import {
  type CanonicalInstance,
  INSTANCE_TAG,
  type RestApiDocument,
} from '../../shared/domain/apigateway/documents.ts';
import { type BenchWorld, SOURCE, TARGET, virtualPlane } from './world.ts';

/*
 * The peer a user would script today, AWS's own migration path: GetExport of every stage of
 * every API (OpenAPI 3 with the API Gateway extensions), then ImportRestApi of each document
 * in the target region and a CreateDeployment per exported stage. Run through the same paced
 * control plane as lifeboat, so calls are counted the same way. moto's export is a stub and its
 * import partial: each step runs as far as moto lets it, and every failure is recorded.
 */

/** One exported stage. */
export interface Exported {
  api: string;
  stage: string;
  bytes: number;
  /** What the export declares itself as (`swagger: 2.0`, `openapi: 3.0.1`). */
  format: string;
  document: Record<string, unknown>;
  /** Whether the document has any `x-amazon-apigateway-*` key anywhere. */
  hasApiGatewayExtensions: boolean;
}

/** The outcome of one import. */
export interface ImportOutcome {
  api: string;
  ok: boolean;
  error?: string;
  restApiId?: string;
}

/**
 * The exceptions moto's log shows (the last line of each traceback), with counts: moto
 * answers a crash with an HTML 500 page, so the SDK's error alone does not say what failed.
 */
export function motoExceptions(log: string): { exception: string; count: number }[] {
  const counts = new Map<string, number>();
  const lines = log.split('\n');
  lines.forEach((line, i) => {
    if (!/^[A-Za-z_.]+(Error|Exception)\b/.test(line)) return;
    if (!lines[i - 1]?.startsWith(' ')) return;
    const text = line.trim().slice(0, 200);
    counts.set(text, (counts.get(text) ?? 0) + 1);
  });
  return [...counts].map(([exception, count]) => ({ exception, count }));
}

/** moto writes a traceback after its 500 has gone out: give the log a moment to catch up. */
function logFlush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 500));
}

/** What one peer step did against the control plane. */
export interface PeerMeasure {
  wallMs: number;
  calls: Record<string, number>;
  callsTotal: number;
  pacerWaitMs: number;
}

function measureOf(plane: ControlPlane, t0: number): PeerMeasure {
  const calls = Object.fromEntries([...plane.calls].sort(([a], [b]) => a.localeCompare(b)));
  return {
    wallMs: performance.now() - t0,
    calls,
    callsTotal: Object.values(calls).reduce((a, b) => a + b, 0),
    pacerWaitMs: plane.pacer.waitedMs,
  };
}

function errorText(error: unknown): string {
  const cause = (error as { cause?: { name?: string; $metadata?: { httpStatusCode?: number } } })
    ?.cause;
  const status = cause?.$metadata?.httpStatusCode;
  const message = (error as Error)?.message ?? String(error);
  return `${cause?.name ?? (error as Error)?.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${message.slice(0, 300)}`;
}

function hasExtensions(value: unknown): boolean {
  if (!value || typeof value !== 'object') return false;
  return Object.entries(value).some(
    ([k, v]) => k.startsWith('x-amazon-apigateway') || hasExtensions(v),
  );
}

/** Step 1: GetExport of every stage of every member API in the source region. */
export async function peerExport(
  world: BenchWorld,
  instanceId: string,
): Promise<{ measure: PeerMeasure; exports: Exported[] }> {
  const plane = virtualPlane(world.config, SOURCE);
  const t0 = performance.now();
  const apis = await plane.all<RestApi>(
    'GetRestApis',
    (position) => new GetRestApisCommand({ limit: 500, position }),
  );
  const members = apis.filter((a) => a.tags?.[INSTANCE_TAG] === instanceId);
  const exports: Exported[] = [];
  for (const api of members) {
    const stages = await plane.call<{ item?: { stageName?: string }[] }>(
      'GetStages',
      new GetStagesCommand({ restApiId: api.id as string }),
    );
    for (const stage of stages.item ?? []) {
      const out = await plane.call<{ body?: Uint8Array }>(
        'GetExport',
        new GetExportCommand({
          restApiId: api.id as string,
          stageName: stage.stageName as string,
          exportType: 'oas30',
          parameters: { extensions: 'apigateway' },
          accepts: 'application/json',
        }),
      );
      const text = Buffer.from(out.body ?? new Uint8Array()).toString('utf8');
      const document = JSON.parse(text) as Record<string, unknown>;
      exports.push({
        api: api.name as string,
        stage: stage.stageName as string,
        bytes: Buffer.byteLength(text),
        format: document.openapi
          ? `openapi ${document.openapi}`
          : document.swagger
            ? `swagger ${document.swagger}`
            : 'unknown',
        document,
        hasApiGatewayExtensions: hasExtensions(document),
      });
    }
  }
  return { measure: measureOf(plane, t0), exports };
}

/**
 * The least a user must change in moto's Swagger 2.0 stub for moto's importer to take it:
 * OpenAPI 3 (`openapi`, `components.schemas`, no `produces`/`host`/`schemes`) and an
 * `info.description`. Nothing is added that the export did not hold.
 */
export function patchForMoto(document: Record<string, unknown>): Record<string, unknown> {
  const info = (document.info ?? {}) as Record<string, unknown>;
  const paths = (document.paths ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
  return {
    openapi: '3.0.1',
    info: { ...info, description: info.description ?? `${info.title ?? ''}` },
    paths: Object.fromEntries(
      Object.entries(paths).map(([path, methods]) => [
        path,
        Object.fromEntries(
          Object.entries(methods).map(([verb, method]) => [
            verb,
            {
              ...Object.fromEntries(
                Object.entries(method).filter(([k]) => k !== 'produces' && k !== 'responses'),
              ),
              responses: Object.fromEntries(
                Object.entries(
                  (method.responses ?? {}) as Record<string, { description?: string }>,
                ).map(([code, r]) => [code, { description: r.description ?? `${code} response` }]),
              ),
            },
          ]),
        ),
      ]),
    ),
    components: { schemas: document.definitions ?? {} },
  };
}

/**
 * Step 2: ImportRestApi of one export per API into the target region, then CreateDeployment
 * of each exported stage on the APIs that imported.
 */
export async function peerImport(
  world: BenchWorld,
  exports: readonly Exported[],
  transform: (document: Record<string, unknown>) => Record<string, unknown>,
): Promise<{
  measure: PeerMeasure;
  outcomes: ImportOutcome[];
  deployFailures: string[];
  motoExceptions: { exception: string; count: number }[];
}> {
  const logMark = world.motoLog().length;
  const plane = virtualPlane(world.config, TARGET);
  const t0 = performance.now();
  const byApi = new Map<string, Exported[]>();
  for (const e of exports) byApi.set(e.api, [...(byApi.get(e.api) ?? []), e]);
  const outcomes: ImportOutcome[] = [];
  const deployFailures: string[] = [];
  for (const [api, stages] of byApi) {
    const first = stages[0] as Exported;
    try {
      const created = await plane.call<{ id?: string }>(
        'ImportRestApi',
        new ImportRestApiCommand({
          failOnWarnings: false,
          body: Buffer.from(JSON.stringify(transform(first.document))),
        }),
      );
      outcomes.push({ api, ok: true, restApiId: created.id });
      for (const stage of stages) {
        try {
          await plane.call(
            'CreateDeployment',
            new CreateDeploymentCommand({
              restApiId: created.id as string,
              stageName: stage.stage,
            }),
          );
        } catch (error) {
          deployFailures.push(`${api}/${stage.stage}: ${errorText(error)}`);
        }
      }
    } catch (error) {
      outcomes.push({ api, ok: false, error: errorText(error) });
    }
  }
  const measure = measureOf(plane, t0);
  await logFlush();
  return {
    measure,
    outcomes,
    deployFailures,
    motoExceptions: motoExceptions(world.motoLog(logMark)),
  };
}

/**
 * What a document carrying the source's real integrations looks like to moto's importer:
 * AWS's export with `extensions=apigateway` holds `x-amazon-apigateway-integration` per
 * method; moto's stub does not, so one such document is built from lifeboat's canonical copy
 * of the API and imported once, to record how moto takes it.
 */
export async function probeIntegrationImport(
  world: BenchWorld,
  api: RestApiDocument,
): Promise<ImportOutcome & { motoExceptions: { exception: string; count: number }[] }> {
  const logMark = world.motoLog().length;
  const plane = virtualPlane(world.config, TARGET);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, resource] of Object.entries(api.resources)) {
    for (const [verb, method] of Object.entries(resource.methods)) {
      const integration = method.integration;
      paths[path] = {
        ...(paths[path] ?? {}),
        [verb.toLowerCase()]: {
          responses: Object.fromEntries(
            Object.keys(method.responses).map((code) => [code, { description: `${code}` }]),
          ),
          ...(integration
            ? {
                'x-amazon-apigateway-integration': {
                  type: integration.type.toLowerCase(),
                  ...(integration.uri ? { uri: integration.uri } : {}),
                  ...(integration.httpMethod ? { httpMethod: integration.httpMethod } : {}),
                  requestTemplates: integration.requestTemplates,
                  responses: Object.fromEntries(
                    Object.entries(integration.responses).map(([code, r]) => [
                      r.selectionPattern ?? 'default',
                      { statusCode: code, responseTemplates: r.responseTemplates },
                    ]),
                  ),
                },
              }
            : {}),
        },
      };
    }
  }
  const name = `${api.name}-probe`;
  try {
    const created = await plane.call<{ id?: string }>(
      'ImportRestApi',
      new ImportRestApiCommand({
        failOnWarnings: false,
        body: Buffer.from(
          JSON.stringify({
            openapi: '3.0.1',
            info: { title: name, version: '1', description: 'integration probe' },
            paths,
          }),
        ),
      }),
    );
    return { api: name, ok: true, restApiId: created.id, motoExceptions: [] };
  } catch (error) {
    await logFlush();
    return {
      api: name,
      ok: false,
      error: errorText(error),
      motoExceptions: motoExceptions(world.motoLog(logMark)),
    };
  }
}

/** Reads what the peer's imports produced in the target, canonical, as lifeboat reads. */
export async function readPeerCopy(
  world: BenchWorld,
  instanceId: string,
  outcomes: readonly ImportOutcome[],
): Promise<CanonicalInstance> {
  const plane = virtualPlane(world.config, TARGET);
  const context = {
    plane,
    instanceId,
    references: findInstance(world.config, instanceId).apigateway?.references ?? {},
    keyring: secretsKeyring(world.config, TARGET),
  };
  const apis: RestApiDocument[] = [];
  for (const o of outcomes) {
    if (!o.ok || !o.restApiId) continue;
    apis.push((await readRestApi(context, { id: o.restApiId, name: o.api })).document);
  }
  // The peer makes no usage plans, API keys or domain names: nothing of theirs to read.
  return { apis, usagePlans: [], apiKeys: [], domains: [] };
}
