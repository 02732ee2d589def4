/**
 * The regions every test world is made of, in memory or on moto. From us-east-1, us-east-2 is
 * nearest, then us-west-2 (the failover order the recovery tests rely on).
 */
export const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1'] as const;
/** One of the worlds' regions. */
export type Region = (typeof REGIONS)[number];

/** Where each region is, for the nearest-region choice. */
export const LOCATIONS: Record<Region, { lat: number; lon: number }> = {
  'us-east-1': { lat: 38.9, lon: -77.4 },
  'us-east-2': { lat: 40.0, lon: -83.0 },
  'us-west-2': { lat: 45.8, lon: -119.7 },
  'eu-west-1': { lat: 53.3, lon: -6.3 },
};

/** The `regions` of a raw world config: two zones each, the capacity and endpoint given. */
export function regionEntries(
  options: {
    capacity?: (region: Region) => number;
    endpointUrl?: (region: Region) => string | undefined;
  } = {},
) {
  return REGIONS.map((name) => ({
    name,
    location: LOCATIONS[name],
    capacity: options.capacity?.(name) ?? 2,
    zones: [`${name}a`, `${name}b`],
    ...(options.endpointUrl ? { endpointUrl: options.endpointUrl(name) } : {}),
  }));
}
