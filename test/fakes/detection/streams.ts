import type { DetectionPolicy } from '../../../shared/config/schema.ts';
import {
  type AlarmSignal,
  applySignal,
  applySignals,
  type DetectorSettings,
  detectorSettings,
  type HealthSignal,
  initialRegionHealth,
  type PendingEvent,
  type RegionHealth,
  type Signal,
  signalAt,
} from '../../../shared/domain/detection/region-health.ts';
import { seededRandom } from '../../../shared/random.ts';

/**
 * Building blocks for detector tests: a fixed epoch with times in seconds from it, explicit
 * signals, regular probe streams, and a replay that drains the outbox the way the publisher does.
 */

/** The region whose health every test judges. */
export const TARGET = 'eu-west-1';
export const INSTANCE = 'petstore';
/** Regions that probe the target (vantage points). */
export const VANTAGES = ['us-east-1', 'us-west-2', 'ap-southeast-1', 'eu-central-1'] as const;
export const ZONES = ['eu-west-1a', 'eu-west-1b'] as const;

/** Second 0 of every scenario. */
export const EPOCH = '2026-11-25T06:00:00.000Z';
const EPOCH_MS = Date.parse(EPOCH);

/** The ISO time `seconds` after the epoch. */
export const t = (seconds: number): string => new Date(EPOCH_MS + seconds * 1000).toISOString();
/** Seconds from the epoch of an ISO time. */
export const sec = (iso: string): number => (Date.parse(iso) - EPOCH_MS) / 1000;

/** The detection policy with the schema's defaults (30 s × 3, recovery 300 s), overridable. */
export function policy(overrides: Partial<DetectionPolicy> = {}): DetectionPolicy {
  return {
    intervalSeconds: 30,
    failureThreshold: 3,
    recoverySeconds: 300,
    probeTimeoutMs: 2000,
    alarmsCanConfirm: false,
    healthEventsCanConfirm: false,
    ...overrides,
  };
}

/** Settings for `regionCount` regions (default quorum min(3, n − 1)). */
export function settings(
  overrides: Partial<DetectionPolicy> = {},
  regionCount = VANTAGES.length + 1,
): DetectorSettings {
  return detectorSettings(policy(overrides), regionCount);
}

/** One probe result as a signal. */
export function obs(
  vantage: string,
  zone: string,
  ok: boolean,
  seconds: number,
  options: { instanceId?: string; target?: string; error?: string } = {},
): Signal {
  return {
    kind: 'observation',
    observation: {
      vantage,
      target: options.target ?? TARGET,
      zone,
      instanceId: options.instanceId ?? INSTANCE,
      ok,
      ...(ok ? { status: 200 } : { error: options.error ?? 'connect ETIMEDOUT' }),
      latencyMs: ok ? 40 : 2000,
      at: t(seconds),
    },
  };
}

export const tick = (seconds: number): Signal => ({ kind: 'tick', at: t(seconds) });

export function alarm(
  state: AlarmSignal['state'],
  seconds: number,
  alarmName = `lifeboat-health-${INSTANCE}-${TARGET}`,
): Signal {
  return {
    kind: 'alarm',
    alarm: { alarmName, region: TARGET, instanceId: INSTANCE, state, at: t(seconds) },
  };
}

export function health(
  status: HealthSignal['status'],
  seconds: number,
  eventArn = `arn:aws:health:${TARGET}::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/1`,
): Signal {
  return {
    kind: 'health',
    health: { eventArn, region: TARGET, service: 'EC2', status, at: t(seconds) },
  };
}

/** What a vantage sees of one zone at one time: true answers, false fails, undefined is silent. */
export type View = (vantage: string, zone: string, seconds: number) => boolean | undefined;

/**
 * Every vantage probes every zone once per interval, from `from` to `to` inclusive, in time order
 * (vantages in the order given, zones in order within a vantage).
 */
export function probes(options: {
  from: number;
  to: number;
  view: View;
  interval?: number;
  vantages?: readonly string[];
  zones?: readonly string[];
}): Signal[] {
  const interval = options.interval ?? 30;
  const signals: Signal[] = [];
  for (let s = options.from; s <= options.to; s += interval) {
    for (const vantage of options.vantages ?? VANTAGES) {
      for (const zone of options.zones ?? ZONES) {
        const ok = options.view(vantage, zone, s);
        if (ok !== undefined) signals.push(obs(vantage, zone, ok, s));
      }
    }
  }
  return signals;
}

/** Merges signal lists into one, in time order (stable: equal times keep list order). */
export function merge(...lists: Signal[][]): Signal[] {
  return lists.flat().sort((a, b) => Date.parse(signalAt(a)) - Date.parse(signalAt(b)));
}

export { signalAt };

/** An event as the replay saw it leave the outbox: after which signal, at what signal time. */
export interface Emitted {
  /** Index of the signal whose application emitted it. */
  index: number;
  /** Seconds from the epoch of that signal. */
  at: number;
  event: PendingEvent;
}

/**
 * Applies the signals one by one, as the detector would with one signal per invocation, and
 * drains the outbox after each (as a successful publish does). Records the state's status after
 * every signal too.
 */
export function replay(
  signals: readonly Signal[],
  detector: DetectorSettings,
  start: RegionHealth = initialRegionHealth(TARGET, t(0)),
): { state: RegionHealth; emitted: Emitted[]; statuses: RegionHealth['status'][] } {
  let state = start;
  const emitted: Emitted[] = [];
  const statuses: RegionHealth['status'][] = [];
  signals.forEach((signal, index) => {
    state = applySignal(state, signal, detector);
    for (const event of state.outbox) emitted.push({ index, at: sec(signalAt(signal)), event });
    if (state.outbox.length > 0) state = { ...state, outbox: [] };
    statuses.push(state.status);
  });
  return { state, emitted, statuses };
}

/**
 * Applies the signals in the given invocation batches, as detect() does: each batch sorted by
 * time and folded with applySignals, then the outbox drained. `index` of an emitted event is the
 * batch's number.
 */
export function replayBatches(
  batches: readonly (readonly Signal[])[],
  detector: DetectorSettings,
  start: RegionHealth = initialRegionHealth(TARGET, t(0)),
): { state: RegionHealth; emitted: Emitted[] } {
  let state = start;
  const emitted: Emitted[] = [];
  batches.forEach((batch, index) => {
    const ordered = [...batch].sort((a, b) => sec(signalAt(a)) - sec(signalAt(b)));
    state = applySignals(state, ordered, detector);
    const last = ordered[ordered.length - 1];
    for (const event of state.outbox)
      emitted.push({ index, at: last ? sec(signalAt(last)) : 0, event });
    if (state.outbox.length > 0) state = { ...state, outbox: [] };
  });
  return { state, emitted };
}

/** `detailType@seconds` of each emitted event: a compact, comparable summary of a run. */
export const timeline = (emitted: readonly Emitted[]): string[] =>
  emitted.map((e) => `${e.event.detailType}@${e.at}`);

/** A seeded generator, so generated noise is reproducible from a seed. */
export const prng = seededRandom;
