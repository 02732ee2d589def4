import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetRestApisCommand, UpdateStageCommand } from '@aws-sdk/client-api-gateway';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { useLocalEndpoint } from '../../bin/commands/local.ts';
import { apiGatewayPlane } from '../../shared/composition.ts';
import { regionDigest, seedShop, shopId } from '../support/apigateway.ts';
import { createApiGatewayWorld } from '../worlds/apigateway.ts';
import type { MotoWorld } from '../worlds/moto.ts';

/*
 * The existing verbs on an API Gateway instance, through the real command line in its own
 * process, with --config and the endpoint from AWS_ENDPOINT_URL: what an operator types.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let world: MotoWorld;
let folder: string;
let configFile: string;

function lifeboat(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bin/lifeboat.ts', ...args, '--config', configFile],
      { cwd: ROOT, env: { ...process.env, AWS_ENDPOINT_URL: world.endpoint }, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  useLocalEndpoint(inject('motoEndpoint'));
  const route53 = new Route53Client({ region: 'us-east-1', endpoint: inject('motoEndpoint') });
  const zone = await route53.send(
    new CreateHostedZoneCommand({
      Name: 'example.com',
      CallerReference: `cli-apigw-${Date.now()}`,
    }),
  );
  world = await createApiGatewayWorld(undefined, {
    hostedZoneId: (zone.HostedZone?.Id ?? '').replace('/hostedzone/', ''),
  });
  folder = mkdtempSync(join(tmpdir(), 'lifeboat-cli-apigw-'));
  configFile = join(folder, 'lifeboat.config.yml');
  writeFileSync(configFile, JSON.stringify(world.config));
  await seedShop(world);
});

afterAll(async () => {
  await world.close();
  rmSync(folder, { recursive: true, force: true });
});

describe('lifeboat verbs on an apigateway instance', () => {
  it('snapshots, lists, verifies in every replica region, restores across regions and reports no drift', async () => {
    const id = shopId(world);
    const snap = await lifeboat('snapshot', '--instance', id);
    expect(snap.code, snap.stderr).toBe(0);
    const listed = await lifeboat('snapshots', '--instance', id);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/us-west-2/);
    for (const region of ['us-east-1', 'us-east-2', 'us-west-2']) {
      const verified = await lifeboat('verify', '--instance', id, '--region', region);
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      expect(verified.stdout).toMatch(/OK/);
    }
    const restored = await lifeboat(
      'restore',
      '--instance',
      id,
      '--from',
      'us-east-2',
      '--to',
      'us-west-2',
    );
    expect(restored.code, restored.stderr).toBe(0);
    expect(await regionDigest(world.config, 'us-west-2')).toBe(
      await regionDigest(world.config, 'us-east-1'),
    );
    const drift = await lifeboat(
      'drift',
      '--instance',
      id,
      '--region',
      'us-east-1',
      '--region',
      'us-west-2',
    );
    expect(drift.code, drift.stdout + drift.stderr).toBe(0);
    expect(drift.stdout).toMatch(/in sync/);
  });

  it('exits 1 naming the drifted document when a region changed, and 2 for a bad --api', async () => {
    const id = shopId(world);
    const plane = apiGatewayPlane(world.config, 'us-west-2');
    const apis = await plane.call<{ items?: { id?: string; name?: string }[] }>(
      'GetRestApis',
      new GetRestApisCommand({}),
    );
    const api = apis.items?.find((a) => a.name === `${id}-api-1`);
    await plane.call(
      'UpdateStage',
      new UpdateStageCommand({
        restApiId: api?.id as string,
        stageName: 'prod',
        patchOperations: [{ op: 'remove', path: '/variables/version' }],
      }),
    );
    const drift = await lifeboat(
      'drift',
      '--instance',
      id,
      '--region',
      'us-east-1',
      '--region',
      'us-west-2',
    );
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain(`apis/${id}-api-1.json: differs in us-west-2`);

    const bad = await lifeboat(
      'restore',
      '--instance',
      id,
      '--to',
      'us-west-2',
      '--from',
      'us-east-2',
      '--api',
      'nope',
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no REST API "nope"/);

    const one = await lifeboat(
      'restore',
      '--instance',
      id,
      '--to',
      'us-west-2',
      '--from',
      'us-east-2',
      '--api',
      `${id}-api-1`,
    );
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/1 written/);
    const healed = await lifeboat(
      'drift',
      '--instance',
      id,
      '--region',
      'us-east-1',
      '--region',
      'us-west-2',
    );
    expect(healed.code, healed.stdout).toBe(0);
  });

  it('plans a failover of its home region without writing anything', async () => {
    const plan = await lifeboat('plan', '--region', 'us-east-1');
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toContain(shopId(world));
    const status = await lifeboat('status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(shopId(world));
  });

  it('fails over out of a region that is down and fails back home with the write made during the outage', async () => {
    const id = shopId(world);
    const pre = await lifeboat('dns', 'precreate', '--approve');
    expect(pre.code, pre.stdout + pre.stderr).toBe(0);
    const homeDigest = await regionDigest(world.config, 'us-east-1');
    await world.proxies.get('us-east-1')?.down();

    const failover = await lifeboat(
      'failover',
      '--instance',
      id,
      '--from',
      'us-east-1',
      '--approve',
    );
    expect(failover.code, failover.stdout + failover.stderr).toBe(0);
    expect(await regionDigest(world.config, 'us-east-2')).toBe(homeDigest);

    // A write during the outage, through the recovered region's control plane.
    const plane = apiGatewayPlane(world.config, 'us-east-2');
    const apis = await plane.call<{ items?: { id?: string; name?: string }[] }>(
      'GetRestApis',
      new GetRestApisCommand({}),
    );
    const api = apis.items?.find((a) => a.name === `${id}-api-0`);
    await plane.call(
      'UpdateStage',
      new UpdateStageCommand({
        restApiId: api?.id as string,
        stageName: 'prod',
        patchOperations: [{ op: 'replace', path: '/variables/written', value: 'during-outage' }],
      }),
    );
    const recoveredDigest = await regionDigest(world.config, 'us-east-2');
    expect(recoveredDigest).not.toBe(homeDigest);

    await world.proxies.get('us-east-1')?.up();
    const failback = await lifeboat('failback', '--instance', id, '--approve');
    expect(failback.code, failback.stdout + failback.stderr).toBe(0);
    expect(await regionDigest(world.config, 'us-east-1')).toBe(recoveredDigest);
    const status = await lifeboat('status');
    expect(status.code, status.stderr).toBe(0);
  });
});
