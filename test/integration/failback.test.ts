import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { buildFailbackHandler } from '../../functions/failback/handler.ts';
import { instanceStore } from '../../shared/composition.ts';
import { reservedSlots } from '../../shared/domain/recovery/capacity.ts';
import type { DnsRouting } from '../../shared/domain/recovery/ports.ts';
import { driveRecovery, startRecovery } from '../../shared/domain/recovery/recovery-run.ts';
import { respondToOutage, respondToRecovery } from '../../shared/domain/recovery/respond.ts';
import { dnsSpecFor, loadRun } from '../../shared/domain/recovery/run-store.ts';
import { RecordingEventBus } from '../fakes/event-bus.ts';
import { createRecoveryWorld, HERE, type RecoveryWorld } from '../worlds/moto-recovery.ts';

const context = { functionName: 'failback', awsRequestId: 'test' } as Context;
let rw: RecoveryWorld;

afterEach(async () => {
  await rw?.close();
});

async function recoverPetstore() {
  await rw.failHome();
  const instance = rw.config.instances[0];
  if (!instance) throw new Error('no instance');
  const started = await startRecovery(rw.deps, {
    instance,
    failedRegion: 'us-east-1',
    claimant: 'detector-delivery',
    incident: {
      outageStartedAt: new Date(Date.now() - 90_000).toISOString(),
      confirmedAt: new Date().toISOString(),
    },
  });
  if (started.outcome !== 'started') throw new Error(`recovery did not start: ${started.outcome}`);
  return { instance, run: await driveRecovery(rw.deps, started.run) };
}

function recoveredEvent(id: string) {
  return {
    version: '0',
    id,
    'detail-type': 'Region Recovered',
    source: 'lifeboat',
    account: '123456789012',
    time: new Date().toISOString(),
    region: HERE,
    resources: [],
    detail: { region: 'us-east-1', recoveredAt: new Date().toISOString() },
  };
}

/**
 * The deployed path: the function gets "Region Recovered", fans it out, and each "Failback
 * Requested" it published is delivered back to it (as its second rule does on AWS).
 */
async function failBackThroughHandler(deliveryId: string) {
  const bus = new RecordingEventBus();
  const handler = buildFailbackHandler(() => ({ ...rw.deps, bus }));
  await handler(recoveredEvent(deliveryId), context);
  const responses = [];
  for (const [i, detail] of bus.details('Failback Requested').entries()) {
    const request = {
      ...recoveredEvent(`${deliveryId}-request-${i}`),
      'detail-type': 'Failback Requested',
      detail,
    };
    const result = await handler(request, context);
    if (!('instance' in result)) throw new Error('test: a request was fanned out again');
    responses.push(result.instance);
  }
  return responses;
}

async function writeThroughAdmin(url: string, key: string, body: string) {
  const response = await fetch(`${url}/admin/config/${key}`, { method: 'PUT', body });
  return response.status;
}

describe('failback', () => {
  it('brings the instance home with every write it accepted during the outage', async () => {
    rw = await createRecoveryWorld({ instances: ['petstore'] });
    const { instance, run } = await recoverPetstore();
    expect(run.target).toBe('us-east-2');
    const recoveredUrl = instance.endpoints['us-east-2']?.url as string;
    const writes = {
      'apis/added-during-outage.json': '{"added":true}\n',
      'plans/plan-0.json': '{"edited":true}\n',
    };
    for (const [key, body] of Object.entries(writes))
      expect(await writeThroughAdmin(recoveredUrl, key, body)).toBe(200);
    await rw.restoreHome();

    const [response] = await failBackThroughHandler('recovered-1');

    expect(response).toMatchObject({
      action: 'failback',
      status: 'completed',
      runId: 'petstore-g2',
    });
    const home = instanceStore(rw.config, 'us-east-1');
    for (const [key, body] of Object.entries(writes)) {
      const parts: Uint8Array[] = [];
      for await (const part of home.read('petstore', key)) parts.push(part);
      expect(Buffer.concat(parts).toString(), key).toBe(body);
    }
    expect(await rw.deps.dns.readWeights(dnsSpecFor(instance))).toMatchObject({
      'us-east-1': 100,
      'us-east-2': 0,
    });
    const failbackRun = await loadRun(
      rw.deps,
      'petstore-g2',
      rw.config.regions.map((r) => r.name),
    );
    expect((await rw.deps.instances.health('petstore', 'us-east-1')).configDigest).toBe(
      failbackRun?.snapshot?.configDigest,
    );
    // The recovered instance is fenced: a write now would be lost, so it is refused.
    expect(await writeThroughAdmin(recoveredUrl, 'apis/too-late.json', '{}')).toBe(409);
    expect(await reservedSlots(rw.deps.documents('us-east-2'), 'us-east-2', 2)).toEqual([]);
  });

  it('does nothing for a second "Region Recovered" once the instance is home', async () => {
    rw = await createRecoveryWorld({ instances: ['petstore'] });
    await recoverPetstore();
    await rw.restoreHome();
    await failBackThroughHandler('recovered-1');

    const [again] = await failBackThroughHandler('recovered-2');

    expect(again).toMatchObject({ action: 'none' });
  });

  it('rolls back to the recovered region when home health regresses during the canary', async () => {
    rw = await createRecoveryWorld({ instances: ['petstore'] });
    const { instance } = await recoverPetstore();
    await rw.restoreHome();
    // A real fault at the first canary step: home's listener closes right after 10% lands.
    const dns = rw.deps.dns;
    const faulty: DnsRouting = {
      readWeights: (spec) => dns.readWeights(spec),
      applyWeights: async (spec, weights) => {
        const result = await dns.applyWeights(spec, weights);
        if (weights['us-east-1'] === 10)
          await rw.runtime('petstore', 'us-east-1').stopZone('us-east-1a');
        return result;
      },
    };

    const [response] = await respondToRecovery(
      { ...rw.deps, dns: faulty },
      { deliveryId: 'r', region: 'us-east-1', recoveredAt: new Date().toISOString() },
    );

    expect(response).toMatchObject({ action: 'failback', status: 'failed' });
    expect(response && 'reason' in response ? response.reason : '').toMatch(
      /rolled back to us-east-2/,
    );
    expect(await dns.readWeights(dnsSpecFor(instance))).toMatchObject({
      'us-east-1': 0,
      'us-east-2': 100,
    });
    expect((await rw.deps.instances.health('petstore', 'us-east-2')).fenced).toBe(false);
    const run = await loadRun(
      rw.deps,
      'petstore-g2',
      rw.config.regions.map((r) => r.name),
    );
    expect(run).toMatchObject({ status: 'failed', failedStep: 'shift', rolledBack: true });
  });
});

describe('active-active', () => {
  it('drains the failed region without a restore and brings it back gradually', async () => {
    rw = await createRecoveryWorld({ instances: ['payments'], critical: ['payments'] });
    const instance = rw.config.instances[0];
    if (!instance) throw new Error('no instance');
    const spec = dnsSpecFor(instance);
    expect(await rw.deps.dns.readWeights(spec)).toMatchObject({ 'us-east-1': 50, 'us-west-2': 50 });
    await rw.failHome();

    const [drained] = await respondToOutage(rw.deps, {
      deliveryId: 'd',
      region: 'us-east-1',
      incidentId: 'i',
      outageStartedAt: new Date().toISOString(),
      confirmedAt: new Date().toISOString(),
    });

    expect(drained).toMatchObject({ action: 'drained' });
    expect(await rw.deps.dns.readWeights(spec)).toMatchObject({ 'us-east-1': 0, 'us-west-2': 100 });
    expect(await rw.deps.documents('us-west-2').load('runs/payments-g1.json')).toBeUndefined();

    await rw.restoreHome();
    const [returned] = await respondToRecovery(rw.deps, {
      deliveryId: 'r',
      region: 'us-east-1',
      recoveredAt: new Date().toISOString(),
    });

    expect(returned).toMatchObject({ action: 'returned' });
    const steps = returned && 'steps' in returned ? returned.steps : [];
    const homeShares = steps.map((w) => w['us-east-1'] ?? 0);
    expect(homeShares.length).toBeGreaterThan(1);
    expect(homeShares).toEqual([...homeShares].sort((a, b) => a - b));
    expect(await rw.deps.dns.readWeights(spec)).toMatchObject({ 'us-east-1': 50, 'us-west-2': 50 });
  });
});
