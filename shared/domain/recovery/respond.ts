import type { InstanceConfig } from '../../config/schema.ts';
import type { OutageConfirmed } from '../../schemas/recovery-events.ts';
import type { Weights } from './ports.ts';
import { runRecoveryStep, type StartOutcome, startRecovery } from './recovery-run.ts';
import { dnsSpecFor, type RecoveryDeps, type RecoveryRun } from './run-store.ts';
import { activeActiveWeights } from './weights.ts';

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
  const responses: OutageResponse[] = [];
  for (const instance of deps.config.instances) {
    responses.push(await respondFor(deps, instance, outage));
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
    const shares = activeActiveWeights(active, new Set([outage.region]));
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
