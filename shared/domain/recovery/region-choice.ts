/**
 * Where an instance goes when its region fails: the nearest healthy region (or the next one in
 * the instance's own `failoverOrder`) that still has room for it. Pure: the caller reads health
 * and reservations first, then commits the choice with an atomic reservation.
 */
import type { InstanceConfig, LifeboatConfig, RegionConfig } from '../../config/schema.ts';
import { UnknownRegionError } from '../../errors.ts';

/** A point on the globe in degrees, as regions carry it in the config. */
export interface GeoPoint {
  lat: number;
  lon: number;
}

/** Mean Earth radius (IUGG); the ranking only needs relative distances, so a sphere is enough. */
export const EARTH_RADIUS_KM = 6371.0088;

const toRadians = (degrees: number) => (degrees * Math.PI) / 180;

/** Great-circle distance in km by the haversine formula (well conditioned for short distances). */
export function greatCircleKm(a: GeoPoint, b: GeoPoint): number {
  const dLat = toRadians(b.lat - a.lat);
  const dLon = toRadians(b.lon - a.lon);
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(toRadians(a.lat)) * Math.cos(toRadians(b.lat)) * Math.sin(dLon / 2) ** 2;
  // Rounding can push h a hair above 1 for antipodal points; asin would then return NaN.
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

// Local lookup rather than config/load.ts's findRegion: that module reads files, and the domain
// must not pull in I/O.
function regionOf(config: LifeboatConfig, name: string): RegionConfig {
  const region = config.regions.find((r) => r.name === name);
  if (!region) throw new UnknownRegionError(name);
  return region;
}

/**
 * Candidate regions in order of preference. An explicit `failoverOrder` wins and is also a
 * whitelist (operators use it to keep data out of some jurisdictions), so unlisted regions are
 * never offered. Without one, every other region ranks by distance from the failed region, with
 * ties broken by name so that every detector computes the same ranking.
 */
export function rankCandidates(
  config: LifeboatConfig,
  instance: InstanceConfig,
  failedRegion: string,
): string[] {
  const failed = regionOf(config, failedRegion);
  if (instance.failoverOrder) {
    // Duplicates are harmless in the config but would show a region twice in `skipped`.
    return [...new Set(instance.failoverOrder)].filter((r) => r !== failedRegion);
  }
  return config.regions
    .filter((r) => r.name !== failedRegion)
    .map((r) => ({ name: r.name, km: greatCircleKm(failed.location, r.location) }))
    .sort((a, b) => a.km - b.km || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((r) => r.name);
}

/** Slots held in a region by a recovery in progress (the atomic reservation, as read back). */
export interface Reservation {
  region: string;
  units: number;
  /** Who holds it; lets a resumed recovery ignore its own earlier reservation. */
  instanceId?: string;
}

/**
 * Free slots of a region: its capacity minus the home slots of the instances homed there minus
 * what recoveries have reserved there. Instances homed elsewhere (the failed region's ones
 * included) hold their home slot in their own region, so they do not count here. Negative when
 * the region is over-committed, so callers can report by how much.
 */
export function freeSlots(
  config: LifeboatConfig,
  region: string,
  reservations: readonly Reservation[],
): number {
  const { capacity } = regionOf(config, region);
  const home = config.instances
    .filter((i) => i.homeRegion === region)
    .reduce((sum, i) => sum + i.capacityUnits, 0);
  const reserved = reservations
    .filter((r) => r.region === region)
    .reduce((sum, r) => sum + r.units, 0);
  return capacity - home - reserved;
}

/** Why a candidate region was passed over. */
export type SkipReason = 'unhealthy' | 'no-capacity' | 'failed-region' | 'no-endpoint';

/** One region passed over, with a sentence that names it (joined into the failure reason). */
export interface SkippedRegion {
  region: string;
  reason: SkipReason;
  detail: string;
}

/** A target was found. */
export interface TargetChosen {
  ok: true;
  region: string;
  /** Great-circle distance from the failed region, rounded to whole km (informational). */
  distanceKm: number;
  /** 1-based position of the target among the ranked candidates (1 = first choice). */
  rank: number;
  /** Better-ranked regions that were passed over, best first. */
  skipped: SkippedRegion[];
}

/** No region can take the instance; `reason` says why for each candidate. */
export interface NoTarget {
  ok: false;
  reason: string;
  skipped: SkippedRegion[];
}

/** Outcome of a target choice. A failure is a result, not an exception: it is an expected state. */
export type TargetChoice = TargetChosen | NoTarget;

/** Everything a target choice depends on, read beforehand. */
export interface TargetRequest {
  config: LifeboatConfig;
  instance: InstanceConfig;
  failedRegion: string;
  /** Regions currently believed down or degraded; never chosen. */
  unhealthy: ReadonlySet<string>;
  /** Reservations currently held, by any recovery. */
  reservations: readonly Reservation[];
}

const slots = (n: number) => `${n} free slot${n === 1 ? '' : 's'}`;

/**
 * Picks the first ranked candidate that is healthy and has room for the instance. A candidate
 * that is the instance's own home region (when another region failed) needs no extra slot: its
 * home slot is already counted there.
 */
export function chooseTarget(request: TargetRequest): TargetChoice {
  const { config, instance, failedRegion, unhealthy } = request;
  // A resumed run must not be blocked by the slot it reserved itself before crashing.
  const reservations = request.reservations.filter((r) => r.instanceId !== instance.id);
  const failed = regionOf(config, failedRegion);
  const skipped: SkippedRegion[] = [];
  if (instance.failoverOrder?.includes(failedRegion)) {
    skipped.push({
      region: failedRegion,
      reason: 'failed-region',
      detail: `${failedRegion} is the failed region`,
    });
  }
  const candidates = rankCandidates(config, instance, failedRegion);
  for (const [index, name] of candidates.entries()) {
    if (unhealthy.has(name)) {
      skipped.push({ region: name, reason: 'unhealthy', detail: `${name} is unhealthy` });
      continue;
    }
    // Traffic can only be routed to a region where the instance publishes an endpoint.
    if (!instance.endpoints[name]) {
      skipped.push({
        region: name,
        reason: 'no-endpoint',
        detail: `${instance.id} has no endpoint in ${name}`,
      });
      continue;
    }
    const region = regionOf(config, name);
    const needed = name === instance.homeRegion ? 0 : instance.capacityUnits;
    const free = freeSlots(config, name, reservations);
    if (free < needed) {
      const taken = region.capacity - free;
      skipped.push({
        region: name,
        reason: 'no-capacity',
        detail:
          free <= 0
            ? `${name} has no capacity (${taken} of ${region.capacity} taken)`
            : `${name} has only ${slots(free)} (${taken} of ${region.capacity} taken)`,
      });
      continue;
    }
    return {
      ok: true,
      region: name,
      distanceKm: Math.round(greatCircleKm(failed.location, region.location)),
      rank: index + 1,
      skipped,
    };
  }
  const why =
    skipped.length > 0
      ? skipped.map((s) => s.detail).join(', ')
      : instance.failoverOrder
        ? `the failoverOrder of ${instance.id} names no region besides ${failedRegion}`
        : `no region besides ${failedRegion} is configured`;
  return {
    ok: false,
    reason: `no healthy region with ${slots(instance.capacityUnits)}: ${why}`,
    skipped,
  };
}
