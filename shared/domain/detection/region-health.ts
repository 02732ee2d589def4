import type { DetectionPolicy } from '../../config/schema.ts';
import type { DetectorSettings, RegionHealth } from './health-state.ts';
import { copyForUpdate, recordObservation } from './history.ts';
import { type Signal, signalAt } from './signals.ts';
import { evaluateInPlace } from './state-machine.ts';
import { laterOf, ms, secondsBetween } from './time.ts';

/**
 * The outage state machine of one target region, as one detector sees it. Pure: every
 * function here takes the state and a time and returns a new state; nothing reads a clock.
 *
 *   healthy ──(a vantage fails)──> suspect ──(quorum failing for the whole window)──> outage
 *   outage ──(quorum answering, no quorum failing)──> recovering
 *   recovering ──(quorum answering for recoverySeconds)──> healthy
 *   recovering ──(quorum no longer answering, or a quorum failing)──> outage  (same incident)
 *
 * Votes are derived from a short history of observations rather than from running counters,
 * so the result does not depend on the order in which observations are delivered: a late
 * observation is slotted into place and every vote is recomputed from the history.
 *
 * The module is split by responsibility: `signals.ts` (inputs), `health-state.ts` (the state
 * and settings), `history.ts`, `votes.ts`, `state-machine.ts` and `zones.ts`. This file folds
 * signals in and re-exports the public names.
 */

export * from './health-state.ts';
export * from './signals.ts';
export { evaluate } from './state-machine.ts';

/** Derives the detector's numbers from the config. */
export function detectorSettings(policy: DetectionPolicy, regionCount: number): DetectorSettings {
  const windowSeconds = policy.intervalSeconds * policy.failureThreshold;
  return {
    intervalSeconds: policy.intervalSeconds,
    windowSeconds,
    corroboratedWindowSeconds: policy.intervalSeconds,
    staleSeconds: Math.max(2 * windowSeconds, 3 * policy.intervalSeconds),
    recoverySeconds: policy.recoverySeconds,
    quorum: policy.quorum ?? Math.max(1, Math.min(3, regionCount - 1)),
    alarmsCanConfirm: policy.alarmsCanConfirm,
    healthEventsCanConfirm: policy.healthEventsCanConfirm,
  };
}

/** A fresh, healthy state. */
export function initialRegionHealth(region: string, at: string): RegionHealth {
  return {
    region,
    status: 'healthy',
    statusSince: at,
    endpoints: {},
    vantages: {},
    alarms: {},
    healthEvents: {},
    degradedZones: {},
    outbox: [],
  };
}

/** Folds one signal into the state, then re-evaluates the state machine. */
export function applySignal(
  state: RegionHealth,
  signal: Signal,
  settings: DetectorSettings,
): RegionHealth {
  return applySignals(state, [signal], settings);
}

/**
 * Folds a time-ordered batch of signals into the state. One probe round delivers an observation
 * per endpoint, all taken within a fraction of an interval; re-evaluating after each of them
 * made a round cost O(endpoints²). Instead the machine is evaluated once per burst: after the
 * last of a run of observations that lie within half a probe interval of the run's first, and
 * right after every alarm, Health event or tick. Votes derive from the recorded history, so
 * evaluating a burst at its end reaches the same verdict as evaluating after each observation
 * whenever no window boundary falls inside the burst, and at most half an interval later when
 * one does.
 */
export function applySignals(
  state: RegionHealth,
  signals: readonly Signal[],
  settings: DetectorSettings,
): RegionHealth {
  const next = copyForUpdate(state);
  let changed = false;
  let pending = false;
  let recorded = false;
  let burstStart: string | undefined;
  const burstSeconds = settings.intervalSeconds / 2;
  for (const [index, signal] of signals.entries()) {
    const at = signalAt(signal);
    if (!record(next, signal, settings)) continue;
    recorded = true;
    if (signal.kind !== 'tick') changed = true;
    next.latestSignalAt = next.latestSignalAt ? laterOf(next.latestSignalAt, at) : at;
    pending = true;
    burstStart ??= at;
    const following = signals[index + 1];
    const burstEnds =
      signal.kind !== 'observation' ||
      following === undefined ||
      following.kind !== 'observation' ||
      secondsBetween(burstStart, signalAt(following)) > burstSeconds;
    if (burstEnds) {
      evaluateInPlace(next, next.latestSignalAt, settings);
      pending = false;
      burstStart = undefined;
    }
  }
  if (pending) evaluateInPlace(next, next.latestSignalAt as string, settings);
  // Nothing recorded (duplicates, late signals): nothing was evaluated either.
  if (!recorded) return state;
  // Ticks that change nothing must not cost a write: callers compare identity.
  if (!changed && JSON.stringify(next) === JSON.stringify(state)) return state;
  return next;
}

/** Records one signal into `next` (a private copy). False for a duplicate, late or stale signal. */
function record(next: RegionHealth, signal: Signal, settings: DetectorSettings): boolean {
  switch (signal.kind) {
    case 'observation':
      return recordObservation(next, signal.observation, settings);
    case 'alarm': {
      const at = signal.alarm.at;
      const previous = next.alarms[signal.alarm.alarmName];
      if (previous && ms(previous.since) >= ms(at)) return false; // duplicate or late
      if (previous?.state === signal.alarm.state) return false; // same state again: keep its start
      next.alarms[signal.alarm.alarmName] = {
        state: signal.alarm.state,
        since: at,
        instanceId: signal.alarm.instanceId,
      };
      return true;
    }
    case 'health': {
      const at = signal.health.at;
      const previous = next.healthEvents[signal.health.eventArn];
      const lastKnown = previous?.updatedAt ?? previous?.at;
      if (lastKnown && ms(lastKnown) >= ms(at)) return false;
      // An update to an issue that stays open keeps the time it opened: the window runs from there.
      const opened = previous && previous.status === signal.health.status ? previous.at : at;
      next.healthEvents[signal.health.eventArn] = {
        status: signal.health.status,
        at: opened,
        service: signal.health.service,
        updatedAt: at,
      };
      return true;
    }
    case 'tick':
      return true;
  }
}
