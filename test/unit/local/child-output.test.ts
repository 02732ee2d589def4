import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { collectOutput } from '../../../local/child-output.ts';

describe('collectOutput', () => {
  it('keeps stdout and stderr apart, whole, once the process has closed', async () => {
    const child = spawn(
      process.execPath,
      ['-e', "process.stdout.write('out-1 '); process.stderr.write('err'); console.log('out-2')"],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const output = collectOutput(child);
    await once(child, 'close');
    expect(output).toEqual({ stdout: 'out-1 out-2\n', stderr: 'err' });
  });
});
