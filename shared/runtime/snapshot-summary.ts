import type { SnapshotOutcome } from '../domain/snapshot/run.ts';
import { logger } from '../observability.ts';

/** One line per instance: what a person reading `invoke local` output wants to see. */
export interface SnapshotSummaryLine {
  instanceId: string;
  status: SnapshotOutcome['status'];
  snapshotId?: string;
  reason?: string;
  regionsCommitted?: string[];
  regionsFailed?: { region: string; reason: string }[];
  objectCount?: number;
  bytesTotal?: number;
  bytesUploaded?: number;
  durationMs?: number;
}

/** The outcome's summary line, logged at the level its status deserves. */
export function logSnapshotOutcome(outcome: SnapshotOutcome): SnapshotSummaryLine {
  const result = outcome.status === 'skipped' ? undefined : outcome.result;
  const line: SnapshotSummaryLine = {
    instanceId: outcome.instanceId,
    status: outcome.status,
    snapshotId: result?.snapshotId,
    reason: outcome.status === 'committed' ? undefined : outcome.reason,
    regionsCommitted: result?.regionsCommitted,
    regionsFailed: result?.regionsFailed,
    objectCount: result?.objectCount,
    bytesTotal: result?.bytesTotal,
    bytesUploaded: result?.bytesUploaded,
    durationMs: result?.durationMs,
  };
  if (outcome.status === 'failed') logger.error('snapshot failed', { ...line });
  else logger.info(`snapshot ${outcome.status}`, { ...line });
  if (outcome.status === 'committed') {
    for (const region of outcome.gc) {
      if ('error' in region)
        logger.warn('retention could not run', { instanceId: line.instanceId, ...region });
    }
  }
  return line;
}
