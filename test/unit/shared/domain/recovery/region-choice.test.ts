import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../../shared/config/load.ts';
import type { InstanceConfig, LifeboatConfig } from '../../../../../shared/config/schema.ts';
import {
  chooseTarget,
  EARTH_RADIUS_KM,
  freeSlots,
  greatCircleKm,
  type Reservation,
  rankCandidates,
  type TargetChoice,
} from '../../../../../shared/domain/recovery/region-choice.ts';
import { UnknownRegionError } from '../../../../../shared/errors.ts';

const LOCATIONS = {
  'us-east-1': { lat: 38.9, lon: -77.4 },
  'us-east-2': { lat: 40.0, lon: -83.0 },
  'us-west-2': { lat: 45.8, lon: -119.7 },
  'eu-west-1': { lat: 53.3, lon: -6.3 },
} as const;
type Region = keyof typeof LOCATIONS;

interface InstanceSpec {
  id: string;
  home: Region;
  units?: number;
  failoverOrder?: Region[];
  endpointRegions?: Region[];
}

/** A validated config: the four regions with the given capacities, and the given instances. */
function configOf(
  capacity: Partial<Record<Region, number>>,
  instances: InstanceSpec[],
  locations: Partial<Record<Region, { lat: number; lon: number }>> = LOCATIONS,
): LifeboatConfig {
  return parseConfig(
    {
      version: 1,
      regions: Object.entries(locations).map(([name, location]) => ({
        name,
        location,
        capacity: capacity[name as Region] ?? 4,
        zones: [`${name}a`, `${name}b`],
      })),
      instances: instances.map((i) => ({
        id: i.id,
        homeRegion: i.home,
        replicaRegions: [i.home],
        ...(i.failoverOrder ? { failoverOrder: i.failoverOrder } : {}),
        ...(i.units ? { capacityUnits: i.units } : {}),
        dns: { hostedZoneId: 'Z0TEST', recordName: `${i.id}.api.example.com` },
        // An endpoint in every region unless the test says otherwise: a target must have one.
        endpoints: Object.fromEntries(
          (i.endpointRegions ?? Object.keys(locations)).map((r) => [
            r,
            { url: `https://${i.id}.${r}.example.com` },
          ]),
        ),
      })),
    },
    'test-config',
  );
}

function instanceOf(config: LifeboatConfig, id: string): InstanceConfig {
  const instance = config.instances.find((i) => i.id === id);
  if (!instance) throw new Error(`test: no instance ${id}`);
  return instance;
}

function choose(
  config: LifeboatConfig,
  id: string,
  options: { failed?: string; unhealthy?: string[]; reservations?: Reservation[] } = {},
): TargetChoice {
  const instance = instanceOf(config, id);
  return chooseTarget({
    config,
    instance,
    failedRegion: options.failed ?? instance.homeRegion,
    unhealthy: new Set(options.unhealthy ?? []),
    reservations: options.reservations ?? [],
  });
}

describe('greatCircleKm', () => {
  it('returns 0 when both points are the same', () => {
    expect(greatCircleKm(LOCATIONS['us-east-1'], LOCATIONS['us-east-1'])).toBe(0);
  });

  it('returns a quarter of the circumference when the points are 90 degrees apart on the equator', () => {
    expect(greatCircleKm({ lat: 0, lon: 0 }, { lat: 0, lon: 90 })).toBeCloseTo(
      (Math.PI * EARTH_RADIUS_KM) / 2,
      6,
    );
  });

  it('returns half the circumference without NaN when the points are antipodal', () => {
    expect(greatCircleKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 })).toBeCloseTo(
      Math.PI * EARTH_RADIUS_KM,
      6,
    );
    expect(greatCircleKm({ lat: 90, lon: 0 }, { lat: -90, lon: 0 })).toBeCloseTo(
      Math.PI * EARTH_RADIUS_KM,
      6,
    );
  });

  it('matches the known distance when measuring Northern Virginia to Dublin', () => {
    const km = greatCircleKm(LOCATIONS['us-east-1'], LOCATIONS['eu-west-1']);
    expect(km).toBeGreaterThan(5440);
    expect(km).toBeLessThan(5490);
  });

  it('gives the same distance when the points are swapped', () => {
    const a = LOCATIONS['us-west-2'];
    const b = LOCATIONS['eu-west-1'];
    expect(greatCircleKm(a, b)).toBeCloseTo(greatCircleKm(b, a), 9);
  });
});

describe('rankCandidates', () => {
  it('orders the other regions by distance from the failed region when no failoverOrder is set', () => {
    const config = configOf({}, [{ id: 'petstore', home: 'us-east-1' }]);
    expect(rankCandidates(config, instanceOf(config, 'petstore'), 'us-east-1')).toEqual([
      'us-east-2',
      'us-west-2',
      'eu-west-1',
    ]);
  });

  it('measures from the failed region when it is not the home region', () => {
    const config = configOf({}, [{ id: 'petstore', home: 'us-east-1' }]);
    expect(rankCandidates(config, instanceOf(config, 'petstore'), 'us-west-2')).toEqual([
      'us-east-2',
      'us-east-1',
      'eu-west-1',
    ]);
  });

  it('breaks distance ties by region name when two regions are equally far', () => {
    const config = configOf({}, [{ id: 'petstore', home: 'us-east-1' }], {
      'us-east-1': { lat: 0, lon: 0 },
      'us-west-2': { lat: 0, lon: 10 },
      'us-east-2': { lat: 0, lon: -10 },
      'eu-west-1': { lat: 0, lon: 50 },
    });
    expect(rankCandidates(config, instanceOf(config, 'petstore'), 'us-east-1')).toEqual([
      'us-east-2',
      'us-west-2',
      'eu-west-1',
    ]);
  });

  it('uses the configured failoverOrder minus the failed region when one is set', () => {
    const config = configOf({}, [
      {
        id: 'petstore',
        home: 'us-east-1',
        failoverOrder: ['eu-west-1', 'us-east-1', 'us-west-2', 'eu-west-1'],
      },
    ]);
    expect(rankCandidates(config, instanceOf(config, 'petstore'), 'us-east-1')).toEqual([
      'eu-west-1',
      'us-west-2',
    ]);
  });

  it('throws UnknownRegionError when the failed region is not configured', () => {
    const config = configOf({}, [{ id: 'petstore', home: 'us-east-1' }]);
    expect(() => rankCandidates(config, instanceOf(config, 'petstore'), 'ap-south-1')).toThrow(
      UnknownRegionError,
    );
  });
});

describe('freeSlots', () => {
  it('subtracts the home slots of instances homed in the region when counting capacity', () => {
    const config = configOf({ 'us-east-2': 5 }, [
      { id: 'a', home: 'us-east-2' },
      { id: 'b', home: 'us-east-2', units: 2 },
      { id: 'c', home: 'us-east-1', units: 3 },
    ]);
    expect(freeSlots(config, 'us-east-2', [])).toBe(2);
  });

  it('ignores instances homed in the failed region when counting a candidate region', () => {
    const config = configOf({ 'us-east-1': 1, 'us-east-2': 2 }, [
      { id: 'a', home: 'us-east-1' },
      { id: 'b', home: 'us-east-1' },
    ]);
    expect(freeSlots(config, 'us-east-2', [])).toBe(2);
  });

  it('subtracts reservations in the region only when they are in that region', () => {
    const config = configOf({ 'us-west-2': 4 }, [{ id: 'a', home: 'us-west-2' }]);
    const reservations = [
      { region: 'us-west-2', units: 1, instanceId: 'x' },
      { region: 'us-west-2', units: 1 },
      { region: 'eu-west-1', units: 3 },
    ];
    expect(freeSlots(config, 'us-west-2', reservations)).toBe(1);
  });

  it('returns a negative count when the region is over-committed', () => {
    const config = configOf({ 'us-east-2': 1 }, [
      { id: 'a', home: 'us-east-2' },
      { id: 'b', home: 'us-east-2' },
    ]);
    expect(freeSlots(config, 'us-east-2', [])).toBe(-1);
  });

  it('throws UnknownRegionError when the region is not configured', () => {
    const config = configOf({}, []);
    expect(() => freeSlots(config, 'ap-south-1', [])).toThrow(UnknownRegionError);
  });
});

describe('chooseTarget', () => {
  it('skips a region where the instance has no endpoint when choosing a target', () => {
    const config = configOf({}, [
      { id: 'petstore', home: 'us-east-1', endpointRegions: ['us-east-1', 'us-west-2'] },
    ]);
    const choice = chooseTarget({
      config,
      instance: instanceOf(config, 'petstore'),
      failedRegion: 'us-east-1',
      unhealthy: new Set(),
      reservations: [],
    });
    expect(choice).toMatchObject({ ok: true, region: 'us-west-2' });
    expect(choice.skipped).toContainEqual(
      expect.objectContaining({ region: 'us-east-2', reason: 'no-endpoint' }),
    );
  });

  it('chooses the nearest region when every candidate is healthy and has room', () => {
    const config = configOf({}, [{ id: 'petstore', home: 'us-east-1' }]);
    expect(choose(config, 'petstore')).toEqual({
      ok: true,
      region: 'us-east-2',
      distanceKm: 496,
      rank: 1,
      skipped: [],
    });
  });

  it('follows the configured failoverOrder when it names a farther region first', () => {
    const config = configOf({}, [
      { id: 'petstore', home: 'us-east-1', failoverOrder: ['us-east-1', 'eu-west-1', 'us-east-2'] },
    ]);
    const choice = choose(config, 'petstore');
    expect(choice).toMatchObject({ ok: true, region: 'eu-west-1', rank: 1 });
    expect(choice.skipped).toEqual([
      { region: 'us-east-1', reason: 'failed-region', detail: 'us-east-1 is the failed region' },
    ]);
  });

  it('skips an unhealthy candidate when a farther one is healthy', () => {
    const config = configOf({}, [{ id: 'petstore', home: 'us-east-1' }]);
    const choice = choose(config, 'petstore', { unhealthy: ['us-east-2', 'us-east-1'] });
    expect(choice).toMatchObject({ ok: true, region: 'us-west-2', rank: 2, distanceKm: 3517 });
    expect(choice.skipped).toEqual([
      { region: 'us-east-2', reason: 'unhealthy', detail: 'us-east-2 is unhealthy' },
    ]);
  });

  it('skips a full region when its home instances take every slot', () => {
    const config = configOf({ 'us-east-2': 2 }, [
      { id: 'petstore', home: 'us-east-1' },
      { id: 'orders', home: 'us-east-2', units: 2 },
    ]);
    const choice = choose(config, 'petstore');
    expect(choice).toMatchObject({ ok: true, region: 'us-west-2', rank: 2 });
    expect(choice.skipped).toEqual([
      {
        region: 'us-east-2',
        reason: 'no-capacity',
        detail: 'us-east-2 has no capacity (2 of 2 taken)',
      },
    ]);
  });

  it('skips a region with some room when the instance needs more units than are free', () => {
    const config = configOf({ 'us-east-2': 4 }, [
      { id: 'big', home: 'us-east-1', units: 3 },
      { id: 'orders', home: 'us-east-2', units: 2 },
    ]);
    const choice = choose(config, 'big');
    expect(choice).toMatchObject({ ok: true, region: 'us-west-2' });
    expect(choice.skipped[0]?.detail).toBe('us-east-2 has only 2 free slots (2 of 4 taken)');
  });

  it('explains every skipped region when no candidate is left', () => {
    const config = configOf({ 'us-east-2': 2, 'us-west-2': 3 }, [
      { id: 'petstore', home: 'us-east-1' },
      { id: 'orders', home: 'us-east-2', units: 2 },
    ]);
    const choice = choose(config, 'petstore', {
      unhealthy: ['eu-west-1'],
      reservations: [{ region: 'us-west-2', units: 3, instanceId: 'other' }],
    });
    expect(choice).toEqual({
      ok: false,
      reason:
        'no healthy region with 1 free slot: us-east-2 has no capacity (2 of 2 taken), ' +
        'us-west-2 has no capacity (3 of 3 taken), eu-west-1 is unhealthy',
      skipped: [
        {
          region: 'us-east-2',
          reason: 'no-capacity',
          detail: 'us-east-2 has no capacity (2 of 2 taken)',
        },
        {
          region: 'us-west-2',
          reason: 'no-capacity',
          detail: 'us-west-2 has no capacity (3 of 3 taken)',
        },
        { region: 'eu-west-1', reason: 'unhealthy', detail: 'eu-west-1 is unhealthy' },
      ],
    });
  });

  it('says the failoverOrder names nothing else when it lists only the failed region', () => {
    const config = configOf({}, [
      { id: 'pinned', home: 'us-east-1', failoverOrder: ['us-east-1'] },
    ]);
    expect(choose(config, 'pinned')).toMatchObject({
      ok: false,
      reason: 'no healthy region with 1 free slot: us-east-1 is the failed region',
    });
    const empty = configOf({}, [{ id: 'pinned', home: 'us-east-1', failoverOrder: [] }]);
    expect(choose(empty, 'pinned')).toEqual({
      ok: false,
      reason:
        'no healthy region with 1 free slot: the failoverOrder of pinned names no region besides us-east-1',
      skipped: [],
    });
  });

  it('says no other region exists when only the failed region is configured', () => {
    const config = configOf({}, [{ id: 'solo', home: 'us-east-1', units: 2 }], {
      'us-east-1': LOCATIONS['us-east-1'],
    });
    expect(choose(config, 'solo')).toEqual({
      ok: false,
      reason: 'no healthy region with 2 free slots: no region besides us-east-1 is configured',
      skipped: [],
    });
  });

  it('gives the last slot to the first instance and sends the second elsewhere when both compete', () => {
    const config = configOf({ 'us-east-2': 1 }, [
      { id: 'petstore', home: 'us-east-1' },
      { id: 'orders', home: 'us-east-1' },
    ]);
    const reservations: Reservation[] = [];
    const first = choose(config, 'petstore', { reservations });
    expect(first).toMatchObject({ ok: true, region: 'us-east-2' });
    if (!first.ok) throw new Error('test: expected a target');
    reservations.push({ region: first.region, units: 1, instanceId: 'petstore' });

    const second = choose(config, 'orders', { reservations });
    expect(second).toMatchObject({ ok: true, region: 'us-west-2', rank: 2 });
    expect(second.skipped).toEqual([
      {
        region: 'us-east-2',
        reason: 'no-capacity',
        detail: 'us-east-2 has no capacity (1 of 1 taken)',
      },
    ]);
  });

  it('ignores its own earlier reservation when a resumed recovery chooses again', () => {
    const config = configOf({ 'us-east-2': 1 }, [{ id: 'petstore', home: 'us-east-1' }]);
    const choice = choose(config, 'petstore', {
      reservations: [{ region: 'us-east-2', units: 1, instanceId: 'petstore' }],
    });
    expect(choice).toMatchObject({ ok: true, region: 'us-east-2', skipped: [] });
  });

  it('chooses the home region without a free slot when another region failed and home is healthy', () => {
    const config = configOf({ 'us-east-1': 1 }, [
      { id: 'petstore', home: 'us-east-1', failoverOrder: ['us-east-2', 'us-east-1'] },
    ]);
    const choice = choose(config, 'petstore', { failed: 'us-east-2' });
    expect(choice).toMatchObject({ ok: true, region: 'us-east-1', rank: 1, distanceKm: 496 });
  });

  it('is deterministic when called twice with the same inputs', () => {
    const config = configOf({ 'us-east-2': 2 }, [
      { id: 'petstore', home: 'us-east-1' },
      { id: 'orders', home: 'us-east-2', units: 2 },
    ]);
    expect(choose(config, 'petstore', { unhealthy: ['us-west-2'] })).toEqual(
      choose(config, 'petstore', { unhealthy: ['us-west-2'] }),
    );
  });
});
