import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SweepReport } from '../../../../shared/domain/recovery/steps/reconcile.ts';
import { logger } from '../../../../shared/observability.ts';
import { logSweep } from '../../../../shared/runtime/sweep-summary.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every line `logSweep` writes, as [level, message, attributes]. */
function logged(report: SweepReport, ages: Parameters<typeof logSweep>[1]) {
  const lines: [string, string, Record<string, unknown>][] = [];
  for (const level of ['error', 'warn', 'info'] as const)
    vi.spyOn(logger, level).mockImplementation(((
      message: string,
      attrs: Record<string, unknown>,
    ) => {
      lines.push([level, message, attrs]);
    }) as never);
  logSweep(report, ages);
  return lines;
}

const event = { detailType: 'Instance Restored', detail: { instanceId: 'shop', kind: 'recovery' } };

describe('logSweep', () => {
  it('logs breaches and reports as errors, unreachable buckets and nudges as warnings, then the totals', () => {
    const lines = logged(
      {
        runs: 3,
        verdicts: [
          { runId: 'a-g1', action: 'none', why: 'finished' },
          { runId: 'b-g1', action: 'nudge', step: 'verify', window: 1, event },
          { runId: 'c-g1', action: 'report', step: 'verify', window: 3, event },
        ],
        unreachable: [{ region: 'eu-west-1', reason: 'connect ECONNREFUSED' }],
        unpublished: [],
      },
      [
        { instanceId: 'shop', limitSeconds: 600, ageSeconds: 900, breached: true },
        { instanceId: 'blog', limitSeconds: 600, ageSeconds: 10, breached: false },
      ],
    );
    expect(lines.map(([level, message]) => [level, message])).toEqual([
      ['error', 'RPO breached'],
      ['warn', 'control bucket unreachable'],
      ['warn', 'stalled run nudged'],
      ['error', 'stalled run reported'],
      ['info', 'runs swept'],
    ]);
    expect(lines[0]?.[2]).toMatchObject({ instanceId: 'shop', ageSeconds: 900 });
    expect(lines[2]?.[2]).toMatchObject({ runId: 'b-g1', event: 'Instance Restored' });
    expect(lines[4]?.[2]).toEqual({ runs: 3, nudged: 1, reported: 1 });
  });

  it('logs only the totals when the sweep found nothing to do', () => {
    const lines = logged({ runs: 0, verdicts: [], unreachable: [], unpublished: [] }, []);
    expect(lines).toEqual([['info', 'runs swept', { runs: 0, nudged: 0, reported: 0 }]]);
  });
});
