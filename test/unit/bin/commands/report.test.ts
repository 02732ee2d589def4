import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportVerb } from '../../../../bin/commands/report.ts';
import { UsageError } from '../../../../shared/errors.ts';
import { recoveryWorld } from '../../../worlds/recovery.ts';

async function recovered() {
  const w = recoveryWorld();
  const run = await w.recover();
  const out: string[] = [];
  const err: string[] = [];
  const io = { deps: w.deps, out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
  return { w, run, out, err, io };
}

describe('reportVerb', () => {
  it('prints the report of a run with its steps, RTO and RPO when given --run', async () => {
    const { w, run, out, io } = await recovered();
    expect(await reportVerb(w.config, { run: run.runId }, io)).toBe(0);
    const text = out.join('\n');
    expect(text).toContain(`recovery ${run.runId}: petstore us-east-1 -> ${run.target} COMPLETED`);
    expect(text).toMatch(/RTO \d+\.\d s, RPO \d+\.\d s/);
    for (const step of ['plan', 'restore', 'verify', 'shift'])
      expect(text).toContain(`    ${step}`);
  });

  it('finds the newest report with --last and writes the page with --html', async () => {
    const { w, run, out, io } = await recovered();
    const file = join(mkdtempSync(join(tmpdir(), 'lifeboat-report-')), 'run.html');
    expect(await reportVerb(w.config, { last: true, html: file }, io)).toBe(0);
    expect(out[0]).toContain(run.runId);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain(`lifeboat recovery ${run.runId}`);
  });

  it('prints the report as JSON with --json', async () => {
    const { w, run, out, io } = await recovered();
    expect(await reportVerb(w.config, { run: run.runId, json: true }, io)).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({ runId: run.runId, format: 1 });
  });

  it('fails naming the run when no control bucket has its report', async () => {
    const { w, err, io } = await recovered();
    expect(await reportVerb(w.config, { run: 'petstore-g9' }, io)).toBe(1);
    expect(err.join('\n')).toContain('no report for run "petstore-g9"');
  });

  it.each([
    [{}, '--run RUN_ID or --last'],
    [{ run: 'petstore-g1', last: true }, 'not both'],
    [{ run: 'not a run' }, '--run'],
    [{ last: true, region: 'us-east-1' }, '--region'],
  ])('refuses %j naming the option', async (options, text) => {
    const w = recoveryWorld();
    const error = await reportVerb(w.config, options, { deps: w.deps }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(text);
  });
});
