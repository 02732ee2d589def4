import { writeFileSync } from 'node:fs';
import { PRACTICE_RUN_ID } from '../../shared/domain/recovery/practice.ts';
import {
  latestRunReport,
  type RunReport,
  readRunReport,
  renderRunReport,
} from '../../shared/domain/recovery/run-report.ts';
import { UsageError } from '../../shared/errors.ts';
import { actingRegion, checkOptions, checkRunId } from '../cli/args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { contextFor, operation, type RecoveryVerb } from '../cli/recovery-io.ts';
import { OPTION, type Verb } from '../cli/verb.ts';

const weightsText = (w: Record<string, number>) =>
  Object.entries(w)
    .map(([r, v]) => `${r}=${v}`)
    .join(' ');

/** The report as text: the header, each step, the weights and the timeline. */
export function reportText(report: RunReport): string[] {
  const lines = [
    `${report.practice ? 'practice' : report.kind} ${report.runId}: ${report.instanceId} ${report.from} -> ${report.target ?? '?'} ${report.status.toUpperCase()}`,
    `  started ${report.startedAt} by ${report.claimant}; ended ${report.endedAt} (${report.durationSeconds} s)`,
    `  RTO ${report.rtoSeconds === undefined ? '-' : `${report.rtoSeconds.toFixed(1)} s`}, RPO ${report.rpoSeconds === undefined ? '-' : `${report.rpoSeconds.toFixed(1)} s`}; snapshot ${report.snapshot ? `${report.snapshot.snapshotId} (${report.snapshot.region})` : '-'}; ${report.approvedBy ? `approved by ${report.approvedBy}` : 'no approval asked'}`,
  ];
  if (report.reason) lines.push(`  failed at ${report.failedStep ?? '?'}: ${report.reason}`);
  lines.push('  steps:');
  for (const s of report.steps)
    lines.push(
      `    ${s.name.padEnd(9)} ${s.status.padEnd(7)} ${String(s.attempts).padStart(2)} attempt(s)${s.durationSeconds === undefined ? '' : `, ${s.durationSeconds} s`}${s.detail ? ` (${s.detail})` : ''}`,
    );
  lines.push('  weights:');
  for (const w of report.weights)
    lines.push(`    ${(w.at ?? '-').padEnd(24)} ${w.label}: ${weightsText(w.weights)}`);
  lines.push('  timeline:');
  for (const e of report.timeline) lines.push(`    ${e.at.padEnd(24)} ${e.kind} ${e.detail}`);
  return lines;
}

/** `lifeboat report --run ID [--html FILE] [--json]` or `--last`: a run's report. */
export const reportVerb: RecoveryVerb = async (config, options, io = {}) => {
  checkOptions('report', options, ['run', 'last', 'html', 'json', 'from-region']);
  const runId = options.run;
  if (runId !== undefined && options.last)
    throw new UsageError('report: give --run ID or --last, not both');
  if (runId === undefined && !options.last)
    throw new UsageError('report: --run RUN_ID or --last is required');
  // A practice's run id has its own form (shared/domain/recovery/practice.ts).
  if (runId !== undefined && !PRACTICE_RUN_ID.test(runId)) checkRunId(runId);
  if (options.html !== undefined && (typeof options.html !== 'string' || options.html === ''))
    throw new UsageError('--html: give the file to write the page to');
  const ctx = contextFor(config, io, actingRegion(config, options['from-region']));
  return operation(ctx, 'report', async () => {
    const report = runId ? await readRunReport(ctx.deps, runId) : await latestRunReport(ctx.deps);
    if (!report) {
      ctx.err(
        `lifeboat report: ${runId ? `no report for run "${runId}"` : 'no run report'} in any reachable control bucket (${config.regions.map((r) => r.name).join(', ')})`,
      );
      return EXIT.failed;
    }
    if (options.json) ctx.out(JSON.stringify(report, null, 2));
    else for (const line of reportText(report)) ctx.out(line);
    if (typeof options.html === 'string') {
      writeFileSync(options.html, renderRunReport(report));
      ctx.out(`page: ${options.html}`);
    }
    return EXIT.ok;
  });
};

/** The `report` verb of the command line. */
export const report: Verb = {
  name: 'report',
  summary: 'the report a recovery or failback run left when it ended (text, JSON or HTML)',
  options: [
    { flags: '--run <id>', description: 'the run (e.g. petstore-g1)' },
    { flags: '--last', description: 'the newest report of any run' },
    { flags: '--html <file>', description: 'also write the report page to this file' },
    OPTION.json,
    OPTION.fromRegion,
  ],
  needsAws: true,
  run: ({ config, options }) => reportVerb(config, options),
};
