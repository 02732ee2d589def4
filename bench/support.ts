import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What every benchmark records about where and with what it ran: others edit the tree and
 * share the machine while benchmarks run, so the results say exactly which code on which
 * machine against which moto.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIOME = join(ROOT, 'node_modules/.bin/biome');

/** git's output in the repository, or '' when git is not there (a copied tree). */
export function git(args: readonly string[]): string {
  try {
    return execFileSync('git', [...args], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

/** The measured code: HEAD and the uncommitted files under `paths` (relative to the repository). */
export function codeVersion(paths: readonly string[]): {
  gitHead: string;
  uncommittedSourceFiles: string[];
} {
  return {
    gitHead: git(['rev-parse', 'HEAD']),
    uncommittedSourceFiles: git(['status', '--porcelain', '--', ...paths])
      .split('\n')
      .filter(Boolean),
  };
}

/** The version of the moto that is serving, asked of the very interpreter running it. */
export function motoVersion(pid: number): string {
  try {
    const [python] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return execFileSync(python ?? 'python3', ['-c', 'import moto; print(moto.__version__)'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** The first line a tool prints for its version, or of its error when it cannot run. */
export function toolVersion(command: string, args: string[]): string {
  try {
    return (
      execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        .trim()
        .split('\n')[0] ?? ''
    );
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    return (e.stderr ?? e.message).trim().split('\n')[0] ?? 'unknown';
  }
}

/** The machine: its CPUs, memory, kernel and Node. */
export function machine(): {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
} {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    node: process.version,
  };
}

/**
 * Writes a benchmark's results as JSON the way Biome formats it: `npm test` lints JSON too, so
 * a results file written with JSON.stringify alone would fail CI once committed.
 */
export function writeResultsFile(file: string, results: unknown): void {
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  try {
    execFileSync(BIOME, ['format', '--write', file], { stdio: 'ignore' });
  } catch {
    console.warn(`could not run biome on ${file}; run \`npm run format\` before committing it`);
  }
}
