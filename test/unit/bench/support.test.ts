import { describe, expect, it } from 'vitest';
import { codeVersion, machine, motoVersion, toolVersion } from '../../../bench/support.ts';

describe('bench support', () => {
  it('names the measured commit when run in the repository', () => {
    const code = codeVersion(['shared']);

    expect(code.gitHead).toMatch(/^[0-9a-f]{40}$/);
    expect(Array.isArray(code.uncommittedSourceFiles)).toBe(true);
  });

  it('reports the first error line when a tool cannot run', () => {
    expect(toolVersion('lifeboat-no-such-tool', ['--version'])).toMatch(/ENOENT/);
  });

  it('reports an unknown moto when the process is not there', () => {
    expect(motoVersion(2 ** 30)).toBe('unknown');
  });

  it('describes the machine with its CPU count and Node when asked', () => {
    const m = machine();

    expect(m.cpus).toBeGreaterThan(0);
    expect(m.node).toBe(process.version);
  });
});
