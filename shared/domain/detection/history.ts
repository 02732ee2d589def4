import type { DetectorSettings, EndpointView, ProbeResult, RegionHealth } from './health-state.ts';
import type { Observation } from './signals.ts';
import { laterOf, ms, secondsBetween } from './time.ts';

/** The per-endpoint history of probe results: recording, pruning and summarising. */

/** The zone part of an endpoint key (`instanceId/zone`). */
export const zoneOf = (endpointKey: string) => endpointKey.slice(endpointKey.indexOf('/') + 1);

/**
 * A copy that shares what updates never mutate: endpoint views are replaced, not edited, so
 * copying the maps that hold them is enough to leave the input untouched. (structuredClone of
 * the whole history was the detector's hottest path.)
 */
export function copyForUpdate(state: RegionHealth): RegionHealth {
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
export function recordObservation(
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
export function historyHorizonSeconds(settings: DetectorSettings): number {
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
