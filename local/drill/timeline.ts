import { DetailType } from '../../shared/domain/events.ts';
import type { DnsRouting, Weights } from '../../shared/domain/recovery/ports.ts';
import type { RecoveryRun } from '../../shared/domain/recovery/run.ts';

/**
 * When things happened, as opposed to when the drill noticed them: an event's own time (the
 * step's recorded time in its run, the time its detail carries, or EventBridge's `time`), every
 * weight change as it was applied, and the phases of each instance's outage as time bands.
 */

/** One event as the drill's recorder received it. */
export interface DeliveredEvent {
  /** When the recorder got it: the last resort, never the truth when anything better exists. */
  at: Date;
  /** EventBridge's own `time` of the event (second precision on AWS). */
  time?: string;
  detailType: string;
  detail: Record<string, unknown>;
}

/** Where an event's time came from, most precise first. */
/** The drill's recorder rule's handler: every delivered lifeboat event, as it arrives. */
export function recorderOf(delivered: DeliveredEvent[]): (event: unknown) => Promise<void> {
  return async (event) => {
    const e = event as { 'detail-type': string; time?: string; detail: Record<string, unknown> };
    delivered.push({
      at: new Date(),
      ...(typeof e.time === 'string' ? { time: e.time } : {}),
      detailType: e['detail-type'],
      detail: e.detail,
    });
  };
}

export type TimeSource = 'step' | 'detail' | 'eventbridge' | 'delivered';

/** The step whose completion each run event announces. */
const STEP_OF: Record<string, string> = {
  [DetailType.RecoveryPlanned]: 'plan',
  [DetailType.InstanceRestored]: 'restore',
  [DetailType.InstanceVerified]: 'verify',
  [DetailType.RecoveryCompleted]: 'shift',
  [DetailType.FailbackCompleted]: 'release',
};

const valid = (iso: unknown): iso is string =>
  typeof iso === 'string' && Number.isFinite(Date.parse(iso));

/**
 * The time an event happened: the recorded time of the step it announces (from the run record),
 * the failure's time for a failed run, the confirmation time an outage event carries, then
 * EventBridge's `time`, and only then the time the drill received it.
 */
export function ownTime(
  event: DeliveredEvent,
  runs: ReadonlyMap<string, RecoveryRun>,
): { at: Date; source: TimeSource } {
  const run = typeof event.detail.runId === 'string' ? runs.get(event.detail.runId) : undefined;
  const step = STEP_OF[event.detailType];
  const stepAt = step ? run?.steps[step]?.at : undefined;
  if (valid(stepAt)) return { at: new Date(stepAt), source: 'step' };
  if (
    run &&
    (event.detailType === DetailType.RecoveryFailed ||
      event.detailType === DetailType.FailbackFailed) &&
    valid(run.updatedAt)
  )
    return { at: new Date(run.updatedAt), source: 'step' };
  for (const field of ['confirmedAt', 'recoveredAt', 'at', 'time'] as const) {
    const value = event.detail[field];
    if (valid(value)) return { at: new Date(value), source: 'detail' };
  }
  if (valid(event.time)) return { at: new Date(event.time), source: 'eventbridge' };
  return { at: event.at, source: 'delivered' };
}

/** One weight change applied to an instance's records, and when it took effect. */
export interface WeightChange {
  at: Date;
  instanceId: string;
  weights: Weights;
}

/**
 * The DNS port with every applied change recorded as it completes (Route 53 says INSYNC), so
 * each canary step of a failback shows, not only the weights the drill happens to read.
 */
export function recordingDns(
  inner: DnsRouting,
  record: (change: WeightChange) => void,
  clock: () => Date = () => new Date(),
): DnsRouting {
  return {
    readWeights: (spec) => inner.readWeights(spec),
    async applyWeights(spec, weights) {
      const result = await inner.applyWeights(spec, weights);
      record({ at: clock(), instanceId: spec.instanceId, weights: { ...weights } });
      return result;
    },
  };
}

/** A span of an instance's story on the report's time axis. */
export interface Band {
  instanceId: string;
  kind: 'outage' | 'detection' | 'recovery' | 'failback' | 'rpo';
  label: string;
  from: string;
  to: string;
}

/** A single moment marked on an instance's lane (RTO). */
export interface Marker {
  instanceId: string;
  label: string;
  at: string;
}

/** Bands of a run's steps: each from the previous step's recorded time (or the run's start). */
function stepBands(run: RecoveryRun, order: readonly string[]): Band[] {
  const bands: Band[] = [];
  let from = run.startedAt;
  for (const step of order) {
    const record = run.steps[step];
    if (!record) continue;
    const to = record.at ?? (record.status === 'failed' ? run.updatedAt : undefined);
    if (!to) continue;
    bands.push({
      instanceId: run.instanceId,
      kind: run.kind,
      label: `${run.kind === 'failback' ? 'failback ' : ''}${step}${record.attempts > 1 ? ` (${record.attempts} attempts)` : ''}${record.status === 'failed' ? ' FAILED' : ''}`,
      from,
      to,
    });
    from = to;
  }
  return bands;
}

/**
 * One instance's phases: the outage (fault → home back), detection (fault → confirmed), each
 * recovery and failback step, the data at risk (newest snapshot → fault: the RPO), and the RTO
 * (fault → traffic shifted) as a marker.
 */
export function phaseBands(input: {
  instanceId: string;
  outageAt?: Date;
  homeBackAt?: Date;
  confirmedAt?: string;
  runs: readonly RecoveryRun[];
}): { bands: Band[]; markers: Marker[] } {
  const { instanceId, outageAt } = input;
  const bands: Band[] = [];
  const markers: Marker[] = [];
  const runs = input.runs
    .filter((r) => r.instanceId === instanceId)
    .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  const recovery = runs.find((r) => r.kind === 'recovery');
  if (outageAt) {
    const end =
      input.homeBackAt ?? (recovery ? new Date(recovery.updatedAt) : undefined) ?? outageAt;
    bands.push({
      instanceId,
      kind: 'outage',
      label: 'outage',
      from: outageAt.toISOString(),
      to: end.toISOString(),
    });
    const confirmed = input.confirmedAt ?? recovery?.incident.confirmedAt;
    if (valid(confirmed))
      bands.push({
        instanceId,
        kind: 'detection',
        label: `detection ${seconds(outageAt.toISOString(), confirmed)}s`,
        from: outageAt.toISOString(),
        to: confirmed,
      });
  }
  for (const run of runs) {
    bands.push(...stepBands(run, Object.keys(run.steps)));
  }
  if (recovery?.snapshot && outageAt) {
    bands.push({
      instanceId,
      kind: 'rpo',
      label: `RPO ${seconds(recovery.snapshot.takenAt, outageAt.toISOString())}s (writes after the snapshot)`,
      from: recovery.snapshot.takenAt,
      to: outageAt.toISOString(),
    });
  }
  const shiftedAt = recovery?.metrics?.shiftedAt;
  if (outageAt && valid(shiftedAt))
    markers.push({
      instanceId,
      label: `RTO ${seconds(outageAt.toISOString(), shiftedAt)}s`,
      at: shiftedAt,
    });
  return { bands, markers };
}

const seconds = (from: string, to: string) =>
  Math.round((Date.parse(to) - Date.parse(from)) / 100) / 10;
