import type { DetectorSettings, EndpointView, RegionHealth } from './health-state.ts';
import { zoneOf } from './history.ts';
import { ms, secondsBetween } from './time.ts';

/** Votes: each vantage's current runs of dark and answering samples, derived from the history. */

/** A vantage's view of the region at one probe instant. */
export interface Sample {
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
export function samplesOf(
  views: Record<string, EndpointView>,
  settings: DetectorSettings,
): Sample[] {
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

/**
 * A vantage's current run: its first and last instants, and the longest stretch of it made of
 * consecutive rounds (`steadySeconds`: no two samples of the stretch more than
 * `maxRoundGapMs` apart). A silence up to staleSeconds does not break the run (a lost round
 * is not a change of state), but it is not evidence of the run's state either.
 */
export interface Run {
  start: string;
  last: string;
  steadySeconds: number;
}

/**
 * The widest gap between two samples that still counts as consecutive rounds: a round and a
 * half of the vantage's own cadence, so a probe's jitter passes and one lost round does not.
 * The cadence is the configured interval, or the vantage's typical gap when its rounds take
 * longer than that: a probe waits `interval - elapsed` before its next round, so rounds slower
 * than the interval follow each other back to back (seen in the drill, where an API Gateway
 * instance's checks take longer than its 0.5 s interval; on AWS, many targets or slow checks do
 * the same). Judged against the nominal interval, every such round would look lost and no run
 * would ever last the window. Rounds slow down exactly when a region fails (its checks time
 * out), so the typical gap is the median of the last five gaps: it follows that within three
 * rounds, and two lost rounds in five cannot widen it.
 */
export function maxRoundGapMs(samples: readonly Sample[], settings: DetectorSettings): number {
  const intervalMs = settings.intervalSeconds * 1000;
  const gaps: number[] = [];
  for (let i = Math.max(1, samples.length - RECENT_GAPS); i < samples.length; i += 1) {
    gaps.push((samples[i] as Sample).t - (samples[i - 1] as Sample).t);
  }
  if (gaps.length < 4) return 1.5 * intervalMs;
  gaps.sort((a, b) => a - b);
  const typical = gaps[Math.floor(gaps.length / 2)] as number;
  return 1.5 * Math.max(intervalMs, typical);
}

/** How many of the latest gaps give the cadence: few enough to follow rounds that slow down. */
const RECENT_GAPS = 5;

/** The vantage's current run of samples that all satisfy `holds`, unbroken by a stale gap. */
export function currentRun(
  samples: readonly Sample[],
  holds: (s: Sample) => boolean,
  settings: DetectorSettings,
): Run | undefined {
  const last = samples[samples.length - 1];
  if (!last || !holds(last)) return undefined;
  const staleMs = settings.staleSeconds * 1000;
  const roundGapMs = maxRoundGapMs(samples, settings);
  let steadyMs = 0;
  let stretchEnd = last.t;
  let i = samples.length - 1;
  while (i > 0) {
    const previous = samples[i - 1] as Sample;
    const gap = (samples[i] as Sample).t - previous.t;
    if (!holds(previous) || gap > staleMs) break;
    if (gap > roundGapMs) {
      steadyMs = Math.max(steadyMs, stretchEnd - (samples[i] as Sample).t);
      stretchEnd = previous.t;
    }
    i -= 1;
  }
  steadyMs = Math.max(steadyMs, stretchEnd - (samples[i] as Sample).t);
  return { start: (samples[i] as Sample).at, last: last.at, steadySeconds: steadyMs / 1000 };
}

/**
 * A run counts for `seconds` when it started at least that long ago, its own probes span the
 * period less one interval in consecutive rounds (failureThreshold consecutive results, as
 * Route 53 counts), and the vantage is still being heard. A lost round inside the run does not
 * count as a result: two dark rounds a minute apart with nothing heard between are two drops
 * of a flapping region as much as one outage (docs/detection.md, "Lost rounds").
 */
export function lasted(
  run: Run | undefined,
  seconds: number,
  now: string,
  settings: DetectorSettings,
): boolean {
  if (!run || secondsBetween(run.last, now) > settings.staleSeconds) return false;
  return (
    secondsBetween(run.start, now) >= seconds &&
    run.steadySeconds >= seconds - settings.intervalSeconds
  );
}

export interface Vote {
  vantage: string;
  lastSeen: string;
  samples: Sample[];
  downRun?: Run;
  upRun?: Run;
}

export function votesAt(state: RegionHealth, now: string, settings: DetectorSettings): Vote[] {
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

export function corroboration(state: RegionHealth) {
  const alarms = Object.entries(state.alarms)
    .filter(([, a]) => a.state === 'ALARM')
    .map(([name, a]) => ({ name, since: a.since, instanceId: a.instanceId }));
  const health = Object.entries(state.healthEvents)
    .filter(([, h]) => h.status === 'open')
    .map(([eventArn, h]) => ({ eventArn, service: h.service, at: h.at }));
  return { alarms, health };
}

export function failuresSeenBy(state: RegionHealth, vantage: string) {
  return Object.entries(state.endpoints[vantage] ?? {})
    .filter(([, v]) => !v.ok)
    .map(([endpoint, v]) => ({
      endpoint,
      since: v.failingSince ?? v.at,
      error: v.error ?? 'failed',
    }));
}
