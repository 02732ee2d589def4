import type { DetectionPolicy } from '../../config/schema.ts';

/**
 * The outage state machine of one target region, as one detector sees it. Pure: every
 * function here takes the state and a time and returns a new state; nothing reads a clock.
 *
 *   healthy ──(a vantage fails)──> suspect ──(quorum failing for the whole window)──> outage
 *   outage ──(quorum answering)──> recovering ──(quorum answering for recoverySeconds)──> healthy
 *   recovering ──(fewer than quorum answering)──> outage   (same incident, no new event)
 */

/** One probe result: a vantage region's view of one endpoint (instance × zone) of a target region. */
export interface Observation {
  vantage: string;
  target: string;
  zone: string;
  instanceId: string;
  ok: boolean;
  status?: number;
  error?: string;
  latencyMs: number;
  /** ISO time the probe ran. */
  at: string;
}

/** A CloudWatch alarm (e.g. on a Route 53 health check) about one instance in one region. */
export interface AlarmSignal {
  alarmName: string;
  region: string;
  instanceId: string;
  state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
  at: string;
}

/** An AWS Health event about a service in one region. */
export interface HealthSignal {
  eventArn: string;
  region: string;
  service: string;
  status: 'open' | 'closed' | 'upcoming';
  at: string;
}

/** Everything the detector consumes. */
export type Signal =
  | { kind: 'observation'; observation: Observation }
  | { kind: 'alarm'; alarm: AlarmSignal }
  | { kind: 'health'; health: HealthSignal }
  | { kind: 'tick'; at: string };

/** The region's status in the state machine. */
export type RegionStatus = 'healthy' | 'suspect' | 'outage' | 'recovering';

/** A vantage's latest result for one endpoint. */
export interface EndpointView {
  ok: boolean;
  at: string;
  /** Since when this endpoint has failed without a success in between. */
  failingSince?: string;
  error?: string;
  zone: string;
}

/** What one vantage currently says about the region as a whole. */
export interface VantageSummary {
  lastSeen: string;
  /** Since when every endpoint this vantage probes has been failing; absent while one answers. */
  downSince?: string;
  /** Since when at least one endpoint has answered without the region going all-failing. */
  upSince?: string;
}

/** An event the detector decided to emit, kept in the state until published (an outbox). */
export interface PendingEvent {
  /** Stable id, so a re-publish after a crash can be recognised downstream. */
  eventId: string;
  detailType: DetectorDetailType;
  detail: Record<string, unknown>;
}

/** Detail types the detector emits. */
export type DetectorDetailType =
  | 'Region Outage Confirmed'
  | 'Region Recovered'
  | 'Zone Degraded'
  | 'Zone Recovered';

/** The durable state of one target region. */
export interface RegionHealth {
  region: string;
  status: RegionStatus;
  statusSince: string;
  incidentId?: string;
  outageStartedAt?: string;
  confirmedAt?: string;
  /** vantage → `instanceId/zone` → latest result. */
  endpoints: Record<string, Record<string, EndpointView>>;
  vantages: Record<string, VantageSummary>;
  alarms: Record<string, { state: AlarmSignal['state']; since: string; instanceId: string }>;
  healthEvents: Record<string, { status: HealthSignal['status']; at: string; service: string }>;
  /** Zones currently reported degraded, with the time they were declared so. */
  degradedZones: Record<string, string>;
  outbox: PendingEvent[];
}

/** The policy with derived numbers filled in. */
export interface DetectorSettings {
  windowSeconds: number;
  /** Window when an alarm or Health event corroborates: one probe interval. */
  corroboratedWindowSeconds: number;
  /** A vantage silent for longer than this no longer votes. */
  staleSeconds: number;
  recoverySeconds: number;
  quorum: number;
  alarmsCanConfirm: boolean;
  healthEventsCanConfirm: boolean;
}

/** Derives the detector's numbers from the config. */
export function detectorSettings(policy: DetectionPolicy, regionCount: number): DetectorSettings {
  const windowSeconds = policy.intervalSeconds * policy.failureThreshold;
  return {
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

const ms = (iso: string) => Date.parse(iso);
const secondsBetween = (from: string, to: string) => (ms(to) - ms(from)) / 1000;
const later = (a: string, b: string) => (ms(a) >= ms(b) ? a : b);
const compact = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');

/** Folds one signal into the state, then re-evaluates the state machine at the signal's time. */
export function applySignal(
  state: RegionHealth,
  signal: Signal,
  settings: DetectorSettings,
): RegionHealth {
  const next = structuredClone(state);
  let at: string;
  switch (signal.kind) {
    case 'observation': {
      at = signal.observation.at;
      if (!recordObservation(next, signal.observation, settings)) return state;
      break;
    }
    case 'alarm': {
      at = signal.alarm.at;
      const previous = next.alarms[signal.alarm.alarmName];
      if (previous && ms(previous.since) >= ms(at)) return state; // duplicate or late
      if (previous?.state === signal.alarm.state) return state;
      next.alarms[signal.alarm.alarmName] = {
        state: signal.alarm.state,
        since: at,
        instanceId: signal.alarm.instanceId,
      };
      break;
    }
    case 'health': {
      at = signal.health.at;
      const previous = next.healthEvents[signal.health.eventArn];
      if (previous && ms(previous.at) >= ms(at)) return state;
      next.healthEvents[signal.health.eventArn] = {
        status: signal.health.status,
        at,
        service: signal.health.service,
      };
      break;
    }
    case 'tick':
      at = signal.at;
      break;
  }
  return evaluate(next, at, settings);
}

/** Returns false when the observation is a duplicate or older than what is already known. */
function recordObservation(
  state: RegionHealth,
  o: Observation,
  settings: DetectorSettings,
): boolean {
  const views: Record<string, EndpointView> = state.endpoints[o.vantage] ?? {};
  state.endpoints[o.vantage] = views;
  const key = `${o.instanceId}/${o.zone}`;
  const previous = views[key];
  if (previous && ms(previous.at) >= ms(o.at)) return false;
  views[key] = {
    ok: o.ok,
    at: o.at,
    zone: o.zone,
    ...(o.ok
      ? {}
      : {
          failingSince:
            previous && !previous.ok && previous.failingSince ? previous.failingSince : o.at,
        }),
    ...(o.error ? { error: o.error } : {}),
  };
  const summary: VantageSummary = state.vantages[o.vantage] ?? { lastSeen: o.at };
  state.vantages[o.vantage] = summary;
  summary.lastSeen = later(summary.lastSeen, o.at);
  const fresh = freshEndpoints(views, o.at, settings);
  const allFailing = fresh.length > 0 && fresh.every((v) => !v.ok);
  if (allFailing) {
    // The region went dark for this vantage when its last answering endpoint started failing.
    summary.downSince = fresh.map((v) => v.failingSince ?? v.at).reduce(later);
    delete summary.upSince;
  } else {
    delete summary.downSince;
    summary.upSince ??= o.at;
  }
  return true;
}

function freshEndpoints(
  views: Record<string, EndpointView>,
  now: string,
  settings: DetectorSettings,
): EndpointView[] {
  return Object.values(views).filter((v) => secondsBetween(v.at, now) <= settings.staleSeconds);
}

interface VantageVote {
  vantage: string;
  downSince?: string;
  upSince?: string;
  lastSeen: string;
}

function freshVotes(state: RegionHealth, now: string, settings: DetectorSettings): VantageVote[] {
  return Object.entries(state.vantages)
    .filter(([, s]) => secondsBetween(s.lastSeen, now) <= settings.staleSeconds)
    .map(([vantage, s]) => ({ vantage, ...s }));
}

function corroboration(state: RegionHealth) {
  const alarms = Object.entries(state.alarms)
    .filter(([, a]) => a.state === 'ALARM')
    .map(([name, a]) => ({ name, since: a.since, instanceId: a.instanceId }));
  const health = Object.entries(state.healthEvents)
    .filter(([, h]) => h.status === 'open')
    .map(([eventArn, h]) => ({ eventArn, service: h.service, at: h.at }));
  return { alarms, health };
}

function failuresSeenBy(state: RegionHealth, vantage: string) {
  return Object.entries(state.endpoints[vantage] ?? {})
    .filter(([, v]) => !v.ok)
    .map(([endpoint, v]) => ({
      endpoint,
      since: v.failingSince ?? v.at,
      error: v.error ?? 'failed',
    }));
}

/** Re-evaluates the state machine at `now`. Emits into the outbox on every reported transition. */
export function evaluate(
  state: RegionHealth,
  now: string,
  settings: DetectorSettings,
): RegionHealth {
  const votes = freshVotes(state, now, settings);
  const { alarms, health } = corroboration(state);
  const corroborated = alarms.length > 0 || health.length > 0;
  const window = corroborated ? settings.corroboratedWindowSeconds : settings.windowSeconds;
  const downForWindow = votes.filter(
    (v) => v.downSince && secondsBetween(v.downSince, now) >= window,
  );
  const down = votes.filter((v) => v.downSince);
  const up = votes.filter((v) => v.upSince);
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
      const byAlarm =
        settings.alarmsCanConfirm &&
        alarms.some((a) => secondsBetween(a.since, now) >= settings.windowSeconds);
      const byHealth =
        settings.healthEventsCanConfirm &&
        health.some((h) => secondsBetween(h.at, now) >= settings.windowSeconds);
      if (byQuorum || byAlarm || byHealth) {
        const deciding = byQuorum ? downForWindow : down;
        const started =
          [
            ...deciding.map((v) => v.downSince as string),
            ...alarms.map((a) => a.since),
          ].sort()[0] ?? now;
        state.incidentId = `${state.region}-${compact(started)}`;
        state.outageStartedAt = started;
        state.confirmedAt = now;
        state.degradedZones = {};
        transition('outage');
        emit('Region Outage Confirmed', `${state.incidentId}:confirmed`, {
          incidentId: state.incidentId,
          outageStartedAt: started,
          confirmedAt: now,
          detectionSeconds: secondsBetween(started, now),
          confirmedBy: byQuorum ? 'probe-quorum' : byAlarm ? 'alarm' : 'health-event',
          evidence: {
            quorum: settings.quorum,
            windowSeconds: window,
            window: { from: new Date(ms(now) - window * 1000).toISOString(), to: now },
            vantages: deciding.map((v) => ({
              vantage: v.vantage,
              downSince: v.downSince,
              lastSeen: v.lastSeen,
              failures: failuresSeenBy(state, v.vantage),
            })),
            answeringVantages: up.map((v) => v.vantage),
            alarms,
            healthEvents: health,
          },
        });
        return state;
      }
      transition(down.length > 0 ? 'suspect' : 'healthy');
      evaluateZones(state, now, settings, votes, emit);
      return state;
    }
    case 'outage': {
      if (up.length >= settings.quorum) transition('recovering');
      return state;
    }
    case 'recovering': {
      if (up.length < settings.quorum) {
        // Hysteresis: a relapse continues the same incident; no second confirmation.
        transition('outage');
        return state;
      }
      const sustained = up.filter(
        (v) => secondsBetween(v.upSince as string, now) >= settings.recoverySeconds,
      );
      if (sustained.length >= settings.quorum) {
        const healthySince =
          sustained.map((v) => v.upSince as string).sort()[settings.quorum - 1] ?? now;
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
              upSince: v.upSince,
              lastSeen: v.lastSeen,
            })),
          },
        });
        delete state.incidentId;
        delete state.outageStartedAt;
        delete state.confirmedAt;
        transition('healthy');
      }
      return state;
    }
  }
}

/**
 * A zone is degraded when a quorum of vantages sees every endpoint in it failing for the whole
 * window while the region still answers from other zones. That is reported, never failed over.
 */
function evaluateZones(
  state: RegionHealth,
  now: string,
  settings: DetectorSettings,
  votes: VantageVote[],
  emit: (t: DetectorDetailType, id: string, d: Record<string, unknown>) => void,
): void {
  const zones = new Set<string>();
  for (const views of Object.values(state.endpoints))
    for (const v of Object.values(views)) zones.add(v.zone);
  for (const zone of zones) {
    const seeing = votes.map((vote) => {
      const inZone = freshEndpoints(state.endpoints[vote.vantage] ?? {}, now, settings).filter(
        (v) => v.zone === zone,
      );
      const failing = inZone.length > 0 && inZone.every((v) => !v.ok);
      const since = failing ? inZone.map((v) => v.failingSince ?? v.at).reduce(later) : undefined;
      return { vote, inZone, since };
    });
    const failingForWindow = seeing.filter(
      (s) => s.since && s.vote.upSince && secondsBetween(s.since, now) >= settings.windowSeconds,
    );
    const answering = seeing.filter((s) => s.inZone.length > 0 && s.inZone.some((v) => v.ok));
    if (!(zone in state.degradedZones) && failingForWindow.length >= settings.quorum) {
      const since = failingForWindow.map((s) => s.since as string).sort()[0] ?? now;
      state.degradedZones[zone] = now;
      emit('Zone Degraded', `${state.region}-${zone}-${compact(since)}:degraded`, {
        zone,
        degradedSince: since,
        reportedAt: now,
        evidence: {
          quorum: settings.quorum,
          windowSeconds: settings.windowSeconds,
          window: {
            from: new Date(ms(now) - settings.windowSeconds * 1000).toISOString(),
            to: now,
          },
          vantages: failingForWindow.map((s) => ({
            vantage: s.vote.vantage,
            zoneDownSince: s.since,
            failures: s.inZone.map((v) => ({ since: v.failingSince, error: v.error ?? 'failed' })),
          })),
          regionStillAnswering: true,
        },
      });
    } else if (zone in state.degradedZones && answering.length >= settings.quorum) {
      const declared = state.degradedZones[zone] as string;
      delete state.degradedZones[zone];
      emit('Zone Recovered', `${state.region}-${zone}-${compact(declared)}:recovered`, {
        zone,
        recoveredAt: now,
        evidence: { vantages: answering.map((s) => s.vote.vantage) },
      });
    }
  }
}
