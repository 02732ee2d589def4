import { RunStepError } from '../../../errors.ts';
import type { InstanceHealth, RecoveryDeps } from '../ports.ts';
import type { RecoveryRun } from '../run.ts';

/** verify: the restored instance answers and serves exactly the snapshot's config. */

/**
 * Health-checks an instance with backoff until it answers and serves exactly `digest`: a
 * restore only counts once the running instance proves it serves the restored config.
 */
export async function awaitServing(
  deps: RecoveryDeps,
  instanceId: string,
  region: string,
  digest: string,
  step: string,
): Promise<InstanceHealth> {
  const attempts = deps.verifyAttempts ?? 10;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const health = await deps.instances.health(instanceId, region);
    if (health.ok && health.configDigest === digest) return health;
    last = health.ok
      ? `serves config ${health.configDigest}, expected ${digest}`
      : (health.error ?? 'unhealthy');
    await deps.sleep(Math.min(5000, 200 * 2 ** attempt));
  }
  throw new RunStepError(
    step,
    `instance ${instanceId} in ${region} did not verify after ${attempts} checks: ${last}`,
  );
}

/** The recovery's verify step. */
export async function verify(deps: RecoveryDeps, run: RecoveryRun): Promise<Partial<RecoveryRun>> {
  const { target, snapshot } = run;
  if (!target || !snapshot) throw new RunStepError('verify', 'run has no plan');
  await awaitServing(deps, run.instanceId, target, snapshot.configDigest, 'verify');
  return {};
}
