import type { InstanceConfig } from '../../config/schema.ts';
import type { ClaimRecord } from './claims.ts';
import type { DnsRecordSpec, RecoveryDeps, Weights } from './ports.ts';
import type { RecoveryRun } from './run.ts';
import { latestGeneration, loadRun } from './run-store.ts';

/**
 * Where an instance serves from now, read from its latest generation: what the dry run, the
 * status report and the operator's failback decide on. Only reads.
 */

/** Where an instance serves from now, as its latest generation records it. */
export type InstanceState =
  | 'home'
  | 'recovered'
  | 'recovering'
  | 'recovery-failed'
  | 'failing-back'
  | 'failback-failed'
  | 'active-active'
  | 'unknown';

/** An instance's state, the regions it serves from, and the claim and run behind them. */
export interface Whereabouts {
  runsIn: string[];
  state: InstanceState;
  generation: number;
  claim?: ClaimRecord;
  run?: RecoveryRun;
}

/** Reads an instance's latest generation and its run, and says where it serves from. */
export async function whereabouts(
  deps: RecoveryDeps,
  instance: InstanceConfig,
): Promise<Whereabouts> {
  const { generation, claim } = await latestGeneration(deps, instance.id);
  const run = claim ? await loadRun(deps, String(claim.payload.runId), claim.claimSet) : undefined;
  const base = { generation, ...(claim ? { claim } : {}), ...(run ? { run } : {}) };
  if (instance.critical && instance.activeRegions?.length) {
    return { ...base, runsIn: [...instance.activeRegions], state: 'active-active' };
  }
  if (!claim) return { ...base, runsIn: [instance.homeRegion], state: 'home' };
  if (!run) {
    return {
      ...base,
      runsIn: [String(claim.payload.from ?? instance.homeRegion)],
      state: 'unknown',
    };
  }
  if (run.kind === 'recovery') {
    if (run.status === 'completed' && run.target) {
      return { ...base, runsIn: [run.target], state: 'recovered' };
    }
    return {
      ...base,
      runsIn: [run.from],
      state: run.status === 'failed' ? 'recovery-failed' : 'recovering',
    };
  }
  if (run.status === 'completed') {
    return { ...base, runsIn: [run.target ?? instance.homeRegion], state: 'home' };
  }
  // A failback that has not finished (or rolled back) leaves the recovered instance serving.
  return {
    ...base,
    runsIn: [run.from],
    state: run.status === 'failed' ? 'failback-failed' : 'failing-back',
  };
}

/** Current weights of an instance's records, or why they could not be read. */
export interface DnsReading {
  weights?: Weights;
  error?: string;
}

/** Reads the weights; a DNS that does not answer is reported, not thrown. */
export async function readDns(deps: RecoveryDeps, spec: DnsRecordSpec): Promise<DnsReading> {
  try {
    return { weights: await deps.dns.readWeights(spec) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** "is running", "completed", "failed at verify: <reason>". */
export function describeRunState(run: RecoveryRun): string {
  if (run.status === 'failed') {
    return `failed${run.failedStep ? ` at ${run.failedStep}` : ''}: ${run.reason ?? 'no reason recorded'}${run.rolledBack ? ' (rolled back)' : ''}`;
  }
  return run.status === 'running' ? 'is running' : 'completed';
}
