import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SnapshotVerbOptions } from '../../../../bin/cli/verb.ts';
import { drillCommand } from '../../../../bin/commands/drill.ts';
import { gcVerb } from '../../../../bin/commands/gc.ts';
import { restoreVerb } from '../../../../bin/commands/restore.ts';
import { snapshotVerb } from '../../../../bin/commands/snapshot.ts';
import { listVerb } from '../../../../bin/commands/snapshots.ts';
import { verifyVerb } from '../../../../bin/commands/verify.ts';
import { SCENARIOS } from '../../../../local/drill/run-drill.ts';
import { LifeboatError } from '../../../../shared/errors.ts';
import { config, instanceIds, regionNames } from '../../support/events.ts';
import { runs } from '../../support/harness.ts';
import { recordingEndpoint } from '../../support/recording-endpoint.ts';

/**
 * The snapshot verbs and the drill validate their arguments before any request or file: a
 * bad argument is a LifeboatError (exit 2) that names the option or the value, and the
 * recording endpoint the SDK points at sees nothing.
 */

let endpoint: Awaited<ReturnType<typeof recordingEndpoint>>;
const out = mkdtempSync(join(tmpdir(), 'lifeboat-fuzz-cli-'));

beforeAll(async () => {
  endpoint = await recordingEndpoint();
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await endpoint.close();
  rmSync(out, { recursive: true, force: true });
});

const notARegion = fc
  .oneof(fc.constantFrom('US-EAST-1', 'us-nowhere-1', ' us-east-1'), fc.string({ minLength: 1 }))
  .filter((r) => !regionNames.includes(r));
const notAnInstance = fc
  .oneof(fc.constantFrom('PETSTORE', 'petstore ', 'api'), fc.string({ minLength: 1 }))
  .filter((i) => !instanceIds.includes(i));

type Verb = (c: typeof config, o: SnapshotVerbOptions) => Promise<number>;
const ONE_INSTANCE: Record<string, Verb> = {
  snapshots: listVerb,
  verify: verifyVerb,
  restore: (c, o) => restoreVerb(c, { to: 'us-east-2', ...o }),
  gc: gcVerb,
};

const bad: fc.Arbitrary<{ name: string; run: () => Promise<number>; names: string }> = fc.oneof(
  fc.constantFrom(...Object.keys(ONE_INSTANCE)).chain((name) => {
    const verb = ONE_INSTANCE[name] as Verb;
    return fc.oneof(
      fc.constant({ name, run: () => verb(config, {}), names: '--instance' }),
      fc.constant({
        name,
        run: () => verb(config, { instance: ['petstore', 'payments'] }),
        names: '--instance',
      }),
      notAnInstance.map((i) => ({ name, run: () => verb(config, { instance: [i] }), names: i })),
    );
  }),
  notARegion.map((r) => ({
    name: 'snapshots',
    run: () => listVerb(config, { instance: ['petstore'], region: r }),
    names: r,
  })),
  notARegion.map((r) => ({
    name: 'verify',
    run: () => verifyVerb(config, { instance: ['petstore'], region: r }),
    names: r,
  })),
  notARegion.map((r) => ({
    name: 'restore',
    run: () => restoreVerb(config, { instance: ['petstore'], to: r }),
    names: r,
  })),
  notARegion.map((r) => ({
    name: 'restore',
    run: () => restoreVerb(config, { instance: ['petstore'], to: 'us-east-2', from: r }),
    names: r,
  })),
  fc.constant({
    name: 'restore',
    run: () => restoreVerb(config, { instance: ['petstore'] }),
    names: '--to',
  }),
  notAnInstance.map((i) => ({
    name: 'snapshot',
    run: () => snapshotVerb(config, { instance: ['petstore', i] }),
    names: i,
  })),
);

const isWhole = (value: string | undefined, min: number, max: number) =>
  value === undefined ||
  (Number.isInteger(Number(value)) && Number(value) >= min && Number(value) <= max);

// At least one option is out of range by construction; the predicate double-checks, so a valid
// combination (which would start moto and a whole drill) can never slip through.
const badDrill = fc
  .record(
    {
      scenario: fc.oneof(fc.constantFrom(...SCENARIOS), fc.string()),
      regions: fc.oneof(fc.constantFrom('2', '5', '3.5', 'three', '', '1e1'), fc.string()),
      instances: fc.oneof(fc.constantFrom('0', '201', '-1', 'NaN'), fc.string()),
      seed: fc.oneof(fc.constantFrom('-1', '2147483648', '0x10', '1.5'), fc.string()),
    },
    { requiredKeys: [] },
  )
  .filter(
    (o) =>
      !(
        (o.scenario === undefined || (SCENARIOS as readonly string[]).includes(o.scenario)) &&
        isWhole(o.regions, 3, config.regions.length) &&
        isWhole(o.instances, 1, 200) &&
        isWhole(o.seed, 0, 2 ** 31 - 1)
      ),
  );

describe('snapshot verbs', () => {
  it('reject a bad argument before any request, naming it', async () => {
    await fc.assert(
      fc.asyncProperty(bad, async ({ name, run, names }) => {
        const before = endpoint.requests.length;
        const error = await run().then(
          (code) => new Error(`${name} exited ${code}`),
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(LifeboatError);
        expect((error as Error).message).toContain(names);
        expect(endpoint.requests.length).toBe(before);
      }),
      { numRuns: runs(800) },
    );
  });

  it('do reach the endpoint with valid arguments (the recorder works)', async () => {
    const before = endpoint.requests.length;
    await listVerb(config, { instance: ['petstore'] });
    expect(endpoint.requests.length).toBeGreaterThan(before);
  });
});

describe('drill options', () => {
  it('reject an out-of-range option naming it, before starting anything or writing a report', async () => {
    await fc.assert(
      fc.asyncProperty(badDrill, async (options) => {
        const before = endpoint.requests.length;
        const report = join(out, 'report.json');
        const error = await drillCommand(config, {
          ...options,
          report,
          endpoint: 'http://127.0.0.1:9',
        }).then(
          (code) => new Error(`drill exited ${code}`),
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(LifeboatError);
        expect((error as Error).message).toMatch(/^--(scenario|regions|instances|seed): /);
        expect(endpoint.requests.length).toBe(before);
        expect(readdirSync(out)).toEqual([]);
      }),
      { numRuns: runs(800) },
    );
  });
});
