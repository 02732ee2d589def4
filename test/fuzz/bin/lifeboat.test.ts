import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingEndpoint } from '../support/recording-endpoint.ts';

/**
 * The real command line, end to end: commander, config loading and each verb's checks. Every
 * bad invocation exits 2 with one `lifeboat: ...` line naming what is wrong, sends no request
 * (the SDK points at a recording endpoint) and writes nothing (it runs in an empty directory).
 *
 * The CLI is bundled once with esbuild (as serverless-esbuild bundles the handlers): a tsx
 * start costs about 1.5 s of CPU on this machine, the bundle about 0.2 s, and the fuzz
 * project has a one-minute budget.
 */

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CONFIG = join(ROOT, 'lifeboat.config.yml');

let endpoint: Awaited<ReturnType<typeof recordingEndpoint>>;
const cwd = mkdtempSync(join(tmpdir(), 'lifeboat-fuzz-bin-'));
const configs = mkdtempSync(join(tmpdir(), 'lifeboat-fuzz-bin-config-'));
const cli = join(configs, 'lifeboat.mjs');

beforeAll(async () => {
  endpoint = await recordingEndpoint();
  await build({
    entryPoints: [join(ROOT, 'bin/lifeboat.ts')],
    outfile: cli,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'error',
    // Some dependencies still call require(); ESM bundles need it provided.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
});
afterAll(async () => {
  await endpoint.close();
  rmSync(cwd, { recursive: true, force: true });
  rmSync(configs, { recursive: true, force: true });
});

function lifeboat(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      {
        cwd,
        // The bundle's own directory has no lifeboat.config.yml: name the embedded default.
        env: { ...process.env, LIFEBOAT_CONFIG: CONFIG, POWERTOOLS_LOG_LEVEL: 'SILENT' },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const KNOWN = new Set([
  'config',
  'endpoint-url',
  'instance',
  'region',
  'from',
  'to',
  'snapshot',
  'fallback',
  'due',
  'dry-run',
  'apis',
  'run',
  'approve',
  'by',
  'json',
  'from-region',
  'scenario',
  'regions',
  'instances',
  'seed',
  'report',
  'html',
  'last',
  'help',
]);

describe('bin/lifeboat.ts', () => {
  it('exits 2 naming the argument, sends nothing and writes nothing, for every bad invocation', async () => {
    const badConfig = join(configs, 'bad.yml');
    writeFileSync(
      badConfig,
      'version: 1\nregions:\n  - name: us-east-1\n    location: {lat: 91, lon: 0}\n    capacity: 1\n    zones: [a]\ninstances: []\n',
    );
    const [unknownOption] = fc.sample(
      fc.stringMatching(/^[a-z][a-z-]{2,14}$/).filter((o) => !KNOWN.has(o)),
      1,
    );
    const cases: [string[], string][] = [
      [[`--${unknownOption}`], `--${unknownOption}`],
      [['frobnicate'], 'frobnicate'],
      [['demo', '--apis', '0'], '--apis'],
      [['status', '--endpoint-url', 'ftp://moto.local'], '--endpoint-url'],
      [['status', '--config', join(configs, 'absent.yml')], 'absent.yml'],
      [['status', '--config', badConfig], `${badConfig}: regions[0].location.lat`],
      [['plan', '--region', 'us-nowhere-1'], 'us-nowhere-1'],
      [['resume', '--run', 'not a run'], '--run'],
    ];
    const results = await Promise.all(cases.map(([args]) => lifeboat(args)));
    results.forEach((result, i) => {
      const [args, names] = cases[i] as [string[], string];
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(/^lifeboat: /);
      expect(result.stderr).toContain(names);
    });
    expect(endpoint.requests).toEqual([]);
    expect(readdirSync(cwd)).toEqual([]);
  });
});
