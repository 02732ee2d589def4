import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDetectOutageHandler } from '../../../functions/detect-outage/handler.ts';
import { buildFailbackHandler } from '../../../functions/failback/handler.ts';
import { buildPlanRecoveryHandler } from '../../../functions/plan-recovery/handler.ts';
import { buildProbeHandler } from '../../../functions/probe/handler.ts';
import { buildSnapshotHandler } from '../../../functions/snapshot/handler.ts';
import { EventValidationError } from '../../../shared/errors.ts';
import { logger } from '../../../shared/observability.ts';
import { buildStepHandler } from '../../../shared/runtime/recovery-handler.ts';
import { parseDetectorEvent } from '../../../shared/schemas/detection-events.ts';
import { parseEvent } from '../../../shared/schemas/parse.ts';
import {
  parseChainEvent,
  parseOutageConfirmed,
  parseRegionRecovered,
} from '../../../shared/schemas/recovery-events.ts';
import {
  parseSnapshotTrigger,
  ScheduledEventSchema,
} from '../../../shared/schemas/snapshot-trigger.ts';
import { FakeClock } from '../../fakes/clock.ts';
import { config, envelope, instanceId, isoWithOffset, region, word } from '../support/events.ts';
import { runs, wrongTypeFor } from '../support/harness.ts';
import { getAt, nodePaths, withReplaced } from '../support/json-paths.ts';

/**
 * No side effect before validation: every Lambda handler, driven through middy with a bad
 * event, must fail with EventValidationError before it touches any dependency. The deps are a
 * tripwire that records every access other than the config and the clock (reading those is
 * how validation checks names and fills in "now"), so a handler that built a job, loaded a
 * document, published or deleted anything before validating would be caught.
 */

const context = {
  awsRequestId: 'fuzz',
  functionName: 'lifeboat-fuzz',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:lifeboat-fuzz',
  memoryLimitInMB: '512',
  logGroupName: '/aws/lambda/lifeboat-fuzz',
  logStreamName: 'fuzz',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

beforeAll(() => {
  logger.setLogLevel('SILENT');
});

/** Deps whose every member but `config`, `clock` and `region` records that it was touched. */
function tripwire() {
  const touched: string[] = [];
  const clock = new FakeClock('2026-11-25T06:00:00Z');
  // Not thenable (an awaited proxy would hang the handler), and any call stops the handler.
  const recorder = (name: string): unknown =>
    new Proxy(() => undefined, {
      get: (_, prop) => {
        if (prop === 'then') return undefined;
        touched.push(`${name}.${String(prop)}`);
        return recorder(`${name}.${String(prop)}`);
      },
      apply: () => {
        touched.push(`${name}()`);
        throw new Error(`tripwire: ${name}() called`);
      },
    });
  const deps = new Proxy({} as Record<string, unknown>, {
    get: (_, prop) => {
      if (prop === 'config') return config;
      if (prop === 'clock') return clock;
      if (prop === 'region') return 'us-west-2';
      touched.push(String(prop));
      return recorder(String(prop));
    },
  });
  return { deps, touched };
}

type Invoke = (event: unknown, context: Context) => Promise<unknown>;

interface HandlerCase {
  name: string;
  build(getDeps: () => never): Invoke;
  /** The handler's own parser, to tell valid from invalid candidates. */
  parse(event: unknown): unknown;
  valid: fc.Arbitrary<unknown>;
}

const tick = envelope('aws.events', 'Scheduled Event', fc.constant({}));
const chain = (detailType: string) =>
  envelope(
    'lifeboat',
    detailType,
    fc.record({
      runId: instanceId.map((id) => `${id}-g1`),
      instanceId,
      claimSet: fc.uniqueArray(region, { minLength: 1 }),
    }),
  );

const cases: HandlerCase[] = [
  {
    name: 'snapshot',
    build: (getDeps) => buildSnapshotHandler(getDeps) as Invoke,
    parse: (event) => parseSnapshotTrigger(event, config, new Date()),
    valid: fc.oneof(tick, fc.constant({ action: 'snapshot', instances: ['petstore'] })),
  },
  {
    name: 'probe',
    build: (getDeps) => buildProbeHandler(getDeps) as Invoke,
    parse: (event) => parseEvent(ScheduledEventSchema, event, 'schedule'),
    valid: tick,
  },
  {
    name: 'detect-outage',
    build: (getDeps) => buildDetectOutageHandler(getDeps) as Invoke,
    parse: (event) => parseDetectorEvent(event, config),
    valid: region.chain((vantage) =>
      envelope(
        'lifeboat',
        'Health Observed',
        fc.record({
          vantage: fc.constant(vantage),
          observations: fc.array(
            fc.record({
              vantage: fc.constant(vantage),
              target: region,
              zone: word,
              instanceId,
              ok: fc.boolean(),
              latencyMs: fc.nat(),
              at: isoWithOffset,
            }),
            { minLength: 1, maxLength: 3 },
          ),
        }),
      ),
    ),
  },
  {
    name: 'plan-recovery',
    build: (getDeps) => buildPlanRecoveryHandler(getDeps) as Invoke,
    parse: (event) => parseOutageConfirmed(event, config),
    valid: envelope(
      'lifeboat',
      'Region Outage Confirmed',
      fc.record({
        eventId: word,
        region,
        incidentId: word,
        outageStartedAt: isoWithOffset,
        confirmedAt: isoWithOffset,
      }),
    ),
  },
  {
    name: 'failback',
    build: (getDeps) => buildFailbackHandler(getDeps) as Invoke,
    parse: (event) => parseRegionRecovered(event, config),
    valid: envelope(
      'lifeboat',
      'Region Recovered',
      fc.record({ region, recoveredAt: isoWithOffset }),
    ),
  },
  ...(
    [
      ['restore-instance', 'restoreInstance', 'Recovery Planned'],
      ['verify-instance', 'verifyInstance', 'Instance Restored'],
      ['shift-traffic', 'shiftTraffic', 'Instance Verified'],
    ] as const
  ).map(
    ([name, fn, trigger]): HandlerCase => ({
      name,
      build: (getDeps) => buildStepHandler(fn, getDeps) as Invoke,
      parse: (event) => parseChainEvent(event, trigger, config),
      valid: chain(trigger),
    }),
  ),
];

function rejectedByParser(parse: (event: unknown) => unknown, event: unknown): boolean {
  try {
    parse(event);
    return false;
  } catch {
    return true;
  }
}

describe('handlers reject bad events before touching anything', () => {
  for (const c of cases) {
    describe(c.name, () => {
      const bad = fc.oneof(
        // A valid event with one field of the wrong type.
        c.valid
          .chain((event) =>
            fc.record({ event: fc.constant(event), path: fc.constantFrom(...nodePaths(event)) }),
          )
          .chain(({ event, path }) =>
            wrongTypeFor(getAt(event, path)).map((value) => withReplaced(event, path, value)),
          ),
        // Another handler's valid event: misrouted by a rule.
        fc.oneof(...cases.filter((o) => o !== c).map((o) => o.valid)),
        fc.anything(),
        fc.jsonValue(),
      );

      it('fails with EventValidationError and touches no dependency', async () => {
        await fc.assert(
          fc.asyncProperty(bad, async (event) => {
            fc.pre(rejectedByParser(c.parse, event));
            const { deps, touched } = tripwire();
            const handler = c.build(() => deps as never);
            await expect(handler(event, context)).rejects.toBeInstanceOf(EventValidationError);
            expect(touched).toEqual([]);
          }),
          { numRuns: runs(400) },
        );
      });

      it('does reach its dependencies with a valid event (the tripwire works)', async () => {
        const [sampled] = fc.sample(c.valid, 1);
        // us-east-1 is home to petstore: an outage or recovery there always has work to do.
        const event =
          getAt(sampled, ['detail', 'region']) === undefined
            ? sampled
            : withReplaced(sampled, ['detail', 'region'], 'us-east-1');
        const { deps, touched } = tripwire();
        await c
          .build(() => deps as never)(event, context)
          .catch(() => undefined);
        expect(touched.length).toBeGreaterThan(0);
      });
    });
  }
});
