import { randomBytes } from 'node:crypto';
import {
  DeleteApiKeyCommand,
  DeleteBasePathMappingCommand,
  DeleteDomainNameCommand,
  DeleteRestApiCommand,
  DeleteUsagePlanCommand,
  GetApiKeysCommand,
  GetBasePathMappingsCommand,
  GetDomainNamesCommand,
  GetRestApisCommand,
  GetUsagePlansCommand,
} from '@aws-sdk/client-api-gateway';
import { afterAll, describe, expect, it } from 'vitest';
import { accessLogArn, seedApiGatewayInstance } from '../../../local/apigateway-sample.ts';
import { type FaultKind, faultOnce, type ProxiedCall } from '../../../local/fault-proxy.ts';
import {
  apiGatewayPlane,
  apiGatewayStore,
  backupVault,
  snapshotJob,
} from '../../../shared/composition.ts';
import { findInstance } from '../../../shared/config/load.ts';
import type { LifeboatConfig } from '../../../shared/config/schema.ts';
import { systemClock } from '../../../shared/domain/ports.ts';
import { readManifest } from '../../../shared/domain/snapshot/catalog.ts';
import { restoreSnapshot } from '../../../shared/domain/snapshot/restore.ts';
import { takeSnapshot } from '../../../shared/domain/snapshot/take-snapshot.ts';
import { ApiGatewayCallError } from '../../../shared/errors.ts';
import { regionDigest } from '../../support/apigateway.ts';
import { CERTIFICATES } from '../../worlds/apigateway.ts';
import { createFaultWorld } from '../../worlds/faults.ts';
import { expectEveryCaseHit } from './fault-cases.ts';

/**
 * Every API Gateway call of a restore of a small instance (one API with an authorizer, a model,
 * a validator, two methods, a gateway response and a stage; an API key, a usage plan and a
 * domain) into us-west-2, broken one at a time: its answer lost after it took effect, its
 * connection reset, a 500, or a throttle. After each, a second restore with the fault gone
 * ends with the target's digest equal to the snapshot's and each API, usage plan and API key
 * name of the instance once in the target: nothing was made twice.
 */

const TARGET = 'us-west-2';
const SNAPSHOT_ID = '20261202T010000Z';
/** The faults that end a call: lifeboat must resume after them. A throttle is retried. */
const KINDS: readonly FaultKind[] = ['lost-response', 'reset', 'error', 'throttle'];

const world = await createFaultWorld();
afterAll(() => world.close());

const instanceId = `g${randomBytes(3).toString('hex')}`;
const domainName = `api-${world.prefix}.example.com`;
const instanceDef = {
  id: instanceId,
  kind: 'apigateway',
  apigateway: {
    references: {
      'shop-cert': CERTIFICATES,
      'access-logs': Object.fromEntries(Object.keys(CERTIFICATES).map((r) => [r, accessLogArn(r)])),
    },
  },
  homeRegion: 'us-east-1',
  replicaRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
  dns: { hostedZoneId: world.hostedZoneId, recordName: `${instanceId}.example.test` },
  endpoints: { 'us-east-1': { url: 'http://127.0.0.1:9/' } },
};
/** API Gateway behind the fault proxy: the restore under test goes this way. */
const config = world.configFor([instanceDef]);
/** Straight on moto: seeding, the snapshot, cleaning and checking. */
const direct = world.directConfigFor([instanceDef]);

await seedApiGatewayInstance(apiGatewayPlane(direct, 'us-east-1'), {
  instanceId,
  apis: 1,
  resourcesPerApi: 1,
  methodsPerResource: 2,
  certificateArn: CERTIFICATES['us-east-1'],
  domainName,
  keyValue: (api) => `FAULTKEY${world.prefix}${api}ZZZZ`,
});
const snapshot = await takeSnapshot({
  ...snapshotJob(direct, findInstance(direct, instanceId)),
  snapshotId: SNAPSHOT_ID,
  clock: systemClock,
});
const manifest = await readManifest(backupVault(direct, TARGET), instanceId, SNAPSHOT_ID);

/** One restore as a fresh process would run it: a new store, nothing remembered. */
function restore(through: LifeboatConfig) {
  return restoreSnapshot({
    vault: backupVault(direct, TARGET),
    instanceId,
    target: apiGatewayStore(through, TARGET),
  });
}

/** Removes the instance's members from the target, straight on moto, so each case starts bare. */
async function clearTarget(): Promise<void> {
  const plane = apiGatewayPlane(direct, TARGET);
  const mine = (name: string | undefined) => name?.startsWith(`${instanceId}-`) ?? false;
  const apis = await plane.call<{ items?: { id?: string; name?: string }[] }>(
    'GetRestApis',
    new GetRestApisCommand({ limit: 500 }),
  );
  const plans = await plane.call<{ items?: { id?: string; name?: string }[] }>(
    'GetUsagePlans',
    new GetUsagePlansCommand({ limit: 500 }),
  );
  for (const p of (plans.items ?? []).filter((p) => mine(p.name)))
    await plane.call('DeleteUsagePlan', new DeleteUsagePlanCommand({ usagePlanId: p.id }));
  const keys = await plane.call<{ items?: { id?: string; name?: string }[] }>(
    'GetApiKeys',
    new GetApiKeysCommand({ limit: 500 }),
  );
  for (const k of (keys.items ?? []).filter((k) => mine(k.name)))
    await plane.call('DeleteApiKey', new DeleteApiKeyCommand({ apiKey: k.id }));
  const domains = await plane.call<{ items?: { domainName?: string }[] }>(
    'GetDomainNames',
    new GetDomainNamesCommand({ limit: 500 }),
  );
  if ((domains.items ?? []).some((d) => d.domainName === domainName)) {
    // moto keeps a deleted domain's mappings and hands them to the next domain of that name.
    const mappings = await plane.call<{ items?: { basePath?: string }[] }>(
      'GetBasePathMappings',
      new GetBasePathMappingsCommand({ domainName }),
    );
    for (const m of mappings.items ?? [])
      await plane.call(
        'DeleteBasePathMapping',
        new DeleteBasePathMappingCommand({ domainName, basePath: m.basePath ?? '(none)' }),
      );
    await plane.call('DeleteDomainName', new DeleteDomainNameCommand({ domainName }));
  }
  for (const a of (apis.items ?? []).filter((a) => mine(a.name)))
    await plane.call('DeleteRestApi', new DeleteRestApiCommand({ restApiId: a.id }));
}

/** The instance's API, usage plan and API key names in the target, sorted, duplicates kept. */
async function memberNames() {
  const plane = apiGatewayPlane(direct, TARGET);
  const names = async (operation: string, command: object) =>
    (await plane.call<{ items?: { name?: string }[] }>(operation, command)).items
      ?.flatMap((i) => (i.name?.startsWith(`${instanceId}-`) ? [i.name] : []))
      .sort();
  return {
    apis: await names('GetRestApis', new GetRestApisCommand({ limit: 500 })),
    plans: await names('GetUsagePlans', new GetUsagePlansCommand({ limit: 500 })),
    keys: await names('GetApiKeys', new GetApiKeysCommand({ limit: 500 })),
  };
}

const EXPECTED_NAMES = {
  apis: [`${instanceId}-api-0`],
  plans: [`${instanceId}-api-0-gold`],
  keys: [`${instanceId}-api-0-customer`],
};

// The clean restore, counted: the call indexes every case aims at.
await clearTarget();
world.proxy.setPlan(undefined);
const clean = await restore(config);
const cleanCalls: readonly ProxiedCall[] = [...world.proxy.calls()];
const cleanCounts = world.proxy.counts();
const cleanDigest = await regionDigest(direct, TARGET, instanceId);
const cleanNames = await memberNames();

/**
 * One case per API Gateway call, the kinds stepping along the calls so each kind meets calls
 * all along the restore; `LIFEBOAT_FAULTS=full` breaks every call in every way.
 */
const cases = Array.from({ length: cleanCounts.apigateway }, (_, i) => i + 1).flatMap((index) =>
  (process.env.LIFEBOAT_FAULTS === 'full' ? KINDS : [KINDS[(index - 1) % KINDS.length]]).map(
    (kind) => ({ index, kind: kind as FaultKind }),
  ),
);
const hits: { name: string; hit: string; first: string }[] = [];

describe('the API Gateway restore, clean', () => {
  it('restores the snapshot through the proxy with equal digests', () => {
    expect(snapshot.committed).toBe(true);
    expect(clean.objectsWritten).toBe(manifest.objects.length);
    expect(cleanDigest).toBe(manifest.configDigest);
    expect(cleanNames).toEqual(EXPECTED_NAMES);
    // Every write kind of the plan goes through the proxy, so every one of them gets broken.
    const operations = new Set(cleanCalls.map((c) => c.operation));
    for (const op of [
      'POST /restapis',
      'POST /restapis/{restapis}/authorizers',
      'POST /restapis/{restapis}/resources/{resources}',
      'PUT /restapis/{restapis}/resources/{resources}/methods/{methods}',
      'PUT /restapis/{restapis}/resources/{resources}/methods/{methods}/integration',
      'POST /restapis/{restapis}/deployments',
      'POST /restapis/{restapis}/stages',
      'PATCH /restapis/{restapis}/stages/{stages}',
      'POST /apikeys',
      'POST /usageplans',
      'POST /usageplans/{usageplans}/keys',
      'POST /domainnames',
      'POST /domainnames/{domainnames}/basepathmappings',
    ])
      expect(operations, op).toContain(op);
  });
});

describe('the API Gateway restore under one injected fault', () => {
  it.for(cases)(
    'resumes with no duplicates and the snapshot digest: $kind at call $index',
    async ({ index, kind }) => {
      await clearTarget();
      world.proxy.setPlan(faultOnce('apigateway', index, kind));
      const first = await restore(config).then(
        () => 'restored',
        (error: unknown) => error,
      );
      world.proxy.clearFaults();
      const hit = world.proxy.calls().find((call) => call.fault !== undefined);
      hits.push({
        name: `${kind} apigateway#${index}`,
        hit: hit ? `${hit.operation} ${hit.method}` : 'none',
        first: first === 'restored' ? first : String((first as Error).name),
      });

      if (kind === 'throttle') {
        // A throttle was refused, so the control plane retries it and the restore goes on.
        expect(first).toBe('restored');
      } else {
        // Any other failure may have taken effect: it is raised, never retried blindly.
        expect(first).toBeInstanceOf(ApiGatewayCallError);
      }
      await restore(config);
      expect(await memberNames()).toEqual(EXPECTED_NAMES);
      expect(await regionDigest(direct, TARGET, instanceId)).toBe(manifest.configDigest);
    },
  );
});

describe('the API Gateway fault suite itself', () => {
  it('hit a call in every case', () => {
    expectEveryCaseHit({ counts: cleanCounts, calls: cleanCalls }, hits);
  });
});
