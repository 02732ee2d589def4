/**
 * `serverless package` for the benchmarks, and what it produced: one zip per function. Shared by
 * the bundle-size report and the cold-start benchmark, so both measure the bundles that deploy.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';
import { parseDocument } from 'yaml';
import { serverlessEnv } from '../../local/serverless-env.ts';

const require = createRequire(import.meta.url);

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One function as packaged: its zip and what is inside. */
export interface PackagedFunction {
  /** The function's name in serverless.yml (also the zip's name). */
  name: string;
  /** The source entry point, e.g. functions/snapshot/handler.ts. */
  entry: string;
  zipPath: string;
  zipBytes: number;
  entries: { name: string; bytes: number; compressedBytes: number }[];
}

/** A finished `serverless package` run. */
export interface PackagedService {
  dir: string;
  functions: PackagedFunction[];
  seconds: number;
  cleanup(): void;
}

/** Names and sizes of a zip's entries, from its central directory. */
export function zipEntries(file: string): PackagedFunction['entries'] {
  const zip = readFileSync(file);
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error(`${file} is not a zip`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: PackagedFunction['entries'] = [];
  for (let i = 0; i < count; i += 1) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
    const nameLength = zip.readUInt16LE(at + 28);
    entries.push({
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
      compressedBytes: zip.readUInt32LE(at + 20),
      bytes: zip.readUInt32LE(at + 24),
    });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

/**
 * Runs `serverless package` (osls, offline) into a fresh directory with its own esbuild work
 * folder, as test/infra/package.test.ts does, so it never collides with a parallel run.
 */
export function packageService(): PackagedService {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-package-'));
  const buildFolder = `.esbuild/bench-${process.pid}-${randomBytes(4).toString('hex')}`;
  const env = serverlessEnv();
  const started = performance.now();
  const result = spawnSync(
    'npx',
    ['serverless', 'package', '--package', dir, '--param', `buildFolder=${buildFolder}`],
    { cwd: ROOT, env, encoding: 'utf8', timeout: 300_000 },
  );
  const seconds = (performance.now() - started) / 1000;
  rmSync(join(ROOT, buildFolder), { recursive: true, force: true });
  if (result.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`serverless package failed:\n${result.stdout}\n${result.stderr}`);
  }
  const template = JSON.parse(
    readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  const functions = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function')
    .map((r): PackagedFunction => {
      const properties = r.Properties ?? {};
      const key = (properties.Code as { S3Key: string }).S3Key;
      const zip = key.slice(key.lastIndexOf('/') + 1);
      const handler = properties.Handler as string;
      const zipPath = join(dir, zip);
      return {
        name: zip.replace(/\.zip$/, ''),
        entry: `${handler.slice(0, handler.lastIndexOf('.'))}.ts`,
        zipPath,
        zipBytes: statSync(zipPath).size,
        entries: zipEntries(zipPath),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    dir,
    functions,
    seconds,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Unzips a function's package into `dir` (Info-ZIP `unzip`, on the machine and on CI). */
export function extract(fn: PackagedFunction, dir: string): void {
  execFileSync('unzip', ['-q', '-o', fn.zipPath, '-d', dir]);
}

/** serverless-esbuild's own keys; everything else in custom.esbuild goes to esbuild as is. */
const PLUGIN_KEYS = [
  'exclude',
  'packager',
  'outputFileExtension',
  'outputWorkFolder',
  'outputBuildFolder',
  'concurrency',
  'zipConcurrency',
  'nativeZip',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
];

/** The esbuild options serverless.yml gives serverless-esbuild, for building the same bundle. */
export function esbuildOptionsFromServerlessYml(): BuildOptions {
  const doc = parseDocument(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'));
  // CloudFormation's short tags (!Sub, !GetAtt) only warn here; custom.esbuild has none.
  const raw = {
    ...(doc.toJS() as { custom: { esbuild: Record<string, unknown> } }).custom.esbuild,
  };
  for (const key of PLUGIN_KEYS) delete raw[key];
  // serverless-esbuild takes `plugins` as a file exporting the array; esbuild wants the array.
  if (typeof raw.plugins === 'string') raw.plugins = require(join(ROOT, raw.plugins));
  return raw as BuildOptions;
}
