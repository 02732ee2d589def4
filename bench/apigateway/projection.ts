import {
  AWS_PACING,
  type PacingPolicy,
  projectSeconds,
} from '../../shared/domain/apigateway/pacing.ts';

/*
 * Projections of a measured call sequence onto AWS. Three figures, each with what it assumes:
 *
 * - `awsPacing`: `projectSeconds(calls, AWS_PACING)`, lifeboat's own projection. Pure rate
 *   limits: each call costs only its tokens (no latency), every bucket starts full (40 for the
 *   account), and the binding limit is whichever of the account's or one operation's takes
 *   longest. A lower bound on AWS.
 * - `documentedQuotas`: the same function under AWS_PACING plus the fixed per-operation quotas
 *   AWS documents that AWS_PACING leaves out (CreateResource 5/s, ImportRestApi 1 per 3 s, ...).
 *   On AWS, lifeboat's pacer would meet those as 429s and back off, so this is the closer bound.
 * - `replayed`: the run's wall time against moto plus the waits the AWS pacer itself added on
 *   a virtual clock, in the run's real order and concurrency. moto's latency stands in for
 *   AWS's (AWS answers control-plane calls more slowly, so serial steps take longer there).
 */

/** AWS's fixed per-account control-plane quotas that AWS_PACING does not list (AWS docs, "API Gateway quotas"). */
export const DOCUMENTED_EXTRA: Record<string, { perSecond: number; burst: number }> = {
  CreateApiKey: { perSecond: 5, burst: 5 },
  DeleteApiKey: { perSecond: 5, burst: 5 },
  CreateResource: { perSecond: 5, burst: 5 },
  DeleteResource: { perSecond: 5, burst: 5 },
  CreateDomainName: { perSecond: 1 / 30, burst: 1 },
  UpdateDomainName: { perSecond: 1 / 30, burst: 1 },
  DeleteDomainName: { perSecond: 1 / 30, burst: 1 },
  UpdateUsagePlan: { perSecond: 1 / 20, burst: 1 },
  ImportRestApi: { perSecond: 1 / 3, burst: 1 },
  PutRestApi: { perSecond: 1, burst: 1 },
};

/** AWS_PACING with the documented quotas it leaves out. */
export const DOCUMENTED_PACING: PacingPolicy = {
  account: AWS_PACING.account,
  operations: { ...DOCUMENTED_EXTRA, ...AWS_PACING.operations },
};

/** The three projections of one phase, in seconds. */
export interface Projection {
  awsPacingS: number;
  documentedQuotasS: number;
  replayedS: number;
}

/** Projects one phase's calls onto AWS. */
export function project(
  calls: Record<string, number>,
  wallMs: number,
  pacerWaitMs: number,
): Projection {
  const map = new Map(Object.entries(calls));
  return {
    awsPacingS: projectSeconds(map, AWS_PACING),
    documentedQuotasS: projectSeconds(map, DOCUMENTED_PACING),
    replayedS: (wallMs + pacerWaitMs) / 1000,
  };
}
