import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { instanceStore, snapshotJob } from '../../shared/composition.ts';
import { findInstance } from '../../shared/config/load.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { keys } from '../../shared/domain/snapshot/format.ts';
import { takeSnapshot } from '../../shared/domain/snapshot/take-snapshot.ts';
import { allKeys, putBytes } from '../support/s3.ts';
import { createMotoWorld, type MotoWorld } from '../worlds/moto.ts';

/**
 * The documented exit codes of the real command line (README "CLI"): 0 done, 1 the operation
 * failed, 2 the invocation was wrong. A restore of a corrupt snapshot is a failed operation,
 * not a usage error, so a script can tell "fix the command" from "the backup is bad".
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const INSTANCE = 'petstore';
const SNAPSHOT = '20261125T010000Z';

let world: MotoWorld;
let folder: string;
let configFile: string;

/** Runs `lifeboat` in its own process against the test world. */
function lifeboat(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bin/lifeboat.ts', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, LIFEBOAT_CONFIG: configFile, AWS_ENDPOINT_URL: world.endpoint },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  world = await createMotoWorld();
  folder = mkdtempSync(join(tmpdir(), 'lifeboat-exit-codes-'));
  configFile = join(folder, 'lifeboat.config.yml');
  // JSON is YAML: the parsed config, written back, loads to the same config.
  writeFileSync(configFile, JSON.stringify(world.config));
  await seedInstance(
    instanceStore(world.config, 'us-east-1'),
    INSTANCE,
    sampleInstanceObjects({ apis: 5, seed: 1 }),
  );
  const job = snapshotJob(world.config, findInstance(world.config, INSTANCE));
  const snapshot = await takeSnapshot({
    instanceId: INSTANCE,
    sourceRegion: job.sourceRegion,
    source: job.source,
    replicas: job.replicas,
    quorum: job.quorum,
    snapshotId: SNAPSHOT,
    clock: systemClock,
  });
  if (!snapshot.committed) throw new Error('test setup: the snapshot did not commit');
  // us-west-2's copy of the manifest is damaged; us-east-2's is intact.
  await putBytes(
    world.config,
    'us-west-2',
    'backup',
    keys.manifest(INSTANCE, SNAPSHOT),
    Buffer.from('{"not": "a manifest"'),
  );
});

afterAll(async () => {
  await world?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

describe('lifeboat exit codes', () => {
  it('exits 1 naming the snapshot, and writes nothing, when a restore finds it corrupt', async () => {
    const result = await lifeboat(
      'restore',
      '--instance',
      INSTANCE,
      '--from',
      'us-west-2',
      '--to',
      'eu-west-1',
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^lifeboat: snapshot 20261125T010000Z of petstore failed/m);
    expect(await allKeys(world.config, 'eu-west-1', 'instanceStore')).toEqual([]);
  });

  it('exits 2 naming the argument when the invocation is wrong', async () => {
    const missing = await lifeboat('restore', '--instance', INSTANCE);
    const unknown = await lifeboat('restore', '--instance', INSTANCE, '--to', 'eu-west-1', '--x');
    const extra = await lifeboat('restore', 'now', '--instance', INSTANCE, '--to', 'eu-west-1');

    expect(missing).toMatchObject({
      code: 2,
      stderr: 'lifeboat: restore: --to REGION is required\n',
    });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^lifeboat: restore: --x does not apply here/);
    expect(extra).toMatchObject({
      code: 2,
      stderr: 'lifeboat: restore: unexpected argument "now"\n',
    });
  });

  it('exits 0 when the restore from an intact copy succeeds', async () => {
    const result = await lifeboat(
      'restore',
      '--instance',
      INSTANCE,
      '--from',
      'us-east-2',
      '--to',
      'eu-west-1',
    );

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `restored ${INSTANCE} ${SNAPSHOT} from us-east-2 into eu-west-1`,
    );
  });
});

describe('lifeboat --help', () => {
  it("prints the verb's own options and exits 0 when asked for one verb's help", async () => {
    const result = await lifeboat('plan', '--help');

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: lifeboat plan \[options\]/);
    expect(result.stdout).toContain('--region <region>');
    expect(result.stdout).not.toContain('--scenario');
  });

  it('lists every verb and the exit codes when asked for the general help', async () => {
    const result = await lifeboat('--help');

    expect(result.code).toBe(0);
    for (const verb of ['drill', 'snapshot', 'restore', 'plan', 'failover', 'resume'])
      expect(result.stdout).toMatch(new RegExp(`^  ${verb} `, 'm'));
    expect(result.stdout).toContain('1 operation failed, 2 usage');
  });
});
