import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFailbackHandler } from '../../../../functions/failback/handler.ts';
import { EventValidationError } from '../../../../shared/errors.ts';
import { logger } from '../../../../shared/observability.ts';
import { MINUTE } from '../../../fakes/clock.ts';
import { lambdaContext } from '../../../fakes/lambda-context.ts';
import { recoveryWorld } from '../../../worlds/recovery.ts';

const sample = (name: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`../../../../events/${name}`, import.meta.url)), 'utf8'),
  );
const context = lambdaContext('lifeboat-dev-failback', 1024);

beforeAll(() => {
  logger.setLogLevel('SILENT');
});

/** petstore recovered out of us-east-1, which is healthy again ten minutes later. */
async function afterRecovery() {
  const w = recoveryWorld({ instances: [{ id: 'petstore' }, { id: 'orders', home: 'us-west-2' }] });
  await w.recover('petstore');
  w.heal('us-east-1');
  w.clock.advance(10 * MINUTE);
  return { w, handler: buildFailbackHandler(() => w.deps) };
}

/** An EventBridge envelope around a detail the function published itself. */
const envelope = (detailType: string, detail: unknown, id: string) => ({
  ...sample('failback-requested.json'),
  id,
  'detail-type': detailType,
  detail,
});

describe('failback handler', () => {
  it('fans "Region Recovered" out into one request per instance and fails none back itself', async () => {
    const { w, handler } = await afterRecovery();
    const before = w.bus.events.length;
    const result = await handler(
      envelope(
        'Region Recovered',
        { region: 'us-east-1', recoveredAt: w.clock.peek().toISOString() },
        'rr-1',
      ),
      context,
    );
    const published = w.bus.events.slice(before);
    expect(
      published.map((e) => [e.detailType, (e.detail as { instanceId: string }).instanceId]),
    ).toEqual([
      ['Failback Requested', 'petstore'],
      ['Failback Requested', 'orders'],
    ]);
    expect(result).toMatchObject({ requested: [{ claimant: 'rr-1' }, { claimant: 'rr-1' }] });
    expect(w.dns.weightsOf('petstore')['us-east-1']).toBe(0);
  });

  it('fails the requested instance back home when each request is delivered', async () => {
    const { w, handler } = await afterRecovery();
    const before = w.bus.events.length;
    await handler(
      envelope(
        'Region Recovered',
        { region: 'us-east-1', recoveredAt: w.clock.peek().toISOString() },
        'rr-1',
      ),
      context,
    );
    const requests = w.bus.events.slice(before).map((e) => e.detail);
    const results = [];
    for (const [i, detail] of requests.entries())
      results.push(await handler(envelope('Failback Requested', detail, `fr-${i}`), context));
    expect(results).toEqual([
      {
        instance: {
          instanceId: 'petstore',
          action: 'failback',
          outcome: 'started',
          runId: 'petstore-g2',
          status: 'completed',
        },
      },
      {
        instance: {
          instanceId: 'orders',
          action: 'none',
          reason: 'orders has never been recovered',
        },
      },
    ]);
    expect(w.dns.weightsOf('petstore')['us-east-1']).toBe(100);
    expect(w.bus.details('Failback Completed')).toHaveLength(1);
  });

  it('refuses a malformed request before it touches anything', async () => {
    const { w, handler } = await afterRecovery();
    const before = w.bus.events.length;
    const bad = envelope(
      'Failback Requested',
      { instanceId: 'petstore', region: 'us-east-1' },
      'x',
    );
    await expect(handler(bad, context)).rejects.toBeInstanceOf(EventValidationError);
    expect(w.bus.events.length).toBe(before);
    expect(w.dns.weightsOf('petstore')['us-east-1']).toBe(0);
  });
});
