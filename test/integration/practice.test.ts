import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { practiceVerb } from '../../bin/commands/practice.ts';
import { reportVerb } from '../../bin/commands/report.ts';
import { regionBuckets } from '../../shared/config/load.ts';
import { reservedSlots } from '../../shared/domain/recovery/capacity.ts';
import type { PracticeReport } from '../../shared/domain/recovery/practice.ts';
import { readRunReport } from '../../shared/domain/recovery/run-report.ts';
import { bucketVersions, recordSets } from '../support/world-state.ts';
import { createRecoveryWorld, type RecoveryWorld } from '../worlds/moto-recovery.ts';

let rw: RecoveryWorld;

beforeEach(async () => {
  rw = await createRecoveryWorld({ instances: ['petstore'] });
});
afterEach(async () => {
  await rw?.close();
});

function io() {
  const lines: string[] = [];
  return {
    lines,
    text: () => lines.join('\n'),
    io: {
      deps: rw.deps,
      out: (line: string) => lines.push(line),
      err: (line: string) => lines.push(line),
      operator: 'tester@ci',
      practice: { sleep: async () => undefined },
    },
  };
}

async function storeKeys(region: string, prefix: string): Promise<string[]> {
  const configured = rw.config.regions.find((r) => r.name === region);
  if (!configured) throw new Error(`test: no region ${region}`);
  const s3 = new S3Client({ region, endpoint: rw.world.endpoint, forcePathStyle: true });
  const page = await s3.send(
    new ListObjectsV2Command({
      Bucket: regionBuckets(rw.config, configured).instanceStore,
      Prefix: prefix,
    }),
  );
  return (page.Contents ?? []).map((o) => o.Key ?? '');
}

describe('lifeboat practice (moto)', () => {
  it('restores, verifies and removes a practice copy, leaving DNS and home byte-identical', async () => {
    const home = rw.runtime('petstore', 'us-east-1');
    const dnsBefore = await recordSets(rw);
    const homeBefore = await bucketVersions(rw, 'us-east-1');
    const servedBefore = (await rw.deps.instances.health('petstore', 'us-east-1')).configDigest;
    const realCopyBefore = await storeKeys('us-east-2', 'petstore/');
    const out = io();

    const code = await practiceVerb(rw.config, { instance: ['petstore'], json: true }, out.io);

    expect(code, out.text()).toBe(0);
    const report = JSON.parse(out.text()) as PracticeReport;
    expect(report).toMatchObject({
      practice: true,
      passed: true,
      practiceId: 'petstore--practice',
      from: 'us-east-1',
      target: 'us-east-2',
      dnsUntouched: true,
      leftovers: 0,
      status: 'completed',
    });
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['plan', 'done'],
      ['restore', 'done'],
      ['verify', 'done'],
      ['remove', 'done'],
    ]);
    expect(report.rtoSeconds).toBeGreaterThan(0);
    // The snapshot was taken five minutes before the world was handed over.
    expect(report.rpoSeconds).toBeGreaterThanOrEqual(300);
    expect(await recordSets(rw)).toBe(dnsBefore);
    expect(await bucketVersions(rw, 'us-east-1')).toEqual(homeBefore);
    expect((await rw.deps.instances.health('petstore', 'us-east-1')).configDigest).toBe(
      servedBefore,
    );
    expect(home.instanceId).toBe('petstore');
    // The copy is gone, the real instance's objects in the target were not touched, the room is back.
    expect(await storeKeys('us-east-2', 'petstore--practice/')).toEqual([]);
    expect(await storeKeys('us-east-2', 'petstore/')).toEqual(realCopyBefore);
    expect(await reservedSlots(rw.deps.documents('us-east-2'), 'us-east-2', 10)).toEqual([]);
    // The report lies where real runs' reports lie, and `lifeboat report` reads it.
    const stored = (await readRunReport(rw.deps, report.runId)) as PracticeReport | undefined;
    expect(stored?.practice).toBe(true);
    const shown = io();
    expect(await reportVerb(rw.config, { last: true }, shown.io)).toBe(0);
    expect(shown.text()).toContain(`practice ${report.runId}`);
  });

  it('practises in the region --to names and removes its copy there', async () => {
    const dnsBefore = await recordSets(rw);
    const out = io();
    const code = await practiceVerb(
      rw.config,
      { instance: ['petstore'], to: 'eu-west-1', json: true },
      out.io,
    );
    expect(code, out.text()).toBe(0);
    const report = JSON.parse(out.text()) as PracticeReport;
    // eu-west-1 holds no replica: the snapshot comes from the nearest replica's bucket.
    expect(report).toMatchObject({ target: 'eu-west-1', passed: true });
    expect(report.snapshot?.region).not.toBe('eu-west-1');
    expect(await recordSets(rw)).toBe(dnsBefore);
    expect(await storeKeys('eu-west-1', 'petstore--practice/')).toEqual([]);
  });
});
