import type { InstanceConfig } from '../../config/schema.ts';
import type { Clock } from '../ports.ts';

/**
 * What a fence means depends on the kind. The reference runtime refuses config writes while
 * fenced, so its fence holds at once. API Gateway takes writes from its owners' pipelines, not
 * through lifeboat: its fence is a marker those pipelines check before they deploy, and a
 * deploy already under way still lands. Such a fence holds only once its writers have had time
 * to see it (docs/apigateway.md, "Fencing and failback").
 */

/** API Gateway's default: a deploy pipeline run that began before the fence has finished. */
export const DEFAULT_API_GATEWAY_SETTLE_SECONDS = 60;

/** How long after its fence an instance's copy may still take writes (0: at once). */
export function fenceSettleMs(instance: InstanceConfig): number {
  if (instance.kind !== 'apigateway') return 0;
  return (instance.apigateway?.fenceSettleSeconds ?? DEFAULT_API_GATEWAY_SETTLE_SECONDS) * 1000;
}

/** Whether writes can still land on a fenced copy of the instance (its fence is a marker). */
export const fenceIsAdvisory = (instance: InstanceConfig): boolean =>
  instance.kind === 'apigateway';

/**
 * Waits until a fence put up no later than `fencedBy` (an ISO time; absent: now) has settled.
 * Step records carry the time a step finished, which is after its fence went up, so waiting
 * from it errs on the safe side.
 */
export async function awaitFenceSettled(
  instance: InstanceConfig,
  fencedBy: string | undefined,
  clock: Clock,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  const settleMs = fenceSettleMs(instance);
  if (settleMs === 0) return;
  const now = clock.now().getTime();
  const since = fencedBy === undefined ? now : Date.parse(fencedBy);
  const wait = (Number.isNaN(since) ? now : since) + settleMs - now;
  if (wait > 0) await sleep(wait);
}
