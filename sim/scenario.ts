import { parseConfig } from '../shared/config/load.ts';
import type { LifeboatConfig } from '../shared/config/schema.ts';
import type { Rng } from '../shared/random.ts';
import type { FaultRates } from './world.ts';

/**
 * What one seed simulates: the world's config, the faults and when they strike, the client
 * writes, and how unreliable AWS is. Everything is drawn from the seed.
 */

export const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1'] as const;
const LOCATIONS: Record<string, { lat: number; lon: number }> = {
  'us-east-1': { lat: 38.9, lon: -77.4 },
  'us-east-2': { lat: 40.0, lon: -83.0 },
  'us-west-2': { lat: 45.8, lon: -119.7 },
  'eu-west-1': { lat: 53.3, lon: -6.3 },
};
const INSTANCE_IDS = ['petstore', 'billing', 'catalog'];

/** The kinds of trouble a seed brings. */
export type ScenarioKind =
  | 'region-outage'
  | 'destroyed-region'
  | 'zone-outage'
  | 'flapping'
  | 'partition'
  | 'other-region-outage';

/** A fault on the timeline (ms from the start). */
export type Fault =
  | { at: number; kind: 'region-down'; region: string; cause: 'outage' | 'flap'; destroy?: boolean }
  | { at: number; kind: 'region-up'; region: string }
  | { at: number; kind: 'zone-down' | 'zone-up'; region: string; zone: string }
  | { at: number; kind: 'cut' | 'mend'; vantage: string; target: string };

/** Everything one seed runs. */
export interface Scenario {
  kind: ScenarioKind;
  config: LifeboatConfig;
  /** The region the scenario is about (its home, zone, flapping or partitioned region). */
  subject: string;
  faults: Fault[];
  rates: FaultRates;
  /** EventBridge: chance a delivery is duplicated, and chance it is held back long (reordering). */
  duplicate: number;
  straggle: number;
  /**
   * Client writes: first, last, and the gap between (ms). `fenceLagMs` is set when the written
   * instance's fence is advisory (kind apigateway): how long its writers take to see a fence.
   */
  writes?: { from: number; until: number; every: number; instanceId: string; fenceLagMs?: number };
  /** When faults stop and the world drains (ms); the run ends `drainMs` later. */
  endAt: number;
  drainMs: number;
  /** The detection numbers the scenario was built around. */
  intervalMs: number;
  windowMs: number;
}

const MINUTE = 60_000;

/** Draws a scenario from the seed's generator. */
export function drawScenario(rng: Rng): Scenario {
  const kind = rng.pick<ScenarioKind>([
    'region-outage',
    'region-outage',
    'region-outage',
    'destroyed-region',
    'zone-outage',
    'flapping',
    'partition',
    'other-region-outage',
  ]);
  // Three or four regions: with three, a recovery's claim set is a single bucket; with four, a
  // majority of three. Fewer regions also keep the detectors' work (regions³ per round) small.
  const regionList = rng.chance(0.5) ? REGIONS.slice(0, 3) : [...REGIONS];
  const count = rng.chance(0.7) ? 1 : 2;
  const firstHome = rng.pick(regionList);
  const instances = INSTANCE_IDS.slice(0, count).map((id, index) => ({
    id,
    home: index === 0 || rng.chance(0.5) ? firstHome : rng.pick(regionList),
    units: rng.chance(0.2) ? 2 : 1,
  }));
  const critical = rng.chance(0.2)
    ? { id: 'payments', active: rng.shuffle(regionList).slice(0, 2) }
    : undefined;
  if (critical && rng.chance(0.5) && !critical.active.includes(firstHome))
    critical.active[0] = firstHome;
  const homeUnits = (region: string) =>
    instances.filter((i) => i.home === region).reduce((sum, i) => sum + i.units, 0);
  // Sometimes tight: recoveries then compete for the few free slots.
  const capacity = Object.fromEntries(
    regionList.map((r) => [r, homeUnits(r) + (rng.chance(0.3) ? rng.int(0, 1) : rng.int(2, 4))]),
  );

  const intervalSeconds = 30;
  const failureThreshold = 2;
  const rawConfig = {
    version: 1,
    regions: regionList.map((name) => ({
      name,
      location: LOCATIONS[name],
      capacity: capacity[name],
      zones: [`${name}a`, `${name}b`],
    })),
    detection: { intervalSeconds, failureThreshold, recoverySeconds: 60, probeTimeoutMs: 2000 },
    failback: { canaryPercents: [10, 50, 100], stepSeconds: 20, healthChecksPerStep: 2 },
    instances: [
      ...instances.map((i) => ({
        id: i.id,
        homeRegion: i.home,
        replicaRegions: rng.shuffle(regionList).slice(0, 3),
        capacityUnits: i.units,
        // A restore test per instance (sim/schedules.ts scheduleRestoreTests).
        snapshot: { restoreTest: 'rate(7 days)' },
        dns: {
          hostedZoneId: 'Z0SIM',
          recordName: `${i.id}.api.example.com`,
          healthChecks: Object.fromEntries(regionList.map((r) => [r, `hc-${i.id}-${r}`])),
        },
        endpoints: endpointsOf(i.id, regionList),
      })),
      ...(critical
        ? [
            {
              id: critical.id,
              homeRegion: critical.active[0],
              replicaRegions: rng.shuffle(regionList).slice(0, 3),
              critical: true,
              activeRegions: critical.active,
              snapshot: { restoreTest: 'rate(7 days)' },
              dns: {
                hostedZoneId: 'Z0SIM',
                recordName: 'payments.api.example.com',
                healthChecks: Object.fromEntries(
                  critical.active.map((r) => [r, `hc-payments-${r}`]),
                ),
              },
              endpoints: endpointsOf(critical.id, critical.active),
            },
          ]
        : []),
    ],
  };

  const reliable = rng.chance(0.35);
  const rates: FaultRates = reliable
    ? { s3Error: 0, s3Timeout: 0, dnsError: 0, busError: 0, crash: 0 }
    : {
        s3Error: rng.next() * 0.03,
        s3Timeout: rng.next() * 0.01,
        dnsError: rng.next() * 0.1,
        busError: rng.next() * 0.03,
        crash: rng.next() * 0.15,
      };

  const start = rng.int(30, 60) * 1000;
  const faults: Fault[] = [];
  let subject = firstHome;
  let troubleEnds = start;
  switch (kind) {
    case 'region-outage':
    case 'destroyed-region':
    case 'other-region-outage': {
      if (kind === 'other-region-outage')
        subject = rng.pick(regionList.filter((r) => r !== firstHome));
      faults.push({
        at: start,
        kind: 'region-down',
        region: subject,
        cause: 'outage',
        ...(kind === 'destroyed-region' ? { destroy: true } : {}),
      });
      if (rng.chance(0.7)) {
        troubleEnds = start + rng.int(3, 9) * MINUTE;
        faults.push({ at: troubleEnds, kind: 'region-up', region: subject });
        // Time for the detector's recovery period and a whole canary failback.
        troubleEnds += 3 * MINUTE;
      } else troubleEnds = start + 8 * MINUTE;
      break;
    }
    case 'zone-outage': {
      const zone = `${subject}${rng.pick(['a', 'b'])}`;
      troubleEnds = start + rng.int(2, 5) * MINUTE;
      faults.push({ at: start, kind: 'zone-down', region: subject, zone });
      faults.push({ at: troubleEnds, kind: 'zone-up', region: subject, zone });
      break;
    }
    case 'flapping': {
      // Every drop is shorter than the detection window less one interval, with answers in
      // between: flapping as the detector must tolerate it.
      let at = start;
      troubleEnds = start + rng.int(2, 5) * MINUTE;
      while (at < troubleEnds) {
        const down = rng.int(5, 25) * 1000;
        faults.push({ at, kind: 'region-down', region: subject, cause: 'flap' });
        faults.push({ at: at + down, kind: 'region-up', region: subject });
        at += down + rng.int(35, 60) * 1000;
      }
      break;
    }
    case 'partition': {
      // Fewer vantages than the quorum lose sight of the region: it must not count as down.
      // With three regions the quorum is two: only one vantage may be cut.
      const others = regionList.filter((r) => r !== subject);
      const vantages = rng.shuffle(others).slice(0, rng.int(1, regionList.length - 2));
      troubleEnds = start + rng.int(2, 5) * MINUTE;
      for (const vantage of vantages) {
        faults.push({ at: start, kind: 'cut', vantage, target: subject });
        faults.push({ at: troubleEnds, kind: 'mend', vantage, target: subject });
      }
      break;
    }
  }
  faults.sort((a, b) => a.at - b.at);
  const endAt = troubleEnds + rng.int(1, 2) * MINUTE;
  const duplicate = rng.next() * 0.2;
  const straggle = rng.next() * 0.05;
  const writes = {
    from: start + rng.int(2, 4) * MINUTE,
    until: endAt - MINUTE,
    every: rng.int(15, 40) * 1000,
    instanceId: (instances[0] as { id: string }).id,
  };
  // Drawn after everything else, so that seeds drawn before kinds existed keep their worlds.
  // Sometimes the written instance is an API Gateway one: its fence is a marker its pipelines
  // see within fenceSettleSeconds, and a pipeline's lag is drawn up to that.
  const advisory = rng.chance(0.35);
  const settleSeconds = rng.int(10, 45);
  const lagMs = rng.int(0, settleSeconds * 1000);
  const written = rawConfig.instances[0] as Record<string, unknown>;
  if (advisory) {
    written.kind = 'apigateway';
    written.apigateway = { fenceSettleSeconds: settleSeconds };
  }
  const config = parseConfig(rawConfig, 'simulation');
  return {
    kind,
    config,
    subject,
    faults,
    rates,
    duplicate,
    straggle,
    writes: advisory ? { ...writes, fenceLagMs: lagMs } : writes,
    endAt,
    drainMs: 4 * MINUTE,
    intervalMs: intervalSeconds * 1000,
    windowMs: intervalSeconds * failureThreshold * 1000,
  };
}

function endpointsOf(id: string, regions: readonly string[]) {
  return Object.fromEntries(
    regions.map((r) => [
      r,
      {
        url: `https://${id}.${r}.example.com`,
        zones: {
          [`${r}a`]: `https://${id}.${r}a.example.com`,
          [`${r}b`]: `https://${id}.${r}b.example.com`,
        },
      },
    ]),
  );
}

/** One line about a scenario, for failure reports. */
export function describeScenario(s: Scenario): string {
  const instances = s.config.instances
    .map(
      (i) =>
        `${i.id}@${i.critical ? (i.activeRegions ?? []).join('+') : i.homeRegion}${i.kind === 'apigateway' ? ' (apigateway)' : ''}`,
    )
    .join(' ');
  const rates = Object.entries(s.rates)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k}=${v.toFixed(3)}`)
    .join(' ');
  return `${s.kind} of ${s.subject}; instances ${instances}; faults ${rates || 'none'}`;
}
