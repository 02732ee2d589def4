import { z } from 'zod';
import { CorruptStateError } from '../../errors.ts';
import { firstProblem } from '../../validation.ts';
import type { RecoveryRun } from './run.ts';

const StoredWeights = z.record(z.string(), z.number());

/**
 * A run as read back from a control bucket. Only the fields the engine and the steps read or
 * branch on are checked (loose: the rest is our own output); a copy edited by hand or cut short
 * must be refused here, not crash a step halfway with a TypeError.
 */
const StoredRun = z.looseObject({
  runId: z.string(),
  kind: z.enum(['recovery', 'failback']),
  instanceId: z.string(),
  generation: z.number(),
  from: z.string(),
  claimant: z.string(),
  claimSet: z.array(z.string()),
  status: z.enum(['running', 'completed', 'failed']),
  reason: z.string().optional(),
  failedStep: z.string().optional(),
  incident: z.looseObject({
    incidentId: z.string().optional(),
    outageStartedAt: z.string().optional(),
    confirmedAt: z.string().optional(),
  }),
  target: z.string().optional(),
  reservation: z.looseObject({ region: z.string(), slots: z.array(z.number()) }).optional(),
  snapshot: z
    .looseObject({
      snapshotId: z.string(),
      region: z.string(),
      configDigest: z.string(),
      takenAt: z.string(),
    })
    .optional(),
  weights: z.looseObject({ before: StoredWeights, after: StoredWeights }).optional(),
  recoveryRunId: z.string().optional(),
  canary: z.array(StoredWeights).optional(),
  rolledBack: z.boolean().optional(),
  restoreOnAws: z
    .looseObject({
      measuredSeconds: z.number().nonnegative(),
      projectedSeconds: z.number().nonnegative(),
    })
    .optional(),
  approval: z
    .looseObject({
      requestedAt: z.string().optional(),
      timeoutAt: z.string().optional(),
      onTimeout: z.enum(['proceed', 'wait']).optional(),
      decision: z.enum(['approved', 'rejected']).optional(),
      by: z.string().optional(),
      at: z.string().optional(),
    })
    .optional(),
  driver: z.string().optional(),
  metrics: z.looseObject({ shiftedAt: z.string() }).optional(),
  steps: z.record(
    z.string(),
    z.looseObject({ status: z.enum(['pending', 'done', 'failed']), attempts: z.number() }),
  ),
  seq: z.number(),
  startedAt: z.string(),
  updatedAt: z.string(),
}) satisfies z.ZodType<RecoveryRun>;

/** One control bucket's copy of a run: the run, or why it cannot be read. */
export type StoredCopy = { run: RecoveryRun } | { corrupt: CorruptStateError };

/** Checks a stored copy of a run, naming the first bad field when it is refused. */
export function readStoredRun(location: string, key: string, value: unknown): StoredCopy {
  const parsed = StoredRun.safeParse(value);
  if (parsed.success) return { run: parsed.data };
  const { field, message } = firstProblem(parsed.error);
  return {
    corrupt: new CorruptStateError(`${location} ${key}`, `${field || '(document)'}: ${message}`),
  };
}
