import { describe, expect, it } from 'vitest';
import { regionStateKey } from '../../../../../shared/domain/detection/detect.ts';
import { collectStatus } from '../../../../../shared/domain/recovery/status.ts';
import { MINUTE } from '../../../../fakes/clock.ts';
import { recoveryWorld } from '../../../../worlds/recovery.ts';

describe('collectStatus', () => {
  it('reports the recovered instance, its reservation, weights and snapshots after a recovery', async () => {
    const world = recoveryWorld();
    const run = await world.recover();

    const report = await collectStatus(world.deps, 'us-west-2', null);

    expect(report.instances).toEqual([
      expect.objectContaining({
        instanceId: 'petstore',
        runsIn: ['us-east-2'],
        state: 'recovered',
        generation: 1,
        latest: expect.objectContaining({ runId: run.runId, status: 'completed' }),
        dns: {
          recordName: 'petstore.api.example.com',
          weights: { 'us-east-1': 0, 'us-east-2': 100, 'us-west-2': 0, 'eu-west-1': 0 },
        },
      }),
    ]);
    const snapshots = report.instances[0]?.snapshots ?? [];
    expect(snapshots.find((s) => s.region === 'us-east-1')?.error).toBeDefined();
    expect(snapshots.find((s) => s.region === 'us-east-2')?.ageSeconds).toBe(5 * 60);
    expect(report.regions.find((r) => r.region === 'us-east-2')).toMatchObject({
      capacity: 4,
      home: 0,
      reserved: 1,
      free: 3,
      reservations: [{ slot: 0, runId: 'petstore-g1', instanceId: 'petstore' }],
    });
    expect(report.regions.find((r) => r.region === 'us-east-1')?.error).toMatch(
      /^control bucket unreachable/,
    );
  });

  it('reads the detector states from the next bucket when the acting region does not answer', async () => {
    const world = recoveryWorld();
    await world.bucket('us-east-1').save(
      regionStateKey('us-east-1'),
      {
        status: 'outage',
        statusSince: '2026-11-25T05:00:00Z',
        degradedZones: { 'us-east-1a': 1 },
      },
      undefined,
    );
    world.bucket('us-west-2').unreachable = true;

    const report = await collectStatus(world.deps, 'us-west-2', new Set<string>());

    expect(report.detectorView).toBe('us-east-1');
    expect(report.regions[0]?.detector).toEqual({
      status: 'outage',
      since: '2026-11-25T05:00:00Z',
      degradedZones: ['us-east-1a'],
    });
    expect(report.instances).toEqual([]);
  });

  it('reports the DNS error rather than failing when Route 53 does not answer', async () => {
    const world = recoveryWorld();
    world.dns.unreachable = true;
    world.clock.advance(MINUTE);

    const report = await collectStatus(world.deps, 'us-west-2', null);

    expect(report.instances[0]?.state).toBe('home');
    expect(report.instances[0]?.dns.error).toBeDefined();
    expect(report.instances[0]?.dns.weights).toBeUndefined();
  });

  it('reports an active-active instance whose regions drifted, naming the document', async () => {
    const world = recoveryWorld({
      instances: [{ id: 'payments', activeRegions: ['us-east-1', 'us-west-2'] }],
    });
    for (const region of ['us-east-1', 'us-west-2']) {
      world.store(region).seed('payments', 'apis/pay.json', '{"v":1}');
      world.store(region).seed('payments', 'apis/refund.json', '{"v":1}');
    }
    const inStep = await collectStatus(world.deps, 'us-west-2', null);
    expect(inStep.instances[0]?.drift).toEqual({ inSync: true, documents: [], unreachable: [] });

    world.store('us-west-2').seed('payments', 'apis/refund.json', '{"v":2}');
    const drifted = await collectStatus(world.deps, 'us-west-2', null);
    expect(drifted.instances[0]?.drift).toEqual({
      inSync: false,
      documents: ['apis/refund.json'],
      unreachable: [],
    });
  });

  it('reports no drift field for an instance that does not run active-active', async () => {
    const world = recoveryWorld();
    const report = await collectStatus(world.deps, 'us-west-2', null);
    expect(report.instances[0]?.drift).toBeUndefined();
  });
});
