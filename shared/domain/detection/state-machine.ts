import type {
  DetectorDetailType,
  DetectorSettings,
  Emit,
  RegionHealth,
  RegionStatus,
} from './health-state.ts';
import { copyForUpdate } from './history.ts';
import { compact, earliest, ms, secondsBetween } from './time.ts';
import { corroboration, failuresSeenBy, lasted, type Vote, votesAt } from './votes.ts';
import { evaluateZones } from './zones.ts';

/** The region-level state machine: confirmation, recovery and the hysteresis between them. */

/**
 * Re-evaluates the state machine at `now`. Emits into the outbox on every reported transition.
 * Pure: returns a new state and leaves its input as it was.
 */
export function evaluate(
  state: RegionHealth,
  now: string,
  settings: DetectorSettings,
): RegionHealth {
  return evaluateInPlace(copyForUpdate(state), now, settings);
}

/**
 * `evaluate` on a private copy the caller owns (from `copyForUpdate`): `applySignals` folds a
 * whole batch into one copy and evaluates it after every burst without copying again.
 */
export function evaluateInPlace(
  state: RegionHealth,
  now: string,
  settings: DetectorSettings,
): RegionHealth {
  const votes = votesAt(state, now, settings);
  state.vantages = {};
  for (const vote of votes) {
    state.vantages[vote.vantage] = {
      lastSeen: vote.lastSeen,
      ...(vote.downRun ? { downSince: vote.downRun.start } : {}),
      ...(vote.upRun ? { upSince: vote.upRun.start } : {}),
    };
  }
  const { alarms, health } = corroboration(state);
  const corroborated = alarms.length > 0 || health.length > 0;
  const window = corroborated ? settings.corroboratedWindowSeconds : settings.windowSeconds;
  const downForWindow = votes.filter((v) => lasted(v.downRun, window, now, settings));
  const downNow = votes.filter((v) => v.downRun);
  const upNow = votes.filter((v) => v.upRun);
  const confirmingAlarms = settings.alarmsCanConfirm
    ? alarms.filter((a) => secondsBetween(a.since, now) >= settings.windowSeconds)
    : [];
  const confirmingHealth = settings.healthEventsCanConfirm
    ? health.filter((h) => secondsBetween(h.at, now) >= settings.windowSeconds)
    : [];
  // Still failing, whatever the duration: holds recovery back, so a split vote or a standing
  // alarm can never confirm, recover and confirm again in a loop.
  const stillFailing =
    downNow.length >= settings.quorum ||
    (settings.alarmsCanConfirm && alarms.length > 0) ||
    (settings.healthEventsCanConfirm && health.length > 0);
  const emit = (detailType: DetectorDetailType, eventId: string, detail: Record<string, unknown>) =>
    state.outbox.push({
      eventId,
      detailType,
      detail: { eventId, region: state.region, ...detail },
    });
  const transition = (status: RegionStatus) => {
    if (state.status !== status) {
      state.status = status;
      state.statusSince = now;
    }
  };

  switch (state.status) {
    case 'healthy':
    case 'suspect': {
      const byQuorum = downForWindow.length >= settings.quorum;
      const byAlarm = confirmingAlarms.length > 0;
      const byHealth = confirmingHealth.length > 0;
      if (byQuorum || byAlarm || byHealth) {
        confirm(state, now, settings, {
          byQuorum,
          byAlarm,
          deciding: byQuorum ? downForWindow : downNow,
          windowSeconds: byQuorum ? window : settings.windowSeconds,
          alarms,
          health,
          answering: upNow.map((v) => v.vantage),
          startCandidates: [
            ...(byQuorum ? [quorumStart(downForWindow, settings.quorum)] : []),
            ...(byAlarm ? confirmingAlarms.map((a) => a.since) : []),
            ...(byHealth ? confirmingHealth.map((h) => h.at) : []),
          ],
          emit,
          transition,
        });
        return state;
      }
      transition(downNow.length > 0 ? 'suspect' : 'healthy');
      evaluateZones(state, now, settings, votes, emit);
      return state;
    }
    case 'outage': {
      if (!stillFailing && upNow.length >= settings.quorum) transition('recovering');
      return state;
    }
    case 'recovering': {
      if (stillFailing || upNow.length < settings.quorum) {
        // Hysteresis: a relapse continues the same incident; no second confirmation.
        transition('outage');
        return state;
      }
      const sustained = upNow.filter((v) =>
        lasted(v.upRun, settings.recoverySeconds, now, settings),
      );
      if (sustained.length >= settings.quorum) {
        const starts = sustained.map((v) => v.upRun?.start as string).sort((a, b) => ms(a) - ms(b));
        const healthySince = starts[settings.quorum - 1] ?? now;
        emit('Region Recovered', `${state.incidentId}:recovered`, {
          incidentId: state.incidentId,
          outageStartedAt: state.outageStartedAt,
          healthySince,
          recoveredAt: now,
          evidence: {
            quorum: settings.quorum,
            recoverySeconds: settings.recoverySeconds,
            window: { from: healthySince, to: now },
            vantages: sustained.map((v) => ({
              vantage: v.vantage,
              upSince: v.upRun?.start,
              lastSeen: v.lastSeen,
            })),
          },
        });
        delete state.incidentId;
        delete state.outageStartedAt;
        delete state.confirmedAt;
        state.lastRecoveredAt = now;
        transition('healthy');
      }
      return state;
    }
  }
}

/**
 * When the outage began as the quorum saw it: the moment the quorum-th vantage went dark. A
 * vantage that was dark long before (partitioned, say) does not drag the start back.
 */
function quorumStart(deciding: readonly Vote[], quorum: number): string {
  const starts = deciding.map((v) => v.downRun?.start as string).sort((a, b) => ms(a) - ms(b));
  return starts[quorum - 1] ?? (starts[starts.length - 1] as string);
}

function confirm(
  state: RegionHealth,
  now: string,
  settings: DetectorSettings,
  c: {
    byQuorum: boolean;
    byAlarm: boolean;
    deciding: Vote[];
    windowSeconds: number;
    alarms: { name: string; since: string; instanceId: string }[];
    health: { eventArn: string; service: string; at: string }[];
    answering: string[];
    startCandidates: string[];
    emit: Emit;
    transition: (s: RegionStatus) => void;
  },
): void {
  let started = earliest(c.startCandidates) ?? now;
  // A vantage partitioned across two incidents, or an alarm left raised, must not date the
  // second incident back into the first: ids would collide and consumers would drop it.
  if (state.lastRecoveredAt && ms(started) <= ms(state.lastRecoveredAt))
    started = state.lastRecoveredAt;
  state.incidentId = `${state.region}-${compact(started)}`;
  state.outageStartedAt = started;
  state.confirmedAt = now;
  state.degradedZones = {};
  c.transition('outage');
  c.emit('Region Outage Confirmed', `${state.incidentId}:confirmed`, {
    incidentId: state.incidentId,
    outageStartedAt: started,
    confirmedAt: now,
    detectionSeconds: secondsBetween(started, now),
    confirmedBy: c.byQuorum ? 'probe-quorum' : c.byAlarm ? 'alarm' : 'health-event',
    evidence: {
      quorum: settings.quorum,
      windowSeconds: c.windowSeconds,
      window: { from: new Date(ms(now) - c.windowSeconds * 1000).toISOString(), to: now },
      vantages: c.deciding.map((v) => ({
        vantage: v.vantage,
        downSince: v.downRun?.start,
        lastSeen: v.lastSeen,
        failures: failuresSeenBy(state, v.vantage),
      })),
      answeringVantages: c.answering,
      alarms: c.alarms,
      healthEvents: c.health,
    },
  });
}
