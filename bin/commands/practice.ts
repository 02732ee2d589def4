import { practiceDeps } from '../../shared/composition.ts';
import { findRegion } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import type { RecoveryDeps } from '../../shared/domain/recovery/ports.ts';
import { type PracticeReport, runPractice } from '../../shared/domain/recovery/practice.ts';
import { UsageError } from '../../shared/errors.ts';
import { actingRegion, checkOptions, oneInstance } from '../cli/args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import {
  contextFor,
  operation,
  type RecoveryVerbIo,
  type RecoveryVerbOptions,
} from '../cli/recovery-io.ts';
import { OPTION, type Verb } from '../cli/verb.ts';
import { reportText } from './report.ts';

/** What a practice verb needs besides the config's own ports (tests: fast sleeps). */
export interface PracticeVerbIo extends RecoveryVerbIo {
  /** Laid over the practice ports (never over DNS: a practice's DNS is read-only). */
  practice?: Partial<Pick<RecoveryDeps, 'sleep' | 'clock' | 'verifyAttempts'>>;
}

/** The practice's outcome, then its report as `lifeboat report` prints it. */
export function practiceText(report: PracticeReport): string[] {
  return [
    `practice ${report.runId}: ${report.instanceId} ${report.from} -> ${report.target ?? '?'} as ${report.practiceId}: ${report.passed ? 'PASSED' : `FAILED (${report.reason})`}`,
    `  a real recovery now would have had RTO ${report.rtoSeconds === undefined ? '-' : `${report.rtoSeconds.toFixed(1)} s`} (confirmation to verified, before the DNS change) and RPO ${report.rpoSeconds === undefined ? '-' : `${report.rpoSeconds.toFixed(1)} s`}`,
    `  DNS ${report.dnsUntouched ? 'untouched' : 'CHANGED'}; practice copy ${report.leftovers === 0 ? 'removed' : `${report.leftovers} object(s) LEFT`}; room released`,
    ...reportText(report),
  ];
}

/**
 * `lifeboat practice --instance ID [--to REGION]`: rehearses a recovery of the instance for
 * real, under a practice identity nothing routes to, and removes it (practice.ts). Exits 1 when
 * the practice failed: that is what a real recovery would have run into.
 */
export async function practiceVerb(
  config: LifeboatConfig,
  options: RecoveryVerbOptions,
  io: PracticeVerbIo = {},
): Promise<number> {
  checkOptions('practice', options, ['instance', 'to', 'json', 'from-region']);
  const instance = oneInstance(config, options.instance, 'practice');
  const to = options.to === undefined ? undefined : findRegion(config, String(options.to)).name;
  if (to === instance.homeRegion)
    throw new UsageError(
      `--to: ${to} is ${instance.id}'s home region; a practice restores somewhere else`,
    );
  const here = actingRegion(config, options['from-region'], instance.homeRegion);
  const ctx = contextFor(config, io, here);
  return operation(ctx, 'practice', async () => {
    const deps = { ...practiceDeps(config, instance, here), ...io.practice };
    const report = await runPractice(deps, instance, { ...(to ? { to } : {}), by: ctx.operator });
    if (options.json) ctx.out(JSON.stringify(report, null, 2));
    else for (const line of practiceText(report)) ctx.out(line);
    return report.passed ? EXIT.ok : EXIT.failed;
  });
}

/** The `practice` verb of the command line. */
export const practice: Verb = {
  name: 'practice',
  summary: 'rehearse a recovery for real under a practice identity, measure its RTO, remove it',
  details:
    "Never changes DNS, the home instance or a real run. The report goes where real runs' reports go (lifeboat report --last), marked practice.",
  options: [
    OPTION.oneInstance,
    {
      flags: '--to <region>',
      description: 'the region to practise in (default: as a recovery would choose)',
    },
    OPTION.json,
    OPTION.fromRegion,
  ],
  needsAws: true,
  run: ({ config, options }) => practiceVerb(config, options),
};
