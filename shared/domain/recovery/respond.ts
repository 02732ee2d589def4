import pLimit from 'p-limit';
import type { InstanceConfig } from '../../config/schema.ts';
import { RunFailedError, RunStepError } from '../../errors.ts';
import type {
  FailbackRequest,
  OutageConfirmed,
  RegionRecovered,
} from '../../schemas/recovery-events.ts';
import { DetailType } from '../events.ts';
import { applyActiveReturn, planActiveReturn } from './active-return.ts';
import { driveFailback, startFailback } from './failback-run.ts';
import type { Weights } from './ports.ts';
import { runRecoveryStep, type StartOutcome, startRecovery } from './recovery-run.ts';
import { dnsSpecFor, type RecoveryDeps, type RecoveryRun } from './run-store.ts';
import { activeActiveWeights } from './weights.ts';

/**
 * Instances one planner invocation plans at once: a region's worth of instances in one wave,
 * bounded so a config of hundreds does not open hundreds of requests together (the SDK's
 * default agent keeps 50 sockets per client).
 */
const PLAN_CONCURRENCY = 50;

/** What the planner did for one instance. */
export type OutageResponse =
  | {
      instanceId: string;
      action: 'recovery';
      outcome: StartOutcome['outcome'];
      runId?: string;
      target?: string;
    }
  | { instanceId: string; action: 'drained'; weights: Weights }
  | { instanceId: string; action: 'none'; reason: string };

/**
 * Reacts to a confirmed outage: instances running in the failed region get a recovery run
 * (claimed exactly once across all the detectors that confirm the outage); active-active
 * instances only have the failed region drained, since another region already serves them.
 */
export async function respondToOutage(
  deps: RecoveryDeps,
  outage: OutageConfirmed,
): Promise<OutageResponse[]> {
  if (deps.region === outage.region) {
    // This copy runs inside the failed region: it may still be half alive, but it must not
    // drive a recovery out of itself. The copies in healthy regions claim the run.
    return deps.config.instances.map((i) => ({
      instanceId: i.id,
      action: 'none' as const,
      reason: `this control plane runs in the failed region ${outage.region}`,
    }));
  }
  const unrecorded: string[] = [];
  // The instances are planned at once, not one after another: in turn, the last instance's
  // chain started N plans after the confirmation (the drill at N = 10: 4.3 s for the first RTO,
  // 13.0 s for the last). Each plan starts its slot search at a slot of its own
  // (capacity.ts, preferredSlot), so parallel plans do not race for the same slot.
  const limit = pLimit(PLAN_CONCURRENCY);
  const responses = await Promise.all(
    deps.config.instances.map((instance) =>
      limit(async (): Promise<OutageResponse> => {
        try {
          return await respondFor(deps, instance, outage);
        } catch (error) {
          // One instance that cannot be placed must not hold up the others. A run recorded as
          // failed ("Recovery Failed" names the step) waits for `lifeboat resume`; any other
          // error recorded nothing, and only a retry of this delivery will move the run on.
          const reason = `failed: ${(error as Error).message}`;
          if (!(error instanceof RunFailedError)) unrecorded.push(`${instance.id}: ${reason}`);
          return { instanceId: instance.id, action: 'none', reason };
        }
      }),
    ),
  );
  if (unrecorded.length > 0) {
    throw new RunStepError(
      'plan',
      `nothing recorded for ${unrecorded.join('; ')} (the delivery is retried; decided instances are idempotent)`,
    );
  }
  const undecided = responses.filter((r) => r.action === 'recovery' && r.outcome === 'undecided');
  if (undecided.length > 0) {
    // No claimant holds a majority yet (control buckets unreachable): fail the invocation so
    // the delivery is retried, rather than guess. Decided instances are idempotent on retry.
    throw new RunStepError(
      'claim',
      `claims undecided for ${undecided.map((r) => r.instanceId).join(', ')}: too few control buckets reachable`,
    );
  }
  return responses;
}

async function respondFor(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  outage: OutageConfirmed,
): Promise<OutageResponse> {
  const active = instance.critical ? (instance.activeRegions ?? []) : [];
  if (active.length > 0) {
    if (!active.includes(outage.region)) {
      return { instanceId: instance.id, action: 'none', reason: `not active in ${outage.region}` };
    }
    const spec = dnsSpecFor(instance);
    // Regions already drained by an earlier outage stay drained.
    const current = await deps.dns.readWeights(spec);
    const drained = new Set([outage.region, ...active.filter((r) => current[r] === 0)]);
    const shares = activeActiveWeights(active, drained);
    const weights: Weights = Object.fromEntries(
      Object.keys(spec.targets).map((r) => [r, shares[r] ?? 0]),
    );
    await deps.dns.applyWeights(spec, weights);
    return { instanceId: instance.id, action: 'drained', weights };
  }
  const started = await startRecovery(deps, {
    instance,
    failedRegion: outage.region,
    claimant: outage.deliveryId,
    incident: {
      incidentId: outage.incidentId,
      outageStartedAt: outage.outageStartedAt,
      confirmedAt: outage.confirmedAt,
    },
  });
  if (started.outcome === 'started' || started.outcome === 'resumed') {
    const run: RecoveryRun = await runRecoveryStep(
      deps,
      started.run.runId,
      'plan',
      started.run.claimSet,
    );
    return {
      instanceId: instance.id,
      action: 'recovery',
      outcome: started.outcome,
      runId: run.runId,
      target: run.target,
    };
  }
  if (started.outcome === 'duplicate') {
    return {
      instanceId: instance.id,
      action: 'recovery',
      outcome: 'duplicate',
      runId: started.runId,
    };
  }
  if (started.outcome === 'not-primary') {
    return {
      instanceId: instance.id,
      action: 'none',
      reason: `runs in ${started.primary}, not ${outage.region}`,
    };
  }
  return { instanceId: instance.id, action: 'recovery', outcome: 'undecided' };
}

/** What failback did for one instance. */
export type RecoveryResponse =
  | {
      instanceId: string;
      action: 'failback';
      outcome: string;
      runId?: string;
      status?: string;
      reason?: string;
    }
  | { instanceId: string; action: 'returned'; steps: Weights[] }
  | { instanceId: string; action: 'none'; reason: string };

/**
 * Fans "Region Recovered" out into one "Failback Requested" per instance. A failback watches
 * its canary steps for minutes (3 × 60 s by default), so instance after instance in one
 * 15-minute invocation would fail back only about five; one invocation per instance fails
 * back any number at once, and one instance's timeout or crash is retried on its own.
 */
export async function requestFailbacks(
  deps: RecoveryDeps,
  recovered: RegionRecovered,
): Promise<FailbackRequest[]> {
  const requests = deps.config.instances.map(
    (instance): FailbackRequest => ({
      instanceId: instance.id,
      region: recovered.region,
      recoveredAt: recovered.recoveredAt,
      claimant: recovered.deliveryId,
    }),
  );
  await deps.bus.publish(
    requests.map((detail) => ({ detailType: DetailType.FailbackRequested, detail })),
  );
  return requests;
}

/**
 * Reacts to a region that is healthy again, all instances in this one call (the CLI and
 * in-process callers; the deployed function fans out with `requestFailbacks`).
 */
export async function respondToRecovery(
  deps: RecoveryDeps,
  recovered: RegionRecovered,
): Promise<RecoveryResponse[]> {
  const responses: RecoveryResponse[] = [];
  const unrecorded: string[] = [];
  for (const instance of deps.config.instances) {
    try {
      responses.push(
        await respondToFailbackRequest(deps, {
          instanceId: instance.id,
          region: recovered.region,
          recoveredAt: recovered.recoveredAt,
          claimant: recovered.deliveryId,
        }),
      );
    } catch (error) {
      // Nothing recorded for this one (see respondToFailbackRequest): carry on with the others,
      // then fail so that the caller retries; instances already done are idempotent.
      unrecorded.push(`${instance.id}: ${(error as Error).message}`);
    }
  }
  if (unrecorded.length > 0)
    throw new RunStepError('failback', `nothing recorded for ${unrecorded.join('; ')}`);
  return responses;
}

/**
 * One instance's answer to its region's recovery: a recovered instance fails back home; an
 * active-active instance gets the region's share of traffic back step by step, watching its
 * health, and stays drained if it regresses. A failure recorded on the run is answered, not
 * thrown; an error that recorded nothing is thrown, so the delivery is retried.
 */
export async function respondToFailbackRequest(
  deps: RecoveryDeps,
  request: FailbackRequest,
): Promise<RecoveryResponse> {
  const instance = deps.config.instances.find((i) => i.id === request.instanceId);
  if (!instance)
    return { instanceId: request.instanceId, action: 'none', reason: 'not in the config' };
  const active = instance.critical ? (instance.activeRegions ?? []) : [];
  if (active.length > 0) {
    try {
      return await returnActiveRegion(deps, instance, active, request.region);
    } catch (error) {
      return { instanceId: instance.id, action: 'none', reason: (error as Error).message };
    }
  }
  const started = await startFailback(deps, {
    instance,
    home: request.region,
    claimant: request.claimant,
  });
  switch (started.outcome) {
    case 'started':
    case 'resumed':
      try {
        const run = await driveFailback(deps, started.run);
        return {
          instanceId: instance.id,
          action: 'failback',
          outcome: started.outcome,
          runId: run.runId,
          status: run.status,
        };
      } catch (error) {
        // A failure recorded on the run ("Failback Failed" sent) waits for `lifeboat resume`;
        // anything else recorded nothing, so the invocation fails and Lambda retries it.
        if (!(error instanceof RunFailedError)) throw error;
        return {
          instanceId: instance.id,
          action: 'failback',
          outcome: started.outcome,
          runId: started.run.runId,
          status: 'failed',
          reason: error.message,
        };
      }
    case 'duplicate':
      return {
        instanceId: instance.id,
        action: 'failback',
        outcome: 'duplicate',
        runId: started.runId,
      };
    case 'nothing-to-do':
      return { instanceId: instance.id, action: 'none', reason: started.reason };
    case 'undecided':
      return { instanceId: instance.id, action: 'failback', outcome: 'undecided' };
  }
}

async function returnActiveRegion(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  active: string[],
  region: string,
): Promise<RecoveryResponse> {
  if (!active.includes(region))
    return { instanceId: instance.id, action: 'none', reason: `not active in ${region}` };
  const spec = dnsSpecFor(instance);
  const current = await deps.dns.readWeights(spec);
  if ((current[region] ?? 0) > 0)
    return { instanceId: instance.id, action: 'none', reason: `${region} already serves` };
  // Other active regions at 0 were drained by another outage: they stay drained.
  const drained = [region, ...active.filter((r) => r !== region && current[r] === 0)];
  const policy = deps.config.failback;
  const [plan] = planActiveReturn(instance, drained, [region], policy.canaryPercents);
  const outcome = plan ? await applyActiveReturn(deps, instance, plan) : undefined;
  if (!outcome?.ok) {
    throw new RunStepError(
      'return',
      `${region} regressed while returning ${instance.id}: drained again`,
    );
  }
  return { instanceId: instance.id, action: 'returned', steps: outcome.applied };
}
