import { describe, expect, it } from 'vitest';
import { probe } from '../../../../functions/probe/handler.ts';
import { EmfMetrics } from '../../../../shared/adapters/emf-metrics.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../../shared/config/load.ts';
import type { HealthProbe } from '../../../../shared/domain/detection/probe.ts';
import { FakeClock } from '../../../fakes/clock.ts';
import { emfLines } from '../../../fakes/emf.ts';
import { RecordingEventBus } from '../../../fakes/event-bus.ts';

describe('probe metrics', () => {
  it('emits latency and failures per target with instance, region and vantage when it probes', async () => {
    const config = loadConfig(DEFAULT_CONFIG_PATH);
    const clock = new FakeClock('2026-11-25T06:00:00Z');
    const failing = config.instances[0]?.homeRegion as string;
    const checks: HealthProbe = {
      // The home region of the first instance answers 503 slowly; everything else 200 fast.
      check: async (url) =>
        [
          config.instances[0]?.endpoints[failing]?.url,
          ...Object.values(config.instances[0]?.endpoints[failing]?.zones ?? {}),
        ].some((u) => u && url.startsWith(u.replace(/\/+$/, '')))
          ? { status: 503, latencyMs: 900 }
          : { status: 200, latencyMs: 40 },
    };
    const docs = await emfLines(() =>
      probe({
        config,
        region: 'us-west-2',
        probe: checks,
        bus: new RecordingEventBus(),
        clock,
        wait: async (ms) => clock.advance(ms),
        invocationSeconds: config.detection.intervalSeconds,
        metrics: new EmfMetrics(),
      }),
    );
    const id = config.instances[0]?.id;
    const of = (name: string, region: string) =>
      docs.find((d) => name in d && d.instance === id && d.region === region);
    expect(of('ProbeFailures', failing)).toMatchObject({ vantage: 'us-west-2' });
    expect(of('ProbeFailures', failing)?.ProbeFailures).toBeGreaterThan(0);
    expect(of('ProbeLatency', failing)?.ProbeLatency).toBe(900);
    const healthy = Object.keys(config.instances[0]?.endpoints ?? {}).find((r) => r !== failing);
    expect(of('ProbeFailures', healthy as string)?.ProbeFailures).toBe(0);
    expect(of('ProbeLatency', healthy as string)?.ProbeLatency).toBe(40);
  });
});
