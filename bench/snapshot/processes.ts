import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { collectOutput } from '../../local/child-output.ts';

/** A finished child process: wall time, peak RSS, and what it printed. */
export interface TimedRun {
  ms: number;
  maxRssKb: number;
  stdout: string;
  stderr: string;
}

let runCounter = 0;

/**
 * Runs a peer tool under GNU time so its peak RSS (`%M`, KiB) is measured by the kernel's
 * rusage, like lifeboat's. Wall time is taken here, around the whole process.
 */
export async function runTimed(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; scratch: string },
): Promise<TimedRun> {
  runCounter += 1;
  const rssFile = join(options.scratch, `time-${process.pid}-${runCounter}.txt`);
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, command, ...args], {
    env: options.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c ?? -1));
  });
  const ms = performance.now() - started;
  let maxRssKb = 0;
  try {
    const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
    maxRssKb = Number(lines.at(-1)) || 0;
    rmSync(rssFile, { force: true });
  } catch {
    // GNU time writes nothing when the command could not start; the exit code says why.
  }
  if (code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with ${code}:\n${output.stderr.slice(-2000)}`,
    );
  }
  return { ms, maxRssKb, ...output };
}

/** CPU seconds (user + system) a process has used so far, from /proc; 0 where /proc is absent. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which sits in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return 0;
  }
}
