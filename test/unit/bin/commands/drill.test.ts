import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { drillCommand } from '../../../../bin/commands/drill.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../../shared/config/load.ts';
import { UsageError } from '../../../../shared/errors.ts';

const config = loadConfig(DEFAULT_CONFIG_PATH);

/** The refusal, which must come before any local AWS is started (these never reach it). */
async function refusal(options: Parameters<typeof drillCommand>[1]): Promise<UsageError> {
  const error = await drillCommand(config, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof UsageError)) throw new Error(`test: expected a UsageError, got ${error}`);
  return error;
}

describe('drillCommand arguments', () => {
  it.each([
    [{ scenario: 'meteor' }, '--scenario'],
    [{ instances: '0' }, '--instances'],
    [{ instances: '201' }, '--instances'],
    [{ capacity: '0' }, '--capacity'],
    [{ capacity: 'lots' }, '--capacity'],
    [{ crash: 'detect' }, '--crash'],
    [{ regions: 'two' }, '--regions'],
    [{ seed: '-1' }, '--seed'],
  ])('refuses %j by naming the option', async (options, option) => {
    expect((await refusal(options)).message).toContain(option);
  });

  it('refuses a report path whose folder does not exist before drilling', async () => {
    const missing = join(tmpdir(), 'lifeboat-no-such-folder', 'report.json');
    const error = await refusal({ report: missing });
    expect(error.message).toContain('--report');
    expect(error.message).toContain('does not exist');
  });

  it('refuses a folder given as the HTML page', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'lifeboat-drill-'));
    expect((await refusal({ html: folder })).message).toContain('is a folder');
  });
});
