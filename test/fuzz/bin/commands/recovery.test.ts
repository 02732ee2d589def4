import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecoveryVerbOptions } from '../../../../bin/cli/recovery-io.ts';
import { failbackVerb } from '../../../../bin/commands/failback.ts';
import { failoverVerb } from '../../../../bin/commands/failover.ts';
import { planVerb } from '../../../../bin/commands/plan.ts';
import { resumeVerb } from '../../../../bin/commands/resume.ts';
import { statusVerb } from '../../../../bin/commands/status.ts';
import {
  LifeboatError,
  UnknownInstanceError,
  UnknownRegionError,
  UsageError,
} from '../../../../shared/errors.ts';
import { recoveryWorld } from '../../../worlds/recovery.ts';
import { REGIONS } from '../../../worlds/regions.ts';
import { runs } from '../../support/harness.ts';

/**
 * The operator verbs check every argument before any I/O: a bad one is a LifeboatError (exit
 * 2 in bin/lifeboat.ts) that names the option or the bad value, and the world is untouched.
 * The verbs run against the in-memory recovery world, so an argument that slipped through
 * would show up as calls on its buckets, DNS, instances or bus rather than as network traffic.
 */

type Verb = (
  config: ReturnType<typeof recoveryWorld>['config'],
  options: RecoveryVerbOptions,
  io: Parameters<typeof planVerb>[2],
) => Promise<number>;

const VERBS: Record<string, { verb: Verb; valid: RecoveryVerbOptions; allowed: string[] }> = {
  plan: {
    verb: planVerb,
    valid: { region: 'us-east-1' },
    allowed: ['region', 'instance', 'json', 'from-region'],
  },
  failover: {
    verb: failoverVerb,
    valid: { instance: ['petstore'], from: 'us-east-1' },
    allowed: ['instance', 'from', 'approve', 'from-region'],
  },
  failback: {
    verb: failbackVerb,
    valid: { instance: ['petstore'] },
    allowed: ['instance', 'approve', 'from-region'],
  },
  status: { verb: statusVerb, valid: {}, allowed: ['instance', 'json', 'from-region'] },
  resume: {
    verb: resumeVerb,
    valid: { run: 'petstore-g1' },
    allowed: ['run', 'approve', 'from-region'],
  },
};

const ALL_OPTIONS = [
  'instance',
  'region',
  'from',
  'to',
  'snapshot',
  'run',
  'approve',
  'json',
  'from-region',
  'scenario',
  'due',
  'dry-run',
];

const notARegion = fc
  .oneof(
    fc.constantFrom('US-EAST-1', 'us-nowhere-1', ' us-east-1', 'us-east-1\n'),
    fc.string({ minLength: 1 }),
  )
  .filter((r) => !(REGIONS as readonly string[]).includes(r));
const notAnInstance = fc
  .oneof(fc.constantFrom('PETSTORE', 'petstore ', 'payments'), fc.string({ minLength: 1 }))
  .filter((i) => i !== 'petstore');
const notARunId = fc
  .oneof(
    fc.constantFrom('petstore', 'petstore-g0', 'Petstore-g1', 'petstore-g1 ', '-g1'),
    fc.string({ minLength: 1 }),
  )
  .filter((r) => !/^[a-z0-9][a-z0-9-]{0,62}-g[1-9]\d*$/.test(r));

interface BadCase {
  verb: string;
  options: RecoveryVerbOptions;
  /** Text the error must contain: the option or the value it rejects. */
  names: string;
}

const bad: fc.Arbitrary<BadCase> = fc.constantFrom(...Object.keys(VERBS)).chain((name) => {
  const { valid, allowed } = VERBS[name] as (typeof VERBS)[string];
  const cases: fc.Arbitrary<BadCase>[] = [
    // An option this verb does not take.
    fc.constantFrom(...ALL_OPTIONS.filter((o) => !allowed.includes(o))).map((option) => ({
      verb: name,
      options: { ...valid, [option]: option === 'instance' ? ['petstore'] : 'x' },
      names: `--${option}`,
    })),
    // A region nobody configured, wherever a region goes.
    notARegion.map((r) => ({ verb: name, options: { ...valid, 'from-region': r }, names: r })),
  ];
  if (allowed.includes('instance')) {
    cases.push(
      notAnInstance.map((i) => ({ verb: name, options: { ...valid, instance: [i] }, names: i })),
    );
  }
  if (name === 'plan') {
    cases.push(notARegion.map((r) => ({ verb: name, options: { region: r }, names: r })));
    cases.push(fc.constant({ verb: name, options: {}, names: '--region' }));
  }
  if (name === 'failover') {
    cases.push(notARegion.map((r) => ({ verb: name, options: { ...valid, from: r }, names: r })));
    cases.push(fc.constant({ verb: name, options: { instance: ['petstore'] }, names: '--from' }));
    cases.push(fc.constant({ verb: name, options: { from: 'us-east-1' }, names: '--instance' }));
    cases.push(
      fc.constant({
        verb: name,
        options: { ...valid, instance: ['petstore', 'petstore'] },
        names: '--instance',
      }),
    );
    cases.push(
      fc.constant({
        verb: name,
        options: { ...valid, 'from-region': 'us-east-1' },
        names: '--from-region',
      }),
    );
  }
  if (name === 'failback')
    cases.push(fc.constant({ verb: name, options: {}, names: '--instance' }));
  if (name === 'resume') {
    cases.push(notARunId.map((r) => ({ verb: name, options: { run: r }, names: '--run' })));
    cases.push(fc.constant({ verb: name, options: {}, names: '--run' }));
  }
  return fc.oneof(...cases);
});

/** Every call the world's fakes recorded, summed. */
function activity(world: ReturnType<typeof recoveryWorld>): number {
  let calls =
    world.dns.readCalls +
    world.dns.applyCalls +
    world.instances.calls.length +
    world.bus.events.length;
  for (const region of REGIONS) {
    calls += world.bucket(region).inner.calls.length + world.vault(region).calls.length;
  }
  return calls;
}

describe('recovery verbs', () => {
  it('reject a bad argument before any I/O, naming it', async () => {
    await fc.assert(
      fc.asyncProperty(bad, async ({ verb, options, names }) => {
        const world = recoveryWorld();
        const before = activity(world);
        const lines: string[] = [];
        const io = {
          deps: world.deps,
          out: (l: string) => lines.push(l),
          err: (l: string) => lines.push(l),
          operator: 'fuzz@ci',
        };
        const { verb: run } = VERBS[verb] as (typeof VERBS)[string];
        const error = await run(world.config, options, io).then(
          (code) =>
            new Error(`${verb} ${JSON.stringify(options)} exited ${code}: ${lines.join(' | ')}`),
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(LifeboatError);
        expect(
          [UsageError, UnknownInstanceError, UnknownRegionError].some((c) => error instanceof c),
        ).toBe(true);
        expect((error as Error).message).toContain(names);
        expect(activity(world)).toBe(before);
        expect(lines).toEqual([]);
      }),
      { numRuns: runs(600) },
    );
  });

  it('reach the world with valid arguments (the activity probe works)', async () => {
    const world = recoveryWorld();
    const before = activity(world);
    await statusVerb(
      world.config,
      {},
      { deps: world.deps, out: () => undefined, err: () => undefined },
    );
    expect(activity(world)).toBeGreaterThan(before);
  });
});
