import { describe, expect, inject, it } from 'vitest';
import { useLocalEndpoint } from '../../bin/commands/local.ts';
import type { DrillInstanceKind } from '../../local/drill/kinds.ts';
import { runDrill, type Scenario } from '../../local/drill/run-drill.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../shared/config/load.ts';

async function drill(scenario: Scenario, instanceKind: DrillInstanceKind = 'object-store') {
  const endpoint = inject('motoEndpoint');
  useLocalEndpoint(endpoint);
  return runDrill(loadConfig(DEFAULT_CONFIG_PATH), {
    scenario,
    regions: 4,
    instances: 1,
    seed: 7,
    endpoint,
    instanceKind,
    log: () => undefined,
  });
}

describe('the drill', () => {
  it('recovers, serves, keeps outage writes and fails back when a whole region goes down', async () => {
    const report = await drill('region-outage');

    expect(report.invariants.filter((i) => !i.held)).toEqual([]);
    expect(report.outcome).toBe('passed');
    expect(report.recoveries).toBe(1);
    const [petstore] = report.instances;
    expect(petstore).toMatchObject({
      id: 'petstore',
      homeRegion: 'us-east-1',
      recoveredTo: 'us-east-2',
    });
    expect(petstore?.rtoSeconds).toBeGreaterThan(0);
    expect(petstore?.rpoSeconds).toBeGreaterThan(0);
    expect(petstore?.writesDuringOutage).toBeGreaterThan(0);
    expect(petstore?.writesLostAfterFailback).toBe(0);
    expect(report.dns.petstore).toMatchObject({
      before: { 'us-east-1': 100, 'us-east-2': 0 },
      afterRecovery: { 'us-east-1': 0, 'us-east-2': 100 },
      afterFailback: { 'us-east-1': 100, 'us-east-2': 0 },
    });
    const kinds = report.timeline.map((e) => e.kind);
    for (const kind of [
      'fault',
      'Region Outage Confirmed',
      'Recovery Completed',
      'Region Recovered',
      'Failback Completed',
    ]) {
      expect(kinds).toContain(kind);
    }
    // Every canary step of the failback is a weight change of its own.
    const home = report.weightsOverTime
      .filter((w) => w.instanceId === 'petstore')
      .map((w) => w.weights['us-east-1']);
    expect(home).toEqual(expect.arrayContaining([10, 50, 100, 0]));
    // Run events carry their step's recorded time, so they are no longer one pile.
    const runEvents = report.timeline.filter((e) => e.timeFrom === 'step');
    expect(runEvents.length).toBeGreaterThanOrEqual(4);
    expect(new Set(runEvents.map((e) => e.at)).size).toBeGreaterThan(1);
    const bandKinds = report.bands.filter((b) => b.instanceId === 'petstore').map((b) => b.kind);
    for (const kind of ['outage', 'detection', 'recovery', 'failback', 'rpo'])
      expect(bandKinds).toContain(kind);
    expect(report.markers.map((m) => m.label).join()).toContain('RTO');
  });

  it('reports a zone outage as degraded and never fails over', async () => {
    const report = await drill('zone-outage');

    expect(report.outcome).toBe('passed');
    expect(report.recoveries).toBe(0);
    expect(report.timeline.map((e) => e.kind)).toContain('Zone Degraded');
    expect(report.dns.petstore?.afterRecovery).toEqual(report.dns.petstore?.before);
  });

  it('never fails over while the region flaps faster than the detection window', async () => {
    const report = await drill('flapping');

    expect(report.outcome).toBe('passed');
    expect(report.recoveries).toBe(0);
    expect(report.timeline.filter((e) => e.kind === 'Region Outage Confirmed')).toEqual([]);
  });

  it('fails an API Gateway instance over and back, carrying home every control-plane write made during the outage', async () => {
    const report = await drill('region-outage', 'apigateway');

    expect(report.invariants.filter((i) => !i.held)).toEqual([]);
    expect(report.outcome).toBe('passed');
    const [instance] = report.instances;
    expect(instance).toMatchObject({ homeRegion: 'us-east-1', recoveredTo: 'us-east-2' });
    // A new resource and method, a changed stage variable, a new key in a plan.
    expect(instance?.writesDuringOutage).toBe(3);
    expect(instance?.writesLostAfterFailback).toBe(0);
    // moto is unpaced: the report projects the restore, and so the RTO, at AWS's limits.
    expect(instance?.restoreOnAws?.projectedSeconds).toBeGreaterThan(
      instance?.restoreOnAws?.measuredSeconds ?? Number.POSITIVE_INFINITY,
    );
    expect(instance?.rtoOnAwsSeconds).toBeGreaterThan(
      instance?.rtoSeconds ?? Number.POSITIVE_INFINITY,
    );
    expect(report.dns[instance?.id as string]?.afterFailback).toMatchObject({ 'us-east-1': 100 });
  });
});
