import type { ChildProcess } from 'node:child_process';

/**
 * What a spawned process writes to its piped stdout and stderr, gathered as it writes: read
 * the fields once the process has closed.
 */
export function collectOutput(child: ChildProcess): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => {
    out.stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out.stderr += d.toString();
  });
  return out;
}
