import { describe, expect, it } from 'vitest';
import {
  type HealthProbe,
  type ProbeResponse,
  type ProbeTarget,
  probeRound,
  runProbes,
} from '../../../../../shared/domain/detection/probe.ts';
import { DetailType } from '../../../../../shared/domain/events.ts';
import { FakeClock, SECOND } from '../../../../fakes/clock.ts';
import { RecordingEventBus } from '../../../../fakes/event-bus.ts';

const TARGETS: ProbeTarget[] = [
  { instanceId: 'petstore', region: 'us-east-1', zone: 'use1-az1', url: 'http://a.test' },
  { instanceId: 'petstore', region: 'eu-west-1', zone: 'euw1-az1', url: 'http://b.test/' },
];

/** Answers every check after `latencyMs` of fake time; `down` lists URLs that fail. */
function fakeProbe(clock: FakeClock, latencyMs: number, down: string[] = []) {
  const checked: string[] = [];
  const probe: HealthProbe = {
    async check(url: string): Promise<ProbeResponse> {
      checked.push(url);
      clock.advance(latencyMs);
      if (down.some((d) => url.startsWith(d))) return { error: 'ECONNREFUSED', latencyMs };
      return { status: 200, body: { instanceId: 'petstore' }, latencyMs };
    },
  };
  return { probe, checked };
}

function setUp(options: { latencyMs?: number; intervalSeconds: number; down?: string[] }) {
  const clock = new FakeClock('2026-11-25T06:00:00Z');
  const bus = new RecordingEventBus();
  const { probe, checked } = fakeProbe(clock, options.latencyMs ?? 0, options.down);
  const waits: number[] = [];
  const input = {
    vantage: 'us-west-2',
    targets: TARGETS,
    probe,
    bus,
    clock,
    wait: async (ms: number) => {
      waits.push(ms);
      clock.advance(ms);
    },
    intervalSeconds: options.intervalSeconds,
    timeoutMs: 2000,
    invocationSeconds: 60,
  };
  return { input, bus, checked, waits, clock };
}

describe('runProbes', () => {
  it('runs one round per interval for the schedule period when the interval is shorter', async () => {
    const { input, bus, checked, waits } = setUp({ intervalSeconds: 10, latencyMs: 300 });
    const summary = await runProbes(input);
    expect(summary).toMatchObject({ vantage: 'us-west-2', rounds: 6, observations: 12 });
    expect(summary.failures).toEqual([]);
    expect(checked).toHaveLength(12);
    expect(checked[0]).toBe('http://a.test/health');
    expect(checked[1]).toBe('http://b.test/health');
    // Each wait makes up the rest of the interval after the round's own probing time.
    expect(waits).toEqual([9400, 9400, 9400, 9400, 9400]);
    const published = bus.details<{ vantage: string; observations: unknown[] }>(
      DetailType.HealthObserved,
    );
    expect(published).toHaveLength(6);
    expect(published.every((d) => d.vantage === 'us-west-2' && d.observations.length === 2)).toBe(
      true,
    );
  });

  it('runs a single round when the interval is the schedule period or longer', async () => {
    const { input, bus, waits } = setUp({ intervalSeconds: 60 });
    const summary = await runProbes(input);
    expect(summary.rounds).toBe(1);
    expect(waits).toEqual([]);
    expect(bus.events).toHaveLength(1);
  });

  it('stops before a round that could not finish by the deadline when probes are slow', async () => {
    // 20 s per check, two targets: each round takes 40 s, so the second one would start at
    // 40 s and its 2 s timeout still fits; a third would start at 80 s, past the 60 s deadline.
    const { input, clock } = setUp({ intervalSeconds: 10, latencyMs: 20 * SECOND });
    const started = clock.peek().getTime();
    const summary = await runProbes(input);
    expect(summary.rounds).toBe(2);
    expect(clock.peek().getTime() - started).toBe(80 * SECOND);
  });

  it('lists each failing endpoint once per round when an endpoint is down', async () => {
    const { input } = setUp({ intervalSeconds: 30, down: ['http://b.test'] });
    const summary = await runProbes(input);
    expect(summary.rounds).toBe(2);
    expect(summary.failures).toEqual([
      { target: 'eu-west-1', zone: 'euw1-az1', instanceId: 'petstore', error: 'ECONNREFUSED' },
      { target: 'eu-west-1', zone: 'euw1-az1', instanceId: 'petstore', error: 'ECONNREFUSED' },
    ]);
  });
});

describe('probeRound', () => {
  it("stamps every observation with the round's instant when the checks start one after another", async () => {
    // Each check takes 300 ms of fake time before the next one starts: stamped one by one, the
    // round's two observations would lie 300 ms apart and read as two probe instants.
    const { input, clock } = setUp({ intervalSeconds: 10, latencyMs: 300 });
    const started = clock.peek().toISOString();
    const observations = await probeRound(input);
    expect(observations.map((o) => o.at)).toEqual([started, started]);
    expect(clock.peek().getTime() - Date.parse(started)).toBe(600);
  });
});
