import { snapshotQuorum } from '../shared/config/load.ts';
import { rateToSeconds } from '../shared/config/schema.ts';
import { detect, regionStateKey } from '../shared/domain/detection/detect.ts';
import { probeRound, probeTargets } from '../shared/domain/detection/probe.ts';
import { detectorSettings } from '../shared/domain/detection/region-health.ts';
import {
  CHAIN_TRIGGERS,
  DetailType,
  FUNCTIONS,
  functionsFor,
  type StepFunction,
} from '../shared/domain/events.ts';
import type { Clock, LifeboatEvent } from '../shared/domain/ports.ts';
import { FAILBACK_TABLE } from '../shared/domain/recovery/failback-run.ts';
import { RECOVERY_TABLE, runRecoveryStep } from '../shared/domain/recovery/recovery-run.ts';
import { respondToOutage, respondToRecovery } from '../shared/domain/recovery/respond.ts';
import {
  dnsSpecFor,
  driveRun,
  loadRun,
  type RecoveryDeps,
} from '../shared/domain/recovery/run-store.ts';
import { activeActiveWeights, homeWeights } from '../shared/domain/recovery/weights.ts';
import { sha256Hex } from '../shared/domain/snapshot/format.ts';
import { runSnapshots, type SnapshotJob } from '../shared/domain/snapshot/run.ts';
import { Rng } from '../shared/random.ts';
import { parseDetectorEvent } from '../shared/schemas/detection-events.ts';
import {
  parseChainEvent,
  parseOutageConfirmed,
  parseRegionRecovered,
} from '../shared/schemas/recovery-events.ts';
import { allCheckers, type Checker, trafficShare, type Violation } from './invariants.ts';
import { describeScenario, drawScenario, type Scenario } from './scenario.ts';
import { Scheduler } from './scheduler.ts';
import type { EndEntry, TraceEntry } from './trace.ts';
import { type Invocation, SimWorld } from './world.ts';

/**
 * One seed, start to end: draw a scenario, build the world, then let the schedules, EventBridge
 * and the seeded faults drive the real domain code (the same functions the Lambda handlers
 * call) while every invariant watches the trace.
 */

/** How a seed went. */
export interface SeedResult {
  seed: number;
  scenario: string;
  steps: number;
  violations: Violation[];
  /** Runs an operator had to resume although nothing alerted anyone (see docs/simulation.md). */
  silentlyStuck: number;
  runs: number;
  /** Lambda invocations that failed all their attempts (their event is gone). */
  exhaustedDeliveries: number;
  trace: TraceEntry[];
}

/** What a seed run can be told to do differently: tests break components through these. */
export interface SeedOptions {
  /** Keep the whole trace in the result (determinism tests); default: only on failure. */
  keepTrace?: boolean;
  /** Replaces the world's ports after they are built, to prove the checkers catch a bug. */
  mutate?: (world: SimWorld) => void;
  /** Override the drawn scenario (tests pin the kind of trouble). */
  scenario?: (scenario: Scenario) => Scenario;
}

/**
 * The functions a published event invokes, and in which regions: the event catalog's routes
 * (as deployed) plus the operator, who acts on the failure alerts. The sim's failback answers
 * "Region Recovered" for every instance in one call, so it never fans out "Failback Requested".
 */
const routesOf = (detailType: string): { fn: string; regions: 'own' | 'every' }[] => [
  ...functionsFor(detailType).map((r) => ({ fn: FUNCTIONS[r.fn].short, regions: r.regions })),
  ...(detailType === DetailType.RecoveryFailed || detailType === DetailType.FailbackFailed
    ? [{ fn: 'operator', regions: 'own' as const }]
    : []),
];

const LAMBDA_ATTEMPTS = 3; // Lambda async invoke: the first try and two retries
const DELIVERY_MAX_AGE_MS = 600_000;
const OPERATOR_DELAY_MS = 60_000;
const OPERATOR_TRIES = 3;
const START = Date.parse('2026-11-25T06:00:00.000Z');

/** Runs one seed. */
export async function runSeed(seed: number, options: SeedOptions = {}): Promise<SeedResult> {
  const rng = new Rng(seed);
  const drawn = drawScenario(rng.fork());
  const scenario = options.scenario ? options.scenario(drawn) : drawn;
  const { config } = scenario;
  const sched = new Scheduler(START);
  const trace: TraceEntry[] = [];
  const checkers: Checker[] = allCheckers();
  const violations: Violation[] = [];
  const record = (entry: TraceEntry) => {
    trace.push(entry);
    for (const checker of checkers) {
      for (const v of checker.observe(entry)) if (violations.length < 20) violations.push(v);
    }
  };
  const faultRng = rng.fork();
  const world = new SimWorld(config, sched, faultRng, scenario.rates, record);
  const deliveryRng = rng.fork();
  const clock: Clock = { now: () => new Date(sched.now) };
  const settings = detectorSettings(config.detection, config.regions.length);
  const regions = config.regions.map((r) => r.name);
  let events = 0;
  let exhaustedDeliveries = 0;
  const operatorTries = new Map<string, number>();

  const homeUnits = (region: string) =>
    config.instances
      .filter((i) => i.homeRegion === region && !i.critical)
      .reduce((sum, i) => sum + i.capacityUnits, 0);
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
  void homeUnits;

  // ---- the world before anything happens: config at home, records pre-created ----
  const dataRng = rng.fork();
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

  // ---- EventBridge: at-least-once, delayed, sometimes duplicated or held back ----
  const deliver = (from: string, published: readonly LifeboatEvent[]) => {
    for (const event of published) {
      events += 1;
      const envelope = {
        version: '0',
        id: `${seed}-ev-${events}`,
        'detail-type': event.detailType,
        source: 'lifeboat',
        account: '123456789012',
        time: new Date(sched.now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: from,
        resources: [],
        detail: event.detail,
      };
      const targets = routesOf(event.detailType).flatMap(({ fn, regions: reach }) =>
        (reach === 'every' ? regions : [from]).map((region) => ({ fn, region })),
      );
      for (const target of targets) {
        const copies = deliveryRng.chance(scenario.duplicate) ? 2 : 1;
        for (let c = 0; c < copies; c += 1) {
          const delay = deliveryRng.chance(scenario.straggle)
            ? deliveryRng.int(10_000, 90_000)
            : deliveryRng.int(20, 2000);
          const sentAt = sched.now;
          sched.schedule(sched.now + delay, () =>
            invoke(target.fn, target.region, envelope, 1, sentAt),
          );
        }
      }
    }
  };

  const recoveryDeps = (inv: Invocation): RecoveryDeps => {
    const ports = world.portsFor(inv);
    return {
      config,
      region: inv.region,
      clock,
      ...ports,
      bus: world.busFor(inv, deliver),
      // As composition.recoveryDeps: the detector's view in this region decides what is unhealthy.
      unhealthyRegions: async () => {
        const store = ports.documents(inv.region);
        const unhealthy = new Set<string>();
        for (const region of regions) {
          try {
            const state = (await store.load(regionStateKey(region)))?.value as
              | { status?: string }
              | undefined;
            if (state?.status === 'outage' || state?.status === 'recovering') unhealthy.add(region);
          } catch {
            // No detector state readable: judge by capacity and reachability alone.
          }
        }
        return unhealthy;
      },
      sleep: (ms) => sched.sleep(ms),
    };
  };

  const handlers: Record<string, (inv: Invocation, envelope: unknown) => Promise<unknown>> = {
    detect: (inv, envelope) =>
      detect({
        signals: parseDetectorEvent(envelope, config),
        regions,
        store: world.portsFor(inv).documents(inv.region),
        bus: world.busFor(inv, deliver),
        settings,
        // The handler's jittered backoff, on the virtual clock.
        backoff: (attempt) => sched.sleep(faultRng.int(0, Math.min(1000, 20 * 2 ** attempt))),
      }),
    plan: (inv, envelope) =>
      respondToOutage(recoveryDeps(inv), parseOutageConfirmed(envelope, config)),
    restore: (inv, envelope) => chainStep(inv, envelope, 'restoreInstance'),
    verify: (inv, envelope) => chainStep(inv, envelope, 'verifyInstance'),
    shift: (inv, envelope) => chainStep(inv, envelope, 'shiftTraffic'),
    failback: (inv, envelope) =>
      respondToRecovery(recoveryDeps(inv), parseRegionRecovered(envelope, config)),
    snapshot: async (inv, trigger) => {
      const { force } = trigger as { force: boolean };
      const ids = config.instances.filter((i) => i.homeRegion === inv.region).map((i) => i.id);
      const summary = await runSnapshots({
        jobs: ids.map((id) => snapshotJob(id, inv)),
        triggerTime: clock.now(),
        force,
        bus: world.busFor(inv, deliver),
        clock,
      });
      // As the handler does: only unpublished events fail the invocation (Lambda retries it);
      // a failed snapshot waits for the next schedule tick.
      if (summary.unpublished.length > 0) throw new Error('snapshot events unpublished');
    },
    operator: async (_inv, envelope) => {
      const runId = (envelope as { detail: { runId: string } }).detail.runId;
      sched.schedule(sched.now + OPERATOR_DELAY_MS, () => void operatorResume(runId));
    },
  };

  const chainStep = (inv: Invocation, envelope: unknown, fn: StepFunction) => {
    const trigger = parseChainEvent(envelope, CHAIN_TRIGGERS[fn], config);
    return runRecoveryStep(recoveryDeps(inv), trigger.runId, FUNCTIONS[fn].step, trigger.claimSet);
  };

  /** One delivery to one function: Lambda async invoke, with its two retries. */
  const invoke = async (
    fn: string,
    region: string,
    envelope: unknown,
    attempt: number,
    sentAt: number,
  ): Promise<void> => {
    if (world.regionDown.has(region)) {
      // EventBridge keeps retrying a target it cannot reach, up to the event's maximum age.
      if (sched.now - sentAt < DELIVERY_MAX_AGE_MS)
        sched.schedule(
          sched.now + 60_000,
          () => void invoke(fn, region, envelope, attempt, sentAt),
        );
      return;
    }
    const inv = world.invocation(fn, region);
    let failed = false;
    try {
      await (handlers[fn] as (i: Invocation, e: unknown) => Promise<unknown>)(inv, envelope);
    } catch (error) {
      failed = true;
      if (process.env.SIM_DEBUG) console.error(fn, region, (error as Error).message);
    }
    // A crash caught by the code under test still killed the process: Lambda retries it.
    if (!failed && !inv.dead) return;
    if (attempt < LAMBDA_ATTEMPTS) {
      sched.schedule(
        sched.now + 60_000 * attempt,
        () => void invoke(fn, region, envelope, attempt + 1, sentAt),
      );
    } else exhaustedDeliveries += 1;
  };

  /** `lifeboat resume --run <id> --approve`: what an operator does after "Recovery Failed". */
  const operatorResume = async (runId: string): Promise<string> => {
    const tries = (operatorTries.get(runId) ?? 0) + 1;
    operatorTries.set(runId, tries);
    if (tries > OPERATOR_TRIES) return 'gave-up';
    const acting = regions.find((r) => !world.regionDown.has(r)) as string;
    const inv = world.invocation('operator', acting);
    const deps = recoveryDeps(inv);
    try {
      const run = await loadRun(deps, runId, regions);
      if (!run || run.status === 'completed' || run.rolledBack) return run?.status ?? 'error';
      const acted =
        run.kind === 'recovery' && run.from === acting
          ? regions.find((r) => r !== run.from && !world.regionDown.has(r))
          : acting;
      const actingDeps =
        acted === acting ? deps : recoveryDeps(world.invocation('operator', acted as string));
      const table = run.kind === 'recovery' ? RECOVERY_TABLE : FAILBACK_TABLE;
      const after = await driveRun(actingDeps, run, table, { resume: true });
      return after.status;
    } catch {
      // A step that gives up throws after recording the run as failed: report what was recorded.
      return world.runs.get(runId)?.status ?? 'error';
    }
  };

  // ---- schedules: snapshots, probes, detector ticks, client writes, the faults ----
  const snapshotJob = (instanceId: string, inv: Invocation): SnapshotJob => {
    const instance = config.instances.find((i) => i.id === instanceId);
    if (!instance) throw new Error(`sim: no instance ${instanceId}`);
    const ports = world.portsFor(inv);
    return {
      instanceId,
      intervalSeconds: rateToSeconds(instance.snapshot.schedule),
      quorum: snapshotQuorum(instance),
      retention: instance.snapshot.retention,
      sourceRegion: instance.homeRegion,
      source: ports.instanceStore(instance.homeRegion),
      replicas: instance.replicaRegions.map((region) => ({ region, vault: ports.vault(region) })),
      ...(instance.critical
        ? {
            mirrors: (instance.activeRegions ?? [])
              .filter((r) => r !== instance.homeRegion)
              .map((region) => ({
                region,
                store: ports.instanceStore(region),
                activate: () => ports.instances.activate(instance.id, region),
              })),
          }
        : {}),
    };
  };
  // The snapshot schedule, compressed: a forced first run, then two more ticks that snapshot
  // only what has no committed snapshot yet, as production's next ticks would.
  for (const [at, force] of [
    [1000, true],
    [10_000, false],
    [20_000, false],
  ] as const) {
    for (const region of regions) {
      if (!config.instances.some((i) => i.homeRegion === region)) continue;
      const trigger = { region, force };
      sched.schedule(START + at, () => void invoke('snapshot', region, trigger, 1, sched.now));
    }
  }

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
            probe: world.probeFrom(inv),
            clock,
            timeoutMs: config.detection.probeTimeoutMs,
          });
          await world
            .busFor(inv, deliver)
            .publish([
              { detailType: DetailType.HealthObserved, detail: { vantage, observations } },
            ]);
        } catch (error) {
          if (process.env.SIM_DEBUG) console.error('probe', (error as Error).message);
          // A lost round is not made up for (no retry on the probe schedule).
        }
      });
    }
  }
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
        // Ticks have no retry: a lost one is replaced by the next.
        if (!world.regionDown.has(region))
          void handlers.detect?.(world.invocation('detect', region), tick).catch(() => undefined);
      });
    }
  }

  const writes = scenario.writes;
  if (writes) {
    const writeRng = rng.fork();
    let n = 0;
    for (let at = START + writes.from; at < START + writes.until; at += writes.every) {
      sched.schedule(at, () => {
        // Clients resolve the record as Route 53 answers it: by weight among healthy records.
        const weights = world.dnsRecords.get(writes.instanceId) ?? {};
        const healthy = (r: string) => world.ready(writes.instanceId, r);
        let pick = writeRng.next();
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

  for (const fault of scenario.faults) {
    sched.schedule(START + fault.at, () => {
      const t = sched.now;
      switch (fault.kind) {
        case 'region-down':
          world.regionDown.add(fault.region);
          if (fault.destroy) world.destroy(fault.region);
          record({ kind: 'region', t, region: fault.region, up: false, cause: fault.cause });
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

  options.mutate?.(world);

  // ---- run, drain without injected faults, then let the operator look at what is left ----
  const afterStep = () => undefined;
  await sched.runUntil(START + scenario.endAt, afterStep);
  world.faultsOn = false;
  await sched.runUntil(endAll, afterStep);

  const finalRuns: EndEntry['runs'] = [];
  let silentlyStuck = 0;
  for (const run of [...world.runs.values()].sort((a, b) => (a.runId < b.runId ? -1 : 1))) {
    const entry: EndEntry['runs'][number] = {
      runId: run.runId,
      runKind: run.kind,
      status: run.status,
      ...(run.reason ? { reason: run.reason } : {}),
      ...(run.failedStep ? { failedStep: run.failedStep } : {}),
    };
    if (run.status === 'running') {
      // Nothing alerted anyone (no "Recovery Failed"): an operator finds it with `lifeboat status`.
      silentlyStuck += 1;
      operatorTries.delete(run.runId);
      const resumed = operatorResume(run.runId);
      await sched.runUntil(sched.now + 30 * 60_000, afterStep);
      const outcome = await resumed;
      entry.operatorResume =
        outcome === 'completed' || outcome === 'failed'
          ? outcome
          : outcome === 'running'
            ? 'still-running'
            : 'error';
    }
    finalRuns.push(entry);
  }
  const serving: EndEntry['serving'] = config.instances.map((instance) => {
    const weights = world.dnsRecords.get(instance.id) ?? {};
    const region = Object.entries(weights).sort((a, b) => b[1] - a[1])[0]?.[0];
    const contents: Record<string, string> = {};
    if (region)
      for (const [key, body] of world.objectsOf(region, instance.id))
        contents[key] = sha256Hex(body);
    return { instanceId: instance.id, ...(region ? { region } : {}), contents };
  });
  record({ kind: 'end', t: sched.now, runs: finalRuns, serving });

  return {
    seed,
    scenario: describeScenario(scenario),
    steps: sched.steps,
    violations,
    silentlyStuck,
    runs: world.runs.size,
    exhaustedDeliveries,
    trace: options.keepTrace || violations.length > 0 ? trace : [],
  };
}
