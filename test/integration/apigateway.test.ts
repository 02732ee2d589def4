import {
  CreateBasePathMappingCommand,
  CreateDomainNameCommand,
  CreateRestApiCommand,
  DeleteMethodCommand,
  GetApiKeysCommand,
  GetAuthorizersCommand,
  GetBasePathMappingsCommand,
  GetResourcesCommand,
  GetRestApiCommand,
  GetRestApisCommand,
  GetUsagePlansCommand,
  type Resource,
  UpdateRestApiCommand,
  UpdateStageCommand,
} from '@aws-sdk/client-api-gateway';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiGatewaySample } from '../../local/apigateway-sample.ts';
import {
  apiGatewayPlane,
  apiGatewayStore,
  backupVault,
  instanceStore,
  snapshotJob,
} from '../../shared/composition.ts';
import { findInstance } from '../../shared/config/load.ts';
import { partialRestoreKeys } from '../../shared/domain/apigateway/partial.ts';
import { compareRegions } from '../../shared/domain/drift.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { readManifest } from '../../shared/domain/snapshot/catalog.ts';
import {
  readSnapshotObjects,
  restoreSnapshot,
  verifySnapshot,
} from '../../shared/domain/snapshot/restore.ts';
import { takeSnapshot } from '../../shared/domain/snapshot/take-snapshot.ts';
import { MissingRegionMappingError } from '../../shared/errors.ts';
import {
  backupPlaintexts,
  clearForms,
  regionDigest,
  seedShop,
  shopId,
} from '../support/apigateway.ts';
import { createApiGatewayWorld } from '../worlds/apigateway.ts';
import type { MotoWorld } from '../worlds/moto.ts';

let world: MotoWorld;
let sample: ApiGatewaySample;
const SHOP = () => shopId(world);

async function snapshot(id = '20261202T010000Z') {
  const job = snapshotJob(world.config, findInstance(world.config, SHOP()));
  return takeSnapshot({ ...job, snapshotId: id, clock: systemClock });
}

async function restoreTo(region: string, from = 'us-west-2') {
  const target = apiGatewayStore(world.config, region);
  const result = await restoreSnapshot({
    vault: backupVault(world.config, from),
    instanceId: SHOP(),
    target,
  });
  return { result, writes: target.stats.writes };
}

function plane(region: string) {
  return apiGatewayPlane(world.config, region);
}

async function apisNamed(region: string) {
  const out = await plane(region).call<{
    items?: { id?: string; name?: string; tags?: Record<string, string> }[];
  }>('GetRestApis', new GetRestApisCommand({}));
  return out.items ?? [];
}

beforeEach(async () => {
  world = await createApiGatewayWorld();
  sample = await seedShop(world);
});

afterEach(async () => {
  await world.close();
});

describe('API Gateway instance kind against moto', () => {
  it('restores a rich instance us-east-1 → us-west-2 with equal digests, and a second restore writes nothing', async () => {
    const snap = await snapshot();
    expect(snap.committed).toBe(true);
    const manifest = await readManifest(
      backupVault(world.config, 'us-west-2'),
      SHOP(),
      snap.snapshotId,
    );
    const s = SHOP();
    expect(manifest.objects.map((o) => o.key).sort()).toEqual([
      `api-keys/${s}-api-0-customer.json`,
      `api-keys/${s}-api-1-customer.json`,
      `apis/${s}-api-0.json`,
      `apis/${s}-api-1.json`,
      `domains/api-${world.config.naming.bucketPrefix}.example.com.json`,
      `usage-plans/${s}-api-0-gold.json`,
      `usage-plans/${s}-api-1-gold.json`,
    ]);
    expect(await regionDigest(world.config, 'us-east-1')).toBe(manifest.configDigest);

    const first = await restoreTo('us-west-2');
    expect(first.writes).toBeGreaterThan(20);
    expect(await regionDigest(world.config, 'us-west-2')).toBe(manifest.configDigest);

    const second = await restoreTo('us-west-2');
    expect(second.result.objectsWritten).toBe(0);
    expect(second.writes).toBe(0);
  });

  it('keeps every tag and rewrites region-bound references for the target region', async () => {
    await snapshot();
    await restoreTo('us-west-2');
    const [restored] = (await apisNamed('us-west-2')).filter((a) => a.name === `${SHOP()}-api-0`);
    expect(restored?.tags).toEqual({ 'lifeboat:instance': SHOP(), team: 'payments' });
    const resources = await plane('us-west-2').call<{
      items?: {
        path?: string;
        resourceMethods?: Record<string, { methodIntegration?: { uri?: string } }>;
      }[];
    }>(
      'GetResources',
      new GetResourcesCommand({ restApiId: restored?.id as string, embed: ['methods'] }),
    );
    const uris = (resources.items ?? []).flatMap((r) =>
      Object.values(r.resourceMethods ?? {}).flatMap((m) => m.methodIntegration?.uri ?? []),
    );
    expect(uris.length).toBeGreaterThan(0);
    for (const uri of uris) {
      expect(uri).toContain('arn:aws:apigateway:us-west-2:lambda');
      expect(uri).not.toContain('us-east-1');
    }
    const mappings = await plane('us-west-2').call<{
      items?: { restApiId?: string; stage?: string }[];
    }>(
      'GetBasePathMappings',
      new GetBasePathMappingsCommand({ domainName: sample.domainName as string }),
    );
    expect(mappings.items).toEqual([
      expect.objectContaining({ restApiId: restored?.id, stage: 'prod' }),
    ]);
    const plans = await plane('us-west-2').call<{
      items?: { name?: string; apiStages?: { apiId?: string }[] }[];
    }>('GetUsagePlans', new GetUsagePlansCommand({}));
    const gold = plans.items?.find((p) => p.name === `${SHOP()}-api-0-gold`);
    expect(gold?.apiStages?.map((s) => s.apiId)).toEqual([restored?.id]);
  });

  it('names the restored API and the target region in its policy and authorizer, and restores a domain without a certificate', async () => {
    const source = plane('us-east-1');
    const [api] = (await apisNamed('us-east-1')).filter((a) => a.name === `${SHOP()}-api-1`);
    const sourceId = api?.id as string;
    await source.call(
      'UpdateRestApi',
      new UpdateRestApiCommand({
        restApiId: sourceId,
        patchOperations: [
          {
            op: 'replace',
            path: '/policy',
            value: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: '*',
                  Action: 'execute-api:Invoke',
                  Resource: `arn:aws:execute-api:us-east-1:123456789012:${sourceId}/prod/GET/*`,
                },
              ],
            }),
          },
        ],
      }),
    );
    const plainDomain = `plain-${world.config.naming.bucketPrefix}.example.com`;
    await source.call(
      'CreateDomainName',
      new CreateDomainNameCommand({
        domainName: plainDomain,
        endpointConfiguration: { types: ['REGIONAL'] },
      }),
    );
    await source.call(
      'CreateBasePathMapping',
      new CreateBasePathMappingCommand({
        domainName: plainDomain,
        restApiId: sourceId,
        stage: 'prod',
      }),
    );
    await snapshot();
    await restoreTo('us-west-2');

    const [restored] = (await apisNamed('us-west-2')).filter((a) => a.name === `${SHOP()}-api-1`);
    const restoredApi = await plane('us-west-2').call<{ policy?: string }>(
      'GetRestApi',
      new GetRestApiCommand({ restApiId: restored?.id as string }),
    );
    const policy = String(restoredApi.policy);
    expect(policy).toContain(
      `arn:aws:execute-api:us-west-2:123456789012:${restored?.id}/prod/GET/*`,
    );
    expect(policy).not.toContain(sourceId);
    const authorizers = await plane('us-west-2').call<{ items?: { authorizerUri?: string }[] }>(
      'GetAuthorizers',
      new GetAuthorizersCommand({ restApiId: restored?.id as string }),
    );
    expect(authorizers.items?.map((a) => a.authorizerUri)).toEqual([
      'arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/arn:aws:lambda:us-west-2:123456789012:function:authorizer/invocations',
    ]);
    const mapped = await plane('us-west-2').call<{ items?: { restApiId?: string }[] }>(
      'GetBasePathMappings',
      new GetBasePathMappingsCommand({ domainName: plainDomain }),
    );
    expect(mapped.items?.map((m) => m.restApiId)).toEqual([restored?.id]);
  });

  it('heals a drifted target: a deleted method and changed stage variables come back', async () => {
    const snap = await snapshot();
    await restoreTo('us-west-2');
    const [restored] = (await apisNamed('us-west-2')).filter((a) => a.name === `${SHOP()}-api-1`);
    const restApiId = restored?.id as string;
    const resources = await plane('us-west-2').call<{ items?: { id?: string; path?: string }[] }>(
      'GetResources',
      new GetResourcesCommand({ restApiId }),
    );
    const resourceId = resources.items?.find((r) => r.path === '/items1/{id}')?.id as string;
    await plane('us-west-2').call(
      'DeleteMethod',
      new DeleteMethodCommand({ restApiId, resourceId, httpMethod: 'POST' }),
    );
    await plane('us-west-2').call(
      'UpdateStage',
      new UpdateStageCommand({
        restApiId,
        stageName: 'prod',
        patchOperations: [
          { op: 'replace', path: '/variables/backend', value: 'green' },
          { op: 'remove', path: '/variables/version' },
          { op: 'replace', path: '/variables/extra', value: 'x' },
        ],
      }),
    );
    const manifest = await readManifest(
      backupVault(world.config, 'us-west-2'),
      SHOP(),
      snap.snapshotId,
    );
    expect(await regionDigest(world.config, 'us-west-2')).not.toBe(manifest.configDigest);

    const healed = await restoreTo('us-west-2');
    expect(healed.result.objectsWritten).toBe(1);
    expect(await regionDigest(world.config, 'us-west-2')).toBe(manifest.configDigest);
  });

  it('never holds an API key value or an integration credential in the clear in any backup object or version', async () => {
    await snapshot('20261202T010000Z');
    await snapshot('20261202T020000Z');
    const objects = await backupPlaintexts(world.config);
    expect(objects.length).toBeGreaterThan(10);
    // Self-check: the scan reads compressed documents (an API name is in a pack).
    expect(objects.some((o) => o.text.includes(`${SHOP()}-api-0-gold`))).toBe(true);
    expect(sample.backendCredentials.length).toBeGreaterThan(0);
    for (const value of [...sample.keyValues, ...sample.backendCredentials]) {
      for (const form of clearForms(value)) {
        const leaks = objects.filter((o) => o.text.includes(form)).map((o) => o.key);
        expect(leaks, `${form} found`).toEqual([]);
      }
    }
  });

  it("restores an integration's static credential in the clear on the target, where its backend needs it", async () => {
    await snapshot();
    await restoreTo('us-west-2');
    const target = plane('us-west-2');
    const apis = await target.call<{ items?: { id?: string; name?: string }[] }>(
      'GetRestApis',
      new GetRestApisCommand({}),
    );
    const sent: string[] = [];
    for (const api of (apis.items ?? []).filter((a) => a.name?.startsWith(`${SHOP()}-api-`))) {
      const resources = await target.call<{ items?: Resource[] }>(
        'GetResources',
        new GetResourcesCommand({ restApiId: api.id as string, embed: ['methods'] }),
      );
      for (const resource of resources.items ?? [])
        for (const method of Object.values(resource.resourceMethods ?? {})) {
          const value =
            method.methodIntegration?.requestParameters?.['integration.request.header.x-api-key'];
          if (value) sent.push(value);
        }
    }
    expect(sent.sort()).toEqual(sample.backendCredentials.map((c) => `'${c}'`).sort());
  });

  it('restores API key values through the key ring in the target region', async () => {
    await snapshot();
    await restoreTo('us-west-2');
    const keys = await plane('us-west-2').call<{ items?: { name?: string; value?: string }[] }>(
      'GetApiKeys',
      new GetApiKeysCommand({ includeValues: true }),
    );
    const restored = (keys.items ?? [])
      .filter((k) => k.name?.startsWith(`${SHOP()}-api-`))
      .map((k) => k.value)
      .sort();
    expect(restored).toEqual([...sample.keyValues].sort());
  });

  it('leaves non-members alone and makes each name appear once after repeated restores', async () => {
    await plane('us-east-1').call(
      'CreateRestApi',
      new CreateRestApiCommand({ name: 'untagged-api' }),
    );
    await plane('us-east-1').call(
      'CreateRestApi',
      new CreateRestApiCommand({ name: 'other-api', tags: { 'lifeboat:instance': 'other' } }),
    );
    await plane('us-west-2').call(
      'CreateRestApi',
      new CreateRestApiCommand({ name: 'west-local', tags: { 'lifeboat:instance': 'other' } }),
    );
    await snapshot();
    for (let i = 0; i < 3; i++) await restoreTo('us-west-2');
    const s = SHOP();
    const mine = (names: (string | undefined)[]) =>
      names.filter((n) => n?.startsWith(`${s}-`)).sort();
    expect(mine((await apisNamed('us-west-2')).map((a) => a.name))).toEqual([
      `${s}-api-0`,
      `${s}-api-1`,
    ]);
    expect((await apisNamed('us-west-2')).filter((a) => a.name === 'west-local')).toHaveLength(1);
    expect((await apisNamed('us-west-2')).filter((a) => a.name === 'untagged-api')).toHaveLength(0);
    const plans = await plane('us-west-2').call<{ items?: { name?: string }[] }>(
      'GetUsagePlans',
      new GetUsagePlansCommand({}),
    );
    expect(mine((plans.items ?? []).map((p) => p.name))).toEqual([
      `${s}-api-0-gold`,
      `${s}-api-1-gold`,
    ]);
    const keys = await plane('us-west-2').call<{ items?: { name?: string }[] }>(
      'GetApiKeys',
      new GetApiKeysCommand({}),
    );
    expect(mine((keys.items ?? []).map((k) => k.name))).toEqual([
      `${s}-api-0-customer`,
      `${s}-api-1-customer`,
    ]);
  });

  it('refuses a restore whose certificate has no mapping for the target, before any write', async () => {
    await snapshot();
    await expect(restoreTo('eu-west-1', 'us-east-2')).rejects.toBeInstanceOf(
      MissingRegionMappingError,
    );
    await expect(restoreTo('eu-west-1', 'us-east-2')).rejects.toThrow(/shop-cert|access-logs/);
    expect(
      (await apisNamed('eu-west-1')).filter((a) => a.tags?.['lifeboat:instance'] === SHOP()),
    ).toEqual([]);
  });

  it('passes verify in every replica region after a snapshot', async () => {
    const snap = await snapshot();
    for (const region of ['us-east-1', 'us-east-2', 'us-west-2']) {
      const report = await verifySnapshot({
        vault: backupVault(world.config, region),
        instanceId: SHOP(),
      });
      expect(report.ok, region).toBe(true);
      expect(report.snapshotId).toBe(snap.snapshotId);
    }
  });

  it('uploads nothing for an unchanged instance on the next snapshot', async () => {
    await snapshot('20261202T010000Z');
    const second = await snapshot('20261202T020000Z');
    expect(second.committed).toBe(true);
    expect(second.packsUploaded).toBe(0);
  });

  it('restores one API and only what refers to it alone with a partial restore', async () => {
    await snapshot();
    const vault = backupVault(world.config, 'us-west-2');
    const { objects } = await readSnapshotObjects({ vault, instanceId: SHOP() });
    const only = partialRestoreKeys(objects, `${SHOP()}-api-1`);
    expect([...only].sort()).toEqual([
      `api-keys/${SHOP()}-api-1-customer.json`,
      `apis/${SHOP()}-api-1.json`,
      `usage-plans/${SHOP()}-api-1-gold.json`,
    ]);
    const target = apiGatewayStore(world.config, 'us-west-2');
    await restoreSnapshot({ vault, instanceId: SHOP(), target, only });
    const listed = (await instanceStore(world.config, 'us-west-2').list(SHOP()))
      .map((e) => e.key)
      .sort();
    expect(listed).toEqual([...only].sort());
  });

  it('names the document that drifted between two regions and reports none once healed', async () => {
    await snapshot();
    await restoreTo('us-west-2');
    const regions = ['us-east-1', 'us-west-2'].map((region) => ({
      region,
      store: instanceStore(world.config, region),
    }));
    expect((await compareRegions(SHOP(), regions)).inSync).toBe(true);

    const [restored] = (await apisNamed('us-west-2')).filter((a) => a.name === `${SHOP()}-api-0`);
    await plane('us-west-2').call(
      'UpdateStage',
      new UpdateStageCommand({
        restApiId: restored?.id as string,
        stageName: 'prod',
        patchOperations: [{ op: 'replace', path: '/variables/backend', value: 'green' }],
      }),
    );
    const drift = await compareRegions(SHOP(), regions);
    expect(drift.inSync).toBe(false);
    expect(drift.documents).toEqual([
      { key: `apis/${SHOP()}-api-0.json`, differs: ['us-west-2'], missing: [], extra: [] },
    ]);
  });
});
