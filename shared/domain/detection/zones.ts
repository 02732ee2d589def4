import type { DetectorSettings, Emit, RegionHealth } from './health-state.ts';
import { zoneOf } from './history.ts';
import { compact, earliest, ms } from './time.ts';
import { currentRun, lasted, type Vote } from './votes.ts';

/** Zone degradation: reported while the region still answers, never failed over. */

/**
 * A zone is degraded when a quorum of vantages sees every endpoint in it failing for the whole
 * window while the region still answers from other zones. That is reported, never failed over.
 */
export function evaluateZones(
  state: RegionHealth,
  now: string,
  settings: DetectorSettings,
  votes: Vote[],
  emit: Emit,
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
