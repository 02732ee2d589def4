import {
  CreateApiKeyCommand,
  CreateResourceCommand,
  CreateUsagePlanKeyCommand,
  GetResourcesCommand,
  GetRestApisCommand,
  GetUsagePlansCommand,
  PutIntegrationCommand,
  PutMethodCommand,
  UpdateStageCommand,
} from '@aws-sdk/client-api-gateway';
import { apiGatewayPlane, instanceStore } from '../../shared/composition.ts';
import type { InstanceConfig, LifeboatConfig } from '../../shared/config/schema.ts';
import type { InstanceStore, ObjectEntry } from '../../shared/domain/ports.ts';
import { accessLogArn, seedApiGatewayInstance } from '../apigateway-sample.ts';
import { sampleInstanceObjects, seedInstance } from '../sample-instance.ts';

/*
 * What a drill does differently for each kind of instance: how the home copy is seeded, which
 * path drill traffic calls, and how the writes made during the outage are made and later found
 * at home. Everything else (outage, detection, recovery, DNS, failback) is the same code.
 */

/** The kinds a drill can run on. */
export const DRILL_KINDS = ['object-store', 'apigateway'] as const;
/** One of them. */
export type DrillInstanceKind = (typeof DRILL_KINDS)[number];

/** A write made during the outage, and how to tell that a region kept it. */
export interface DrillWrite {
  label: string;
  keptIn(config: LifeboatConfig, instanceId: string, region: string): Promise<boolean>;
}

/** A kind, as the drill plays it. */
export interface DrillKind {
  kind: DrillInstanceKind;
  /** Kind-specific fields of the instance's config. */
  instanceFields(id: string, regions: readonly string[], domain: string): Record<string, unknown>;
  /** The stand-in runtime re-reads its region's config on this period (0: only when told). */
  reloadIntervalMs: number;
  seed(config: LifeboatConfig, instance: InstanceConfig, seed: number): Promise<void>;
  /** The path drill traffic calls through the weighted records. */
  trafficPath(instance: InstanceConfig): string;
  /** Makes the outage writes against the recovered copy in `region`. */
  writeDuringOutage(
    config: LifeboatConfig,
    instance: InstanceConfig,
    region: string,
  ): Promise<DrillWrite[]>;
}

/**
 * An instance store that resolves on every call: the drill starts each runtime before the
 * config that names its instance exists (the config needs the runtime's URLs).
 */
export function lateInstanceStore(resolve: () => InstanceStore): InstanceStore {
  return {
    get location() {
      return resolve().location;
    },
    list: (id): Promise<ObjectEntry[]> => resolve().list(id),
    read: (id, key) => resolve().read(id, key),
    write: (id, key, body) => resolve().write(id, key, body),
    delete: (id, keys) => resolve().delete(id, keys),
    restoreRank: (id, key) => resolve().restoreRank?.(id, key) ?? 0,
    preflight: async (id, key, body) => resolve().preflight?.(id, key, body),
  };
}

async function readText(
  store: InstanceStore,
  id: string,
  key: string,
): Promise<string | undefined> {
  const parts: Uint8Array[] = [];
  try {
    for await (const part of store.read(id, key)) parts.push(part);
  } catch {
    return undefined;
  }
  return Buffer.concat(parts).toString('utf8');
}

const objectStore: DrillKind = {
  kind: 'object-store',
  instanceFields: () => ({}),
  reloadIntervalMs: 0,
  async seed(config, instance, seed) {
    await seedInstance(
      instanceStore(config, instance.homeRegion),
      instance.id,
      sampleInstanceObjects({ apis: 12, seed }),
    );
  },
  trafficPath: () => '/v1/api-0000/resource-0',
  async writeDuringOutage(_config, instance, region) {
    const writes: DrillWrite[] = [];
    for (let n = 0; n < 3; n += 1) {
      const key = `apis/written-during-outage-${n}.json`;
      const body = JSON.stringify({ instance: instance.id, n, at: new Date().toISOString() });
      const put = await fetch(`${instance.endpoints[region]?.url}/admin/config/${key}`, {
        method: 'PUT',
        body,
      });
      if (!put.ok) continue;
      writes.push({
        label: key,
        keptIn: async (c, id, r) => (await readText(instanceStore(c, r), id, key)) === body,
      });
    }
    return writes;
  },
};

async function apiDocument(config: LifeboatConfig, id: string, region: string, api: string) {
  const text = await readText(
    instanceStore(config, region),
    id,
    `apis/${encodeURIComponent(api)}.json`,
  );
  return text
    ? (JSON.parse(text) as {
        resources: Record<string, { methods: Record<string, unknown> }>;
        stages: Record<string, { variables: Record<string, string> }>;
      })
    : undefined;
}

const apigateway: DrillKind = {
  kind: 'apigateway',
  instanceFields: (id, regions) => ({
    kind: 'apigateway',
    apigateway: {
      references: {
        certificate: Object.fromEntries(
          regions.map((r) => [r, `arn:aws:acm:${r}:123456789012:certificate/${id}-drill`]),
        ),
        'access-logs': Object.fromEntries(regions.map((r) => [r, accessLogArn(r)])),
      },
      // The drill is the only writer, and it has stopped writing by the time it fails back: the
      // settle time real pipelines need (docs/apigateway.md) would only slow the drill down.
      fenceSettleSeconds: 1,
    },
  }),
  // The stand-in for execute-api reads its region's API Gateway on its own, as a gateway serves
  // what its control plane holds; lifeboat never tells it to reload.
  reloadIntervalMs: 1500,
  async seed(config, instance) {
    const region = instance.homeRegion;
    await seedApiGatewayInstance(apiGatewayPlane(config, region), {
      instanceId: instance.id,
      apis: 2,
      resourcesPerApi: 3,
      methodsPerResource: 2,
      certificateArn: `arn:aws:acm:${region}:123456789012:certificate/${instance.id}-drill`,
      domainName: `${instance.id}.${config.naming.bucketPrefix}.example.com`,
    });
  },
  trafficPath: (instance) => `/${instance.id}-api-0/items0/%7Bid%7D`,
  async writeDuringOutage(config, instance, region) {
    const plane = apiGatewayPlane(config, region);
    const api = `${instance.id}-api-0`;
    const apis = await plane.call<{
      items?: { id?: string; name?: string; tags?: Record<string, string> }[];
    }>('GetRestApis', new GetRestApisCommand({}));
    const restApiId = apis.items?.find(
      (a) => a.name === api && a.tags?.['lifeboat:instance'] === instance.id,
    )?.id;
    if (!restApiId) return [];
    const writes: DrillWrite[] = [];
    // A new resource and method.
    const resources = await plane.call<{ items?: { id?: string; path?: string }[] }>(
      'GetResources',
      new GetResourcesCommand({ restApiId }),
    );
    const root = resources.items?.find((r) => r.path === '/')?.id as string;
    const created = await plane.call<{ id: string }>(
      'CreateResource',
      new CreateResourceCommand({ restApiId, parentId: root, pathPart: 'written-during-outage' }),
    );
    await plane.call(
      'PutMethod',
      new PutMethodCommand({
        restApiId,
        resourceId: created.id,
        httpMethod: 'GET',
        authorizationType: 'NONE',
      }),
    );
    await plane.call(
      'PutIntegration',
      new PutIntegrationCommand({
        restApiId,
        resourceId: created.id,
        httpMethod: 'GET',
        type: 'MOCK',
        requestTemplates: { 'application/json': '{"statusCode": 200}' },
      }),
    );
    writes.push({
      label: `${api}: GET /written-during-outage`,
      keptIn: async (c, id, r) =>
        Boolean(
          (await apiDocument(c, id, r, api))?.resources['/written-during-outage']?.methods.GET,
        ),
    });
    // A changed stage variable.
    await plane.call(
      'UpdateStage',
      new UpdateStageCommand({
        restApiId,
        stageName: 'prod',
        patchOperations: [{ op: 'replace', path: '/variables/backend', value: 'green' }],
      }),
    );
    writes.push({
      label: `${api}: prod backend=green`,
      keptIn: async (c, id, r) =>
        (await apiDocument(c, id, r, api))?.stages.prod?.variables.backend === 'green',
    });
    // A new API key in a plan.
    const keyName = `${instance.id}-outage-customer`;
    const key = await plane.call<{ id: string }>(
      'CreateApiKey',
      new CreateApiKeyCommand({
        name: keyName,
        enabled: true,
        value: `${instance.id}-outage-${Date.now()}-key-value`,
      }),
    );
    const plans = await plane.call<{ items?: { id?: string; name?: string }[] }>(
      'GetUsagePlans',
      new GetUsagePlansCommand({}),
    );
    const plan = plans.items?.find((p) => p.name === `${api}-gold`);
    if (plan?.id) {
      await plane.call(
        'CreateUsagePlanKey',
        new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id, keyType: 'API_KEY' }),
      );
      writes.push({
        label: `${api}-gold: key ${keyName}`,
        keptIn: async (c, id, r) => {
          const text = await readText(
            instanceStore(c, r),
            id,
            `usage-plans/${encodeURIComponent(`${api}-gold`)}.json`,
          );
          return Boolean(text && (JSON.parse(text) as { keys: string[] }).keys.includes(keyName));
        },
      });
    }
    return writes;
  },
};

/** The drill's view of a kind. */
export function drillKind(kind: DrillInstanceKind): DrillKind {
  return kind === 'apigateway' ? apigateway : objectStore;
}
