import { describe, expect, it } from 'vitest';
import { runSeed } from '../../sim/run-seed.ts';
import type { Scenario } from '../../sim/scenario.ts';
import type { TraceEntry } from '../../sim/trace.ts';

const MIN = 60_000;

/**
 * API Gateway's fence is a marker that its owners' pipelines check, so a deploy under way when
 * it goes up still lands (sim/truth.ts, `advisoryFenceLagMs`). Seed 4 pinned as in
 * simulator.test.ts: a nine-minute us-west-2 outage of petstore, recovered into us-east-2,
 * written to every 10 s, then its home returns and it fails back; no AWS faults.
 */
const SEED = 4;
const apiGatewayFailback =
  (fenceSettleSeconds: number, writerLagMs: number) =>
  (drawn: Scenario): Scenario => {
    const config = structuredClone(drawn.config);
    const petstore = config.instances.find((i) => i.id === 'petstore');
    if (!petstore) throw new Error('test: seed 4 has no petstore');
    petstore.kind = 'apigateway';
    petstore.apigateway = { references: {}, fenceSettleSeconds };
    return {
      ...drawn,
      config,
      kind: 'region-outage',
      faults: [
        { at: MIN, kind: 'region-down', region: drawn.subject, cause: 'outage' },
        { at: 10 * MIN, kind: 'region-up', region: drawn.subject },
      ],
      rates: { s3Error: 0, s3Timeout: 0, dnsError: 0, busError: 0, crash: 0 },
      duplicate: 0.2,
      writes: {
        from: 3 * MIN,
        until: 15 * MIN,
        every: 10_000,
        instanceId: 'petstore',
        fenceLagMs: writerLagMs,
      },
      endAt: 16 * MIN,
    };
  };

const pastFence = (trace: TraceEntry[]) =>
  trace.filter((e) => e.kind === 'write' && e.accepted && e.pastFence === true);
const failbacks = (trace: TraceEntry[]) =>
  trace.flatMap((e) => (e.kind === 'run' && e.runKind === 'failback' ? [e] : []));

describe('an API Gateway instance, whose fence its writers honour late', () => {
  it('carries home every write that outran the fence, when the writers see it within fenceSettleSeconds', async () => {
    const result = await runSeed(SEED, {
      scenario: apiGatewayFailback(30, 25_000),
      keepTrace: true,
    });

    expect(pastFence(result.trace).length).toBeGreaterThan(0);
    expect(failbacks(result.trace).at(-1)?.status).toBe('completed');
    expect(result.violations).toEqual([]);
  });

  it('rolls the canary back and loses nothing when writes land on the recovered copy after its final snapshot', async () => {
    // No settle time configured, so the final snapshot is taken while the pipeline still deploys.
    const result = await runSeed(SEED, {
      scenario: apiGatewayFailback(0, 25_000),
      keepTrace: true,
    });

    expect(pastFence(result.trace).length).toBeGreaterThan(0);
    expect(
      failbacks(result.trace).some((run) =>
        /took writes after its final snapshot/.test(run.reason ?? ''),
      ),
    ).toBe(true);
    expect(result.violations).toEqual([]);
  });

  it('is caught by no-write-lost when the recovered copy hides the writes that outran its fence', async () => {
    const result = await runSeed(SEED, {
      scenario: apiGatewayFailback(0, 25_000),
      mutate: (world) => {
        // A broken health check of the recovered copy (us-east-2): while fenced, it reports the
        // digest it had when the fence went up.
        const health = world.health.bind(world);
        const digestAtFence = new Map<number, string | null | undefined>();
        world.health = (id, region) => {
          const answer = health(id, region);
          const fencedAt = world.rt(id, region).fencedWhileServingAt;
          if (region !== 'us-east-2' || !answer.fenced || fencedAt === undefined) return answer;
          if (!digestAtFence.has(fencedAt)) digestAtFence.set(fencedAt, answer.configDigest);
          return { ...answer, configDigest: digestAtFence.get(fencedAt) };
        };
      },
    });

    expect(result.violations.map((v) => v.invariant)).toContain('no-write-lost');
  });
});
