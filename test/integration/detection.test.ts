import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildDetectOutageHandler,
  detectorDepsFor,
} from '../../functions/detect-outage/handler.ts';
import { probe, probeDepsFor } from '../../functions/probe/handler.ts';
import { EventPump } from '../../local/event-pump.ts';
import { InstanceRuntime } from '../../local/instance-runtime.ts';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { controlDocuments, eventBus, instanceStore } from '../../shared/composition.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { regionStateKey } from '../../shared/domain/detection/detect.ts';
import { EventValidationError } from '../../shared/errors.ts';
import { subscribe } from '../support/bus.ts';
import { createMotoWorld, type MotoWorld } from '../worlds/moto.ts';

const context = { functionName: 'detectOutage', awsRequestId: 'test' } as Context;
const DETECTOR_REGION = 'us-west-2';
const VANTAGES = ['us-east-2', 'us-west-2', 'eu-west-1'];
const INTERVAL = 0.4;

let world: MotoWorld;
let runtime: InstanceRuntime;
let config: LifeboatConfig;
let pump: EventPump;

/** The test world, with petstore's us-east-1 endpoints pointing at a real runtime per zone. */
beforeEach(async () => {
  world = await createMotoWorld();
  await seedInstance(
    instanceStore(world.config, 'us-east-1'),
    'petstore',
    sampleInstanceObjects({ apis: 3 }),
  );
  runtime = new InstanceRuntime({
    instanceId: 'petstore',
    region: 'us-east-1',
    zones: ['us-east-1a', 'us-east-1b'],
    store: instanceStore(world.config, 'us-east-1'),
  });
  await runtime.start();
  const urls = runtime.urls();
  const raw = JSON.parse(JSON.stringify(world.config));
  raw.detection = {
    intervalSeconds: INTERVAL,
    failureThreshold: 5,
    recoverySeconds: 3,
    quorum: 3,
    probeTimeoutMs: 300,
  };
  raw.instances[0].endpoints = { 'us-east-1': { url: urls['us-east-1a'], zones: urls } };
  config = parseConfig(raw, 'detection test');
  pump = new EventPump(world.endpoint, `${config.naming.bucketPrefix}-pump`);
  const detect = buildDetectOutageHandler(() =>
    detectorDepsFor(config, { LIFEBOAT_REGION: DETECTOR_REGION }),
  );
  await pump.subscribe({
    name: 'detect',
    region: DETECTOR_REGION,
    bus: config.naming.eventBusName,
    pattern: { source: ['lifeboat'], 'detail-type': ['Health Observed'] },
    handler: (event) => detect(event, context),
  });
});

afterEach(async () => {
  await pump.close();
  await runtime.stop();
  await world.close();
});

/**
 * One probe round from every vantage, delivered through EventBridge to the detector. All
 * vantages publish to the detector region's bus, standing in for the cross-region forwarding
 * rules serverless.yml deploys.
 */
async function round(): Promise<void> {
  await Promise.all(
    VANTAGES.map((vantage) =>
      probe({
        ...probeDepsFor(config, { LIFEBOAT_REGION: vantage }),
        bus: eventBus(config, DETECTOR_REGION),
        invocationSeconds: INTERVAL,
      }),
    ),
  );
  await pump.drain();
  expect(pump.failures).toEqual([]);
}

async function rounds(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    await round();
    await sleep(INTERVAL * 1000);
  }
}

describe('outage detection against real endpoints', () => {
  it('reports a zone failure as "Zone Degraded" and never as an outage', async () => {
    const bus = await subscribe(config, DETECTOR_REGION, [
      'Zone Degraded',
      'Region Outage Confirmed',
    ]);
    await rounds(2);
    await runtime.stopZone('us-east-1a');

    await rounds(8);

    const events = await bus.received();
    expect(events.map((e) => e['detail-type'])).toEqual(['Zone Degraded']);
    expect(events[0]?.detail).toMatchObject({ region: 'us-east-1', zone: 'us-east-1a' });
  });

  it('confirms a region outage with its evidence, then recovery after sustained health', async () => {
    const bus = await subscribe(config, DETECTOR_REGION, [
      'Region Outage Confirmed',
      'Region Recovered',
    ]);
    await rounds(2);
    await runtime.stopZone('us-east-1a');
    await runtime.stopZone('us-east-1b');

    await rounds(8);
    const outage = await bus.received();

    expect(outage.map((e) => e['detail-type'])).toEqual(['Region Outage Confirmed']);
    const detail = outage[0]?.detail as {
      evidence: { vantages: { vantage: string; failures: unknown[] }[] };
    };
    expect(detail).toMatchObject({ region: 'us-east-1', confirmedBy: 'probe-quorum' });
    expect(detail.evidence.vantages.map((v) => v.vantage).sort()).toEqual([...VANTAGES].sort());
    expect(detail.evidence.vantages[0]?.failures).toHaveLength(2);

    await runtime.startZone('us-east-1a');
    await runtime.startZone('us-east-1b');
    await rounds(2);
    expect(await bus.received()).toEqual([]);
    await rounds(8);

    expect((await bus.received()).map((e) => e['detail-type'])).toEqual(['Region Recovered']);
  });

  it('never confirms an outage when the region flaps faster than the window', async () => {
    const bus = await subscribe(config, DETECTOR_REGION, ['Region Outage Confirmed']);
    for (let i = 0; i < 5; i += 1) {
      await runtime.stopZone('us-east-1a');
      await runtime.stopZone('us-east-1b');
      await rounds(2);
      await runtime.startZone('us-east-1a');
      await runtime.startZone('us-east-1b');
      await rounds(1);
    }

    expect(await bus.received()).toEqual([]);
  });

  it('rejects an observation about an unknown region and leaves the stored state unchanged', async () => {
    await rounds(1);
    const store = controlDocuments(config, DETECTOR_REGION);
    const before = await store.load(regionStateKey('us-east-1'));
    const detect = buildDetectOutageHandler(() =>
      detectorDepsFor(config, { LIFEBOAT_REGION: DETECTOR_REGION }),
    );
    const bad = {
      version: '0',
      id: 'x',
      'detail-type': 'Health Observed',
      source: 'lifeboat',
      account: '123456789012',
      time: new Date().toISOString(),
      region: DETECTOR_REGION,
      resources: [],
      detail: {
        vantage: 'us-east-2',
        observations: [
          {
            vantage: 'us-east-2',
            target: 'mars-north-1',
            zone: 'a',
            instanceId: 'petstore',
            ok: false,
            latencyMs: 1,
            at: new Date().toISOString(),
          },
        ],
      },
    };

    const attempt = detect(bad, context);

    await expect(attempt).rejects.toBeInstanceOf(EventValidationError);
    await expect(attempt).rejects.toThrow(
      /detail\.observations\[0\]\.target: unknown region "mars-north-1"/,
    );
    expect(await store.load(regionStateKey('us-east-1'))).toEqual(before);
  });
});
