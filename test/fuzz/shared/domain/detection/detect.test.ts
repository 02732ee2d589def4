import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detect, regionStateKey } from '../../../../../shared/domain/detection/detect.ts';
import {
  detectorSettings,
  type Signal,
} from '../../../../../shared/domain/detection/region-health.ts';
import { CorruptStateError } from '../../../../../shared/errors.ts';
import { alarmNameFor } from '../../../../../shared/schemas/detection-events.ts';
import { InMemoryDocumentStore } from '../../../../fakes/detection/document-store.ts';
import { RecordingEventBus } from '../../../../fakes/detection/event-bus.ts';
import { config, regionNames } from '../../../support/events.ts';
import { extraKey, nastyString, runs, wrongTypeFor } from '../../../support/harness.ts';
import {
  getAt,
  nested,
  nodePaths,
  objectPaths,
  type Path,
  withDeleted,
  withExtraKey,
  withReplaced,
} from '../../../support/json-paths.ts';

/**
 * The detector's durable state is read back from the control bucket on every invocation. A
 * document that is corrupt or was edited by hand must stop the detector with CorruptStateError
 * (naming what is wrong) before it writes or publishes anything; it must never crash with a
 * TypeError halfway through folding signals in.
 */

const TARGET = 'us-east-1';
const settings = detectorSettings(config.detection, config.regions.length);
const T0 = Date.parse('2026-11-25T06:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** Signals that touch every part of the state: endpoints, vantages, alarms, Health events. */
function signalsAt(seconds: number, ok: boolean): Signal[] {
  return [
    ...regionNames.flatMap((vantage) =>
      ['us-east-1a', 'us-east-1b'].map(
        (zone): Signal => ({
          kind: 'observation',
          observation: {
            vantage,
            target: TARGET,
            zone,
            instanceId: 'petstore',
            ok,
            latencyMs: 5,
            at: at(seconds),
            ...(ok ? { status: 200 } : { error: 'timeout' }),
          },
        }),
      ),
    ),
    {
      kind: 'alarm',
      alarm: {
        alarmName: alarmNameFor('petstore', TARGET),
        region: TARGET,
        instanceId: 'petstore',
        state: ok ? 'OK' : 'ALARM',
        at: at(seconds),
      },
    },
    {
      kind: 'health',
      health: {
        eventArn: `arn:health:${seconds}`,
        region: TARGET,
        service: 'EC2',
        status: ok ? 'closed' : 'open',
        at: at(seconds),
      },
    },
    { kind: 'tick', at: at(seconds) },
  ];
}

/** Real states the detector wrote: healthy, mid-outage, and after an outage. */
async function realStates(): Promise<unknown[]> {
  const store = new InMemoryDocumentStore();
  const bus = new RecordingEventBus();
  const states: unknown[] = [];
  const phases: [number, boolean][] = [
    [0, true],
    [30, true],
    [60, false],
    [90, false],
    [120, false],
    [150, false],
    [180, false],
    [600, true],
    [900, true],
  ];
  for (const [seconds, ok] of phases) {
    await detect({ signals: signalsAt(seconds, ok), regions: [TARGET], store, bus, settings });
    states.push(store.peek(regionStateKey(TARGET)));
  }
  return states;
}

const states = await realStates();

type Mutation = { doc: unknown; why: string; path?: Path };

const mutation: fc.Arbitrary<Mutation> = fc.constantFrom(...states).chain((state) => {
  const paths = nodePaths(state);
  const path = fc.constantFrom(...paths);
  return fc.oneof(
    path.chain((p) =>
      wrongTypeFor(getAt(state, p)).map((v) => ({
        doc: withReplaced(state, p, v),
        why: `wrong type at ${p.join('.')}`,
        path: p,
      })),
    ),
    path
      .filter((p) => typeof p.at(-1) === 'string')
      .map((p) => ({ doc: withDeleted(state, p), why: `no ${p.join('.')}`, path: p })),
    path.chain((p) =>
      nastyString.map((v) => ({ doc: withReplaced(state, p, v), why: `string at ${p.join('.')}` })),
    ),
    path.chain((p) =>
      fc.integer({ min: 500, max: 3000 }).map((d) => ({
        doc: withReplaced(state, p, nested(d, 'object')),
        why: `deep at ${p.join('.')}`,
      })),
    ),
    fc
      .tuple(fc.constantFrom(...objectPaths(state)), extraKey, fc.jsonValue({ maxDepth: 2 }))
      .map(([p, key, v]) => ({
        doc: withExtraKey(state, p, key, v),
        why: `extra ${key} at ${p.join('.')}`,
      })),
    // Only JSON can be stored in the bucket.
    fc.jsonValue().map((doc) => ({ doc, why: 'arbitrary document' })),
  );
});

async function runOn(doc: unknown) {
  const store = new InMemoryDocumentStore();
  store.seed(regionStateKey(TARGET), doc);
  const writesBefore = store.writeCount;
  const bus = new RecordingEventBus();
  let error: unknown;
  try {
    await detect({ signals: signalsAt(1200, false), regions: [TARGET], store, bus, settings });
  } catch (caught) {
    error = caught;
  }
  return { error, wrote: store.writeCount - writesBefore, published: bus.publishCalls };
}

describe('detect over a stored region state', () => {
  it('accepts every state it wrote itself', async () => {
    for (const state of states) {
      expect((await runOn(state)).error).toBeUndefined();
    }
  });

  it('stops a corrupt state with CorruptStateError before writing or publishing, never crashes', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async ({ doc, why }) => {
        const { error, wrote, published } = await runOn(doc);
        if (error === undefined) return;
        if (!(error instanceof CorruptStateError)) {
          throw new Error(
            `detect crashed on ${why}: ${(error as Error)?.name}: ${(error as Error)?.message}`,
          );
        }
        expect({ wrote, published }).toEqual({ wrote: 0, published: 0 });
      }),
      { numRuns: runs(1000) },
    );
  });

  // Regression (docs/fuzzing.md): the schema did not check these parts although applySignals
  // reads them, so each of these crashed the detector with a TypeError.
  it('stops a malformed endpoint history, alarm or Health entry with CorruptStateError naming it', async () => {
    const state = states.at(-1);
    const paths = nodePaths(state);
    const endpoint = paths.find((p) => p[0] === 'endpoints' && p.length === 3) as Path;
    const alarm = paths.find((p) => p[0] === 'alarms' && p.length === 2) as Path;
    const health = paths.find((p) => p[0] === 'healthEvents' && p.length === 2) as Path;
    const cases: [Path, unknown][] = [
      [[...endpoint, 'history'], 42],
      [[...endpoint, 'history', 0], null],
      [alarm, null],
      [[...alarm, 'since'], {}],
      [health, null],
      [[...health, 'status'], 'resolved'],
    ];
    for (const [path, value] of cases) {
      const { error, wrote, published } = await runOn(withReplaced(state, path, value));
      expect(error, `${path.join('.')} = ${JSON.stringify(value)}`).toBeInstanceOf(
        CorruptStateError,
      );
      expect((error as Error).message).toContain(`${path.join('.')}`);
      expect({ wrote, published }).toEqual({ wrote: 0, published: 0 });
    }
  });

  it('names the field of a checked top-level part that has the wrong type', async () => {
    const checked = [
      'region',
      'status',
      'statusSince',
      'endpoints',
      'vantages',
      'alarms',
      'healthEvents',
      'degradedZones',
      'outbox',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...states),
        fc.constantFrom(...checked),
        fc.constantFrom(42, true, null),
        async (state, field, value) => {
          const { error } = await runOn(withReplaced(state, [field], value));
          expect(error).toBeInstanceOf(CorruptStateError);
          expect((error as Error).message).toContain(`${field}: `);
        },
      ),
      { numRuns: runs(300) },
    );
  });
});
