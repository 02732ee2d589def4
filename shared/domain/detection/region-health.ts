import type { DetectionPolicy } from '../../config/schema.ts';

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

/** One remembered probe result of an endpoint. */
export interface ProbeResult {
  at: string;
  ok: boolean;
  error?: string;
}

/** What a vantage knows of one endpoint: its latest result and a short history. */
export interface EndpointView {
  ok: boolean;
  at: string;
  zone: string;
  /** Since when this endpoint has failed without a success in between (from the history). */
  failingSince?: string;
  error?: string;
  /** Results in time order, pruned to what any decision can still need. */
  history: ProbeResult[];
}

/** What one vantage currently says about the region as a whole (derived, kept for readers). */
export interface VantageSummary {
  lastSeen: string;
  /** Start of the vantage's current run of all-failing samples. */
  downSince?: string;
  /** Start of the vantage's current run of answering samples. */
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
  /** When the previous incident ended: a new incident never starts before it. */
  lastRecoveredAt?: string;
  /** The latest time any signal carried: evaluation never runs backwards. */
  latestSignalAt?: string;
  /** vantage → `instanceId/zone` → what it knows. */
  endpoints: Record<string, Record<string, EndpointView>>;
  vantages: Record<string, VantageSummary>;
  alarms: Record<string, { state: AlarmSignal['state']; since: string; instanceId: string }>;
  healthEvents: Record<
    string,
    { status: HealthSignal['status']; at: string; service: string; updatedAt?: string }
  >;
  /** Zones currently reported degraded, with the time they started failing. */
  degradedZones: Record<string, string>;
  outbox: PendingEvent[];
}

/** The policy with derived numbers filled in. */
export interface DetectorSettings {
  intervalSeconds: number;
  windowSeconds: number;
  /** Window when an alarm or Health event corroborates: one probe interval. */
  corroboratedWindowSeconds: number;
  /** A vantage silent for longer than this no longer votes, and a gap this long breaks a run. */
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

const ms = (iso: string) => Date.parse(iso);
const secondsBetween = (from: string, to: string) => (ms(to) - ms(from)) / 1000;
const laterOf = (a: string, b: string) => (ms(a) >= ms(b) ? a : b);
const earliest = (times: readonly string[]) =>
  times.reduce<string | undefined>(
    (min, t) => (min === undefined || ms(t) < ms(min) ? t : min),
    undefined,
  );
const compact = (iso: string) =>
  new Date(iso)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
const zoneOf = (endpointKey: string) => endpointKey.slice(endpointKey.indexOf('/') + 1);

/** Folds one signal into the state, then re-evaluates the state machine. */
export function applySignal(
  state: RegionHealth,
  signal: Signal,
  settings: DetectorSettings,
): RegionHealth {
  return applySignals(state, [signal], settings);
}

/** When a signal happened: the time every signal kind carries. */
export const signalAt = (signal: Signal): string => {
  switch (signal.kind) {
    case 'observation':
      return signal.observation.at;
    case 'alarm':
      return signal.alarm.at;
    case 'health':
      return signal.health.at;
    case 'tick':
      return signal.at;
  }
};

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
      evaluate(next, next.latestSignalAt, settings);
      pending = false;
      burstStart = undefined;
    }
  }
  if (pending) evaluate(next, next.latestSignalAt as string, settings);
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

/**
 * A copy that shares what updates never mutate: endpoint views are replaced, not edited, so
 * copying the maps that hold them is enough to leave the input untouched. (structuredClone of
 * the whole history was the detector's hottest path.)
 */
function copyForUpdate(state: RegionHealth): RegionHealth {
  const endpoints: RegionHealth['endpoints'] = {};
  for (const [vantage, views] of Object.entries(state.endpoints)) endpoints[vantage] = { ...views };
  return {
    ...state,
    endpoints,
    vantages: { ...state.vantages },
    alarms: { ...state.alarms },
    healthEvents: { ...state.healthEvents },
    degradedZones: { ...state.degradedZones },
    outbox: [...state.outbox],
  };
}

/** Slots the observation into its endpoint's history. False for a duplicate or one too old to matter. */
function recordObservation(
  state: RegionHealth,
  o: Observation,
  settings: DetectorSettings,
): boolean {
  const views: Record<string, EndpointView> = state.endpoints[o.vantage] ?? {};
  state.endpoints[o.vantage] = views;
  const key = `${o.instanceId}/${o.zone}`;
  const view = views[key];
  const history = [...(view?.history ?? [])];
  if (history.some((r) => ms(r.at) === ms(o.at))) return false;
  const horizon = historyHorizonSeconds(settings);
  if (state.latestSignalAt && secondsBetween(o.at, state.latestSignalAt) > horizon) return false;
  const result: ProbeResult = { at: o.at, ok: o.ok, ...(o.error ? { error: o.error } : {}) };
  const index = history.findIndex((r) => ms(r.at) > ms(o.at));
  if (index === -1) history.push(result);
  else history.splice(index, 0, result);
  const newest = laterOf(o.at, state.latestSignalAt ?? o.at);
  const kept = history.filter(
    (r, i) => i === history.length - 1 || secondsBetween(r.at, newest) <= horizon,
  );
  views[key] = summarizeEndpoint(kept, o.zone);
  return true;
}

/** How far back any decision can look: the longest run it measures, plus a stale gap. */
function historyHorizonSeconds(settings: DetectorSettings): number {
  return Math.max(settings.windowSeconds, settings.recoverySeconds) + 2 * settings.staleSeconds;
}

function summarizeEndpoint(history: ProbeResult[], zone: string): EndpointView {
  const latest = history[history.length - 1] as ProbeResult;
  let failingSince: string | undefined;
  for (let i = history.length - 1; i >= 0 && !(history[i] as ProbeResult).ok; i -= 1) {
    failingSince = (history[i] as ProbeResult).at;
  }
  return {
    ok: latest.ok,
    at: latest.at,
    zone,
    ...(failingSince ? { failingSince } : {}),
    ...(latest.error ? { error: latest.error } : {}),
    history,
  };
}

/** A vantage's view of the region at one probe instant. */
interface Sample {
  at: string;
  t: number;
  /** Every endpoint heard from recently was failing. */
  dark: boolean;
  /** Per zone: every recently heard endpoint in the zone was failing. */
  darkZones: Set<string>;
  answeringZones: Set<string>;
}

/**
 * Replays a vantage's history instant by instant: at each probe time, the latest result of each
 * endpoint heard within staleSeconds decides whether the region (and each zone) was dark.
 */
function samplesOf(views: Record<string, EndpointView>, settings: DetectorSettings): Sample[] {
  const events: { zone: string; key: string; t: number; at: string; ok: boolean }[] = [];
  for (const [key, view] of Object.entries(views)) {
    const zone = zoneOf(key);
    for (const r of view.history) events.push({ zone, key, t: ms(r.at), at: r.at, ok: r.ok });
  }
  events.sort((a, b) => a.t - b.t);
  const staleMs = settings.staleSeconds * 1000;
  const latest = new Map<string, { zone: string; t: number; ok: boolean }>();
  const samples: Sample[] = [];
  for (let i = 0; i < events.length; i += 1) {
    const event = events[i] as (typeof events)[number];
    latest.set(event.key, event);
    if (events[i + 1]?.t === event.t) continue; // same instant: take all of it first
    let freshCount = 0;
    let anyOk = false;
    const darkZones = new Set<string>();
    const answeringZones = new Set<string>();
    for (const r of latest.values()) {
      if (event.t - r.t > staleMs) continue;
      freshCount += 1;
      if (r.ok) {
        anyOk = true;
        answeringZones.add(r.zone);
      }
    }
    for (const r of latest.values()) {
      if (event.t - r.t <= staleMs && !answeringZones.has(r.zone)) darkZones.add(r.zone);
    }
    samples.push({
      at: event.at,
      t: event.t,
      dark: freshCount > 0 && !anyOk,
      darkZones,
      answeringZones,
    });
  }
  return samples;
}

/** The vantage's current run of samples that all satisfy `holds`, unbroken by a stale gap. */
function currentRun(
  samples: readonly Sample[],
  holds: (s: Sample) => boolean,
  settings: DetectorSettings,
): { start: string; last: string } | undefined {
  const last = samples[samples.length - 1];
  if (!last || !holds(last)) return undefined;
  const staleMs = settings.staleSeconds * 1000;
  let i = samples.length - 1;
  while (i > 0) {
    const previous = samples[i - 1] as Sample;
    if (!holds(previous) || (samples[i] as Sample).t - previous.t > staleMs) break;
    i -= 1;
  }
  return { start: (samples[i] as Sample).at, last: last.at };
}

/**
 * A run counts for `seconds` when it started at least that long ago, its own probes span the
 * period less one interval (failureThreshold consecutive results, as Route 53 counts), and
 * the vantage is still being heard.
 */
function lasted(
  run: { start: string; last: string } | undefined,
  seconds: number,
  now: string,
  settings: DetectorSettings,
): boolean {
  if (!run || secondsBetween(run.last, now) > settings.staleSeconds) return false;
  return (
    secondsBetween(run.start, now) >= seconds &&
    secondsBetween(run.start, run.last) >= seconds - settings.intervalSeconds
  );
}

interface Vote {
  vantage: string;
  lastSeen: string;
  samples: Sample[];
  downRun?: { start: string; last: string };
  upRun?: { start: string; last: string };
}

function votesAt(state: RegionHealth, now: string, settings: DetectorSettings): Vote[] {
  const votes: Vote[] = [];
  for (const [vantage, views] of Object.entries(state.endpoints)) {
    const nowMs = ms(now);
    const samples = samplesOf(views, settings).filter((s) => s.t <= nowMs);
    const last = samples[samples.length - 1];
    if (!last || secondsBetween(last.at, now) > settings.staleSeconds) continue;
    votes.push({
      vantage,
      lastSeen: last.at,
      samples,
      downRun: currentRun(samples, (s) => s.dark, settings),
      upRun: currentRun(samples, (s) => !s.dark, settings),
    });
  }
  return votes;
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
    emit: (t: DetectorDetailType, id: string, d: Record<string, unknown>) => void;
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

/**
 * A zone is degraded when a quorum of vantages sees every endpoint in it failing for the whole
 * window while the region still answers from other zones. That is reported, never failed over.
 */
function evaluateZones(
  state: RegionHealth,
  now: string,
  settings: DetectorSettings,
  votes: Vote[],
  emit: (t: DetectorDetailType, id: string, d: Record<string, unknown>) => void,
): void {
  const zones = new Set<string>();
  for (const views of Object.values(state.endpoints))
    for (const key of Object.keys(views)) zones.add(zoneOf(key));
  for (const zone of [...zones].sort()) {
    const failing = votes
      .map((vote) => ({
        vote,
        run: currentRun(vote.samples, (s) => s.darkZones.has(zone) && !s.dark, settings),
      }))
      .filter((x) => lasted(x.run, settings.windowSeconds, now, settings));
    const answering = votes.filter((v) =>
      v.samples[v.samples.length - 1]?.answeringZones.has(zone),
    );
    const degradedSince = state.degradedZones[zone];
    if (degradedSince === undefined && failing.length >= settings.quorum) {
      const since = earliest(failing.map((x) => x.run?.start as string)) ?? now;
      state.degradedZones[zone] = since;
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
          vantages: failing.map((x) => ({
            vantage: x.vote.vantage,
            zoneDownSince: x.run?.start,
            failures: Object.entries(state.endpoints[x.vote.vantage] ?? {})
              .filter(([key, v]) => zoneOf(key) === zone && !v.ok)
              .map(([endpoint, v]) => ({
                endpoint,
                since: v.failingSince,
                error: v.error ?? 'failed',
              })),
          })),
          regionStillAnswering: true,
        },
      });
    } else if (degradedSince !== undefined && answering.length >= settings.quorum) {
      delete state.degradedZones[zone];
      emit('Zone Recovered', `${state.region}-${zone}-${compact(degradedSince)}:recovered`, {
        zone,
        degradedSince,
        recoveredAt: now,
        evidence: {
          quorum: settings.quorum,
          window: { from: degradedSince, to: now },
          vantages: answering.map((v) => v.vantage),
        },
      });
    }
  }
}
