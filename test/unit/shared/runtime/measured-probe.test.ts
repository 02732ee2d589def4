import { describe, expect, it } from 'vitest';
import type {
  HealthProbe,
  ProbeResponse,
  ProbeTarget,
} from '../../../../shared/domain/detection/probe.ts';
import { measuredProbe } from '../../../../shared/runtime/measured-probe.ts';

const targets: ProbeTarget[] = [
  { instanceId: 'shop', region: 'us-east-1', zone: '*', url: 'http://127.0.0.1:4001/' },
  { instanceId: 'shop', region: 'eu-west-1', zone: 'euw1-az1', url: 'http://127.0.0.1:4002' },
];

/** A probe that answers each URL with what `answers` says (a 200 in 5 ms otherwise). */
function scripted(answers: Record<string, ProbeResponse>): HealthProbe {
  return { check: async (url) => answers[url] ?? { status: 200, latencyMs: 5 } };
}

describe('measuredProbe', () => {
  it("returns the port's own response and samples it when a target is checked", async () => {
    const measured = measuredProbe(
      scripted({ 'http://127.0.0.1:4001/': { status: 503, latencyMs: 40 } }),
      targets,
    );
    expect(await measured.probe.check('http://127.0.0.1:4001/', 1000)).toEqual({
      status: 503,
      latencyMs: 40,
    });
    expect(measured.samples).toEqual([
      { instanceId: 'shop', region: 'us-east-1', latencyMs: 40, ok: false },
    ]);
  });

  it("matches a check to the target it extends when the health path is added to the target's URL", async () => {
    const measured = measuredProbe(scripted({}), targets);
    await measured.probe.check('http://127.0.0.1:4002/health?deep=1', 1000);
    await measured.probe.check('http://127.0.0.1:4001/health', 1000);
    expect(measured.samples.map((s) => [s.region, s.ok])).toEqual([
      ['eu-west-1', true],
      ['us-east-1', true],
    ]);
  });

  it('samples nothing when the URL only shares a prefix with a target', async () => {
    const measured = measuredProbe(scripted({}), targets);
    await measured.probe.check('http://127.0.0.1:40021/health', 1000);
    await measured.probe.check('http://example.test/', 1000);
    expect(measured.samples).toEqual([]);
  });

  it('counts a check as failed when it errored, even with a 2xx status', async () => {
    const measured = measuredProbe(
      scripted({ 'http://127.0.0.1:4002': { status: 204, error: 'reset', latencyMs: 9 } }),
      targets,
    );
    await measured.probe.check('http://127.0.0.1:4002', 1000);
    expect(measured.samples).toEqual([
      { instanceId: 'shop', region: 'eu-west-1', latencyMs: 9, ok: false },
    ]);
  });
});
