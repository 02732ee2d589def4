import { probeRound, probeTargets } from '../shared/domain/detection/probe.ts';
import { DetailType } from '../shared/domain/events.ts';
import { dnsSpecFor } from '../shared/domain/recovery/dns-spec.ts';
import { activeActiveWeights, homeWeights } from '../shared/domain/recovery/weights.ts';
import { restoreTestSchedules } from '../shared/domain/snapshot/restore-test.ts';
import type { Rng } from '../shared/random.ts';
import type { EventDelivery } from './delivery.ts';
import type { SimFunctions } from './functions.ts';
import { trafficShare } from './invariants.ts';
import { busFor, probeFrom } from './ports.ts';
import { type SeedContext, START } from './seed-context.ts';

/**
 * What happens to a seed's world on the clock: its state before anything happens, the snapshot
 * schedule, probe rounds, detector ticks, client writes, and the scenario's faults.
 */

/** The first trace entry: the regions and instances the checkers judge against. */
export function recordSetup(ctx: SeedContext): void {
  const { config, sched, record } = ctx;
  record({
    kind: 'setup',
    t: sched.now,
    regions: config.regions.map((r) => ({
      name: r.name,
      capacity: r.capacity,
      homeUnits: config.instances
        .filter((i) => i.homeRegion === r.name)
        .reduce((sum, i) => sum + i.capacityUnits, 0),
    })),
    instances: config.instances.map((i) => ({
      id: i.id,
      home: i.homeRegion,
      units: i.capacityUnits,
      critical: i.critical,
      endpointRegions: Object.keys(i.endpoints),
    })),
    // Detection (window, stale vantages, delivery) plus the chain with its retries, plus an
    // operator answering "Recovery Failed" once or twice.
    rtoBoundMs: 6 * 60_000,
  });
}

/** The world before anything happens: config at home, instances activated, records pre-created. */
export function seedWorld(ctx: SeedContext, dataRng: Rng): void {
  const { config, world } = ctx;
  for (const instance of config.instances) {
    const homes = instance.critical ? (instance.activeRegions ?? []) : [instance.homeRegion];
    const objects = dataRng.int(3, 6);
    for (let n = 0; n < objects; n += 1) {
      const body = JSON.stringify({ api: n, spec: dataRng.next().toString(36).repeat(8) });
      for (const home of homes)
        world.objectsOf(home, instance.id).set(`apis/api-${n}.json`, Buffer.from(body));
    }
    for (const home of homes) world.activate(instance.id, home);
    const spec = dnsSpecFor(instance);
    const targets = Object.keys(spec.targets);
    const shares = instance.critical
      ? activeActiveWeights(instance.activeRegions ?? [], new Set())
      : homeWeights(targets, instance.homeRegion);
    world.createRecords(instance.id, Object.fromEntries(targets.map((r) => [r, shares[r] ?? 0])));
  }
}

/**
 * The snapshot schedule, compressed: a forced first run, then two more ticks that snapshot only
 * what has no committed snapshot yet, as production's next ticks would.
 */
export function scheduleSnapshots(ctx: SeedContext, delivery: EventDelivery): void {
  const { config, regions, sched } = ctx;
  for (const [at, force] of [
    [1000, true],
    [10_000, false],
    [20_000, false],
  ] as const) {
    for (const region of regions) {
      if (!config.instances.some((i) => i.homeRegion === region)) continue;
      const trigger = { region, force };
      sched.schedule(
        START + at,
        () => void delivery.invoke('snapshot', region, trigger, 1, sched.now),
      );
    }
  }
}

/**
 * The restoreTest function's schedules: each instance's test once while faults are on (after
 * the snapshot ticks) and once in the drain, from its home region when that region is up. The
 * tests draw from `rng` alone and run as side invocations, so they change nothing else a seed
 * does.
 */
export function scheduleRestoreTests(ctx: SeedContext, functions: SimFunctions, rng: Rng): void {
  const { config, sched, world, scenario } = ctx;
  for (const at of [30_000, scenario.endAt + Math.floor(scenario.drainMs / 2)]) {
    for (const schedule of restoreTestSchedules(config.instances)) {
      sched.schedule(START + at, () => {
        if (world.regionDown.has(schedule.region)) return; // no Lambda runs in a dead region
        const inv = world.sideInvocation('restore-test', schedule.region, rng);
        void functions.restoreTest(inv, schedule.instanceId, rng).catch((error: unknown) => {
          if (process.env.SIM_DEBUG) console.error('restore-test', (error as Error).message);
        });
      });
    }
  }
}

/** A probe round from every live vantage each interval, and a clock entry for the checkers. */
export function scheduleProbes(ctx: SeedContext, delivery: EventDelivery): void {
  const { config, regions, sched, world, scenario, faultRng, clock, record } = ctx;
  const targets = probeTargets(config.instances);
  const endAll = START + scenario.endAt + scenario.drainMs;
  for (let at = START + scenario.intervalMs; at < endAll; at += scenario.intervalMs) {
    sched.schedule(at, () => record({ kind: 'clock', t: sched.now }));
    // The drain lets chains, retries and operators finish; probing on would only cost time.
    if (at >= START + scenario.endAt) continue;
    for (const vantage of regions) {
      sched.schedule(at + faultRng.int(0, 500), async () => {
        if (world.regionDown.has(vantage)) return; // no Lambda runs in a dead region
        const inv = world.invocation('probe', vantage);
        try {
          const observations = await probeRound({
            vantage,
            targets,
            probe: probeFrom(world, inv),
            clock,
            timeoutMs: config.detection.probeTimeoutMs,
          });
          await busFor(world, inv, delivery.deliver).publish([
            { detailType: DetailType.HealthObserved, detail: { vantage, observations } },
          ]);
        } catch (error) {
          if (process.env.SIM_DEBUG) console.error('probe', (error as Error).message);
          // A lost round is not made up for (no retry on the probe schedule).
        }
      });
    }
  }
}

/** The detector's minute ticks in every region (no retry: a lost one is replaced by the next). */
export function scheduleTicks(ctx: SeedContext, functions: SimFunctions): void {
  const { regions, sched, world, scenario, seed } = ctx;
  for (let at = START + 60_000; at < START + scenario.endAt; at += 60_000) {
    for (const region of regions) {
      sched.schedule(at, () => {
        const tick = {
          version: '0',
          id: `${seed}-tick-${at}-${region}`,
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          account: '123456789012',
          time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          region,
          resources: [],
          detail: {},
        };
        if (!world.regionDown.has(region))
          void functions
            .dispatch('detect', world.invocation('detect', region), tick)
            .catch(() => undefined);
      });
    }
  }
}

/** Client config writes, sent where Route 53 answers: by weight among healthy records. */
export function scheduleWrites(ctx: SeedContext, writeRng: () => Rng): void {
  const { sched, world, scenario } = ctx;
  const writes = scenario.writes;
  if (writes) {
    const draws = writeRng();
    let n = 0;
    for (let at = START + writes.from; at < START + writes.until; at += writes.every) {
      sched.schedule(at, () => {
        const weights = world.dnsRecords.get(writes.instanceId) ?? {};
        const healthy = (r: string) => world.ready(writes.instanceId, r);
        let pick = draws.next();
        const region =
          Object.keys(weights).find((r) => {
            pick -= trafficShare(weights, r, healthy);
            return pick < 0;
          }) ?? '';
        n += 1;
        world.clientWrite(writes.instanceId, region, `apis/written-${n}.json`, `{"write":${n}}`);
      });
    }
  }
}

/** Per instance, the regions other than `failed` whose vault holds a whole committed snapshot. */
function restorableCopies(ctx: SeedContext, failed: string): Record<string, string[]> {
  const { config, world } = ctx;
  return Object.fromEntries(
    config.instances.map((instance) => [
      instance.id,
      config.regions
        .map((r) => r.name)
        .filter(
          (region) =>
            region !== failed &&
            world.committedSnapshots(region, instance.id).some((s) => s.problem === undefined),
        ),
    ]),
  );
}

/** The scenario's faults, on their times: regions, zones and vantage links going and coming. */
export function scheduleFaults(ctx: SeedContext): void {
  const { sched, world, scenario, record } = ctx;
  for (const fault of scenario.faults) {
    sched.schedule(START + fault.at, () => {
      const t = sched.now;
      switch (fault.kind) {
        case 'region-down':
          world.regionDown.add(fault.region);
          if (fault.destroy) world.destroy(fault.region);
          record({
            kind: 'region',
            t,
            region: fault.region,
            up: false,
            cause: fault.cause,
            restorable: restorableCopies(ctx, fault.region),
          });
          return;
        case 'region-up':
          world.regionDown.delete(fault.region);
          record({ kind: 'region', t, region: fault.region, up: true, cause: 'heal' });
          return;
        case 'zone-down':
          world.zoneDown.add(`${fault.region}/${fault.zone}`);
          record({ kind: 'partial', t, region: fault.region, what: `zone ${fault.zone} down` });
          return;
        case 'zone-up':
          world.zoneDown.delete(`${fault.region}/${fault.zone}`);
          return;
        case 'cut':
          world.cut.add(`${fault.vantage}>${fault.target}`);
          record({ kind: 'partial', t, region: fault.target, what: `cut from ${fault.vantage}` });
          return;
        case 'mend':
          world.cut.delete(`${fault.vantage}>${fault.target}`);
          return;
      }
    });
  }
}
