import {
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeysCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
} from '@aws-sdk/client-api-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiGatewaySample } from '../../local/apigateway-sample.ts';
import {
  apiGatewayPlane,
  apiGatewayStore,
  backupVault,
  snapshotJob,
} from '../../shared/composition.ts';
import { findInstance } from '../../shared/config/load.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { readManifest } from '../../shared/domain/snapshot/catalog.ts';
import { restoreSnapshot } from '../../shared/domain/snapshot/restore.ts';
import { takeSnapshot } from '../../shared/domain/snapshot/take-snapshot.ts';
import { regionDigest, seedShop, shopId } from '../support/apigateway.ts';
import { createApiGatewayWorld } from '../worlds/apigateway.ts';
import type { MotoWorld } from '../worlds/moto.ts';

/**
 * A drifted target whose API key was made again with another value (a key rotated in the
 * recovered region): the restore puts the snapshot's value back, and the key stays in its
 * usage plan, so one restore brings the target to the snapshot's digest.
 */

const SNAPSHOT_ID = '20261202T010000Z';
let world: MotoWorld;
let sample: ApiGatewaySample;

beforeAll(async () => {
  world = await createApiGatewayWorld();
  sample = await seedShop(world, 'us-east-1', { apis: 1, resourcesPerApi: 1 });
});

afterAll(async () => {
  await world.close();
});

function restore() {
  const target = apiGatewayStore(world.config, 'us-west-2');
  return restoreSnapshot({
    vault: backupVault(world.config, 'us-west-2'),
    instanceId: shopId(world),
    target,
  });
}

describe('restoring API keys over a drifted target', () => {
  it('gives a key made again with another value its snapshot value back, still in its plan', async () => {
    const job = snapshotJob(world.config, findInstance(world.config, shopId(world)));
    await takeSnapshot({ ...job, snapshotId: SNAPSHOT_ID, clock: systemClock });
    const manifest = await readManifest(
      backupVault(world.config, 'us-west-2'),
      shopId(world),
      SNAPSHOT_ID,
    );
    await restore();
    expect(await regionDigest(world.config, 'us-west-2')).toBe(manifest.configDigest);

    // Rotate the key in the target: delete it, make it again with a new value, put it back
    // in its plan. The plan's document (keys by name) is unchanged; the key's is not.
    const plane = apiGatewayPlane(world.config, 'us-west-2');
    const keyName = `${shopId(world)}-api-0-customer`;
    const planName = `${shopId(world)}-api-0-gold`;
    const keys = await plane.call<{ items?: { id?: string; name?: string }[] }>(
      'GetApiKeys',
      new GetApiKeysCommand({}),
    );
    const old = keys.items?.find((k) => k.name === keyName);
    const plans0 = await plane.call<{ items?: { id?: string; name?: string }[] }>(
      'GetUsagePlans',
      new GetUsagePlansCommand({}),
    );
    const planId0 = plans0.items?.find((p) => p.name === planName)?.id as string;
    await plane.call(
      'DeleteUsagePlanKey',
      new DeleteUsagePlanKeyCommand({ usagePlanId: planId0, keyId: old?.id }),
    );
    await plane.call('DeleteApiKey', new DeleteApiKeyCommand({ apiKey: old?.id }));
    const rotated = await plane.call<{ id?: string }>(
      'CreateApiKey',
      new CreateApiKeyCommand({ name: keyName, enabled: true, value: 'ROTATEDVALUE000000001' }),
    );
    const plans = await plane.call<{ items?: { id?: string; name?: string }[] }>(
      'GetUsagePlans',
      new GetUsagePlansCommand({}),
    );
    const planId = plans.items?.find((p) => p.name === planName)?.id as string;
    await plane.call(
      'CreateUsagePlanKey',
      new CreateUsagePlanKeyCommand({ usagePlanId: planId, keyId: rotated.id, keyType: 'API_KEY' }),
    );
    expect(await regionDigest(world.config, 'us-west-2')).not.toBe(manifest.configDigest);

    await restore();

    const after = await plane.call<{ items?: { name?: string; value?: string }[] }>(
      'GetApiKeys',
      new GetApiKeysCommand({ includeValues: true }),
    );
    expect(after.items?.filter((k) => k.name === keyName).map((k) => k.value)).toEqual(
      sample.keyValues,
    );
    const planKeys = await plane.call<{ items?: { name?: string; value?: string }[] }>(
      'GetUsagePlanKeys',
      new GetUsagePlanKeysCommand({ usagePlanId: planId }),
    );
    expect(planKeys.items?.map((k) => [k.name, k.value])).toEqual([[keyName, sample.keyValues[0]]]);
    expect(await regionDigest(world.config, 'us-west-2')).toBe(manifest.configDigest);
  });
});
