import { spawnSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { provisionAndSeed, useLocalEndpoint } from '../../bin/commands/local.ts';
import { backupVault } from '../../shared/composition.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../shared/config/load.ts';
import { listCommittedSnapshotIds } from '../../shared/domain/snapshot/catalog.ts';

/** Runs the README's command exactly: the real osls CLI, the esbuild bundle, the local AWS. */
function invokeLocal(eventFile: string, endpoint: string, fn = 'snapshot', extra: string[] = []) {
  return spawnSync(
    'npx',
    [
      'serverless',
      'invoke',
      'local',
      '-f',
      fn,
      '--path',
      eventFile,
      '--param',
      `buildFolder=.esbuild/invoke-${fn}`,
      ...extra,
    ],
    {
      encoding: 'utf8',
      timeout: 180_000,
      env: {
        ...process.env,
        AWS_ENDPOINT_URL: endpoint,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
      },
    },
  );
}

describe('serverless invoke local -f snapshot', () => {
  it('takes a real snapshot of the embedded default config against the local AWS', async () => {
    const endpoint = inject('motoEndpoint');
    useLocalEndpoint(endpoint);
    const config = loadConfig(DEFAULT_CONFIG_PATH);
    await provisionAndSeed(config, 5);

    const run = invokeLocal('events/schedule.json', endpoint);

    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('"status": "committed"');
    const petstore = config.instances.find((i) => i.id === 'petstore');
    for (const region of petstore?.replicaRegions ?? []) {
      expect(await listCommittedSnapshotIds(backupVault(config, region), 'petstore')).toContain(
        '20261125T060000Z',
      );
    }
  }, 240_000);

  it('rejects the malformed sample event with a message naming the field', () => {
    const run = invokeLocal('events/schedule-malformed.json', inject('motoEndpoint'));

    expect(run.status).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toMatch(/invalid schedule event: time/);
  }, 240_000);
});

describe('serverless invoke local -f detectOutage', () => {
  it.each([
    ['events/health-observed.json', '"status": "suspect"'],
    ['events/alarm-state-alarm.json', '"region": "us-east-1"'],
    ['events/alarm-state-ok.json', '"region": "us-east-1"'],
    ['events/aws-health-issue.json', '"region": "us-east-1"'],
    ['events/schedule.json', '"regions"'],
  ])(
    'folds %s into the stored region state',
    async (eventFile, expected) => {
      const endpoint = inject('motoEndpoint');
      useLocalEndpoint(endpoint);
      await provisionAndSeed(loadConfig(DEFAULT_CONFIG_PATH), 5);

      const run = invokeLocal(eventFile, endpoint, 'detectOutage');

      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toContain(expected);
    },
    240_000,
  );
});

describe('serverless invoke local -f probe', () => {
  it('probes every configured endpoint and reports each failure when none answers', async () => {
    const endpoint = inject('motoEndpoint');
    useLocalEndpoint(endpoint);
    await provisionAndSeed(loadConfig(DEFAULT_CONFIG_PATH), 5);

    // One round: the deployed function loops for a minute when the interval is shorter.
    const run = invokeLocal('events/schedule.json', endpoint, 'probe', [
      '-e',
      'LIFEBOAT_PROBE_INVOCATION_SECONDS=1',
    ]);

    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    // The handler's result is the pretty-printed object at the end; the one-line JSON before it
    // is the probe's EMF metrics, as CloudWatch would receive them.
    const summary = JSON.parse(run.stdout.slice(run.stdout.search(/^\{$/m))) as {
      observations: number;
      failures: unknown[];
    };
    // The embedded config's endpoints are example.com names: unresolvable here, so every probe fails.
    expect(summary.observations).toBe(5);
    expect(summary.failures).toHaveLength(5);
  }, 240_000);
});
