import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { FaultKind, FaultPlan, ProxiedCall } from '../../local/fault-proxy.ts';
import { InstanceRuntime } from '../../local/instance-runtime.ts';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { Route53Dns } from '../../shared/adapters/route53-dns.ts';
import {
  backupVault,
  controlDocuments,
  controlStore,
  instanceStore,
  snapshotJob,
} from '../../shared/composition.ts';
import type { InstanceConfig, LifeboatConfig } from '../../shared/config/schema.ts';
import { regionStateKey } from '../../shared/domain/detection/detect.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { reservedSlots } from '../../shared/domain/recovery/capacity.ts';
import { FAILBACK_TABLE, startFailback } from '../../shared/domain/recovery/failback-run.ts';
import { RECOVERY_TABLE, startRecovery } from '../../shared/domain/recovery/recovery-run.ts';
import {
  dnsSpecFor,
  driveRun,
  latestGeneration,
  loadRun,
  type RecoveryDeps,
  type RecoveryRun,
} from '../../shared/domain/recovery/run-store.ts';
import type { StepTable } from '../../shared/domain/recovery/step-engine.ts';
import { homeWeights } from '../../shared/domain/recovery/weights.ts';
import { listCommittedSnapshotIds } from '../../shared/domain/snapshot/catalog.ts';
import { configDigest } from '../../shared/domain/snapshot/format.ts';
import { verifySnapshot } from '../../shared/domain/snapshot/restore.ts';
import { runSnapshots } from '../../shared/domain/snapshot/run.ts';
import { readInstance } from '../support/s3.ts';
import { createFaultWorld, type FaultWorld, HERE } from './faults.ts';
import { REGIONS } from './regions.ts';

/**
 * The world of the failback and pair fault suites: a recovery out of us-east-1 (run clean, or
 * under faults), writes to the recovered copy during the outage, us-east-1 back, and the
 * failback. Every lifeboat call goes through the fault proxy, labelled with the step that made
 * it, so a fault can aim at "the k-th call of failback's snapshot step" rather than at a call
 * index that shifts whenever an earlier fault adds retries.
 */

/** The steps a call can belong to: the claim counts with the first step of its function. */
export const RECOVERY_LABELS = ['plan', 'restore', 'verify', 'shift'].map((s) => `recovery:${s}`);
export const FAILBACK_LABELS = ['fence', 'snapshot', 'restore', 'verify', 'shift', 'release'].map(
  (s) => `failback:${s}`,
);

/** One fault aimed at a step: the k-th AWS call made while that step ran. */
export interface StepFault {
  label: string;
  k: number;
  kind: FaultKind;
  mode: 'once' | 'persistent';
}

/**
 * Labels every AWS call with the step running when it was made, and injects step faults. A
 * step's calls run from its work starting to the next step's work starting (so the engine's
 * record of a step and the next step's run read count with the step).
 */
export class StepTracer {
  current = 'idle';
  /** Every call since `arm`: its label and its position `k` among that label's calls. */
  readonly labelled: { seq: number; label: string; k: number; call: ProxiedCall }[] = [];
  private faults: StepFault[] = [];
  private counts = new Map<string, number>();
  private broken = new Map<string, FaultKind>();

  /** The proxy's plan: labels the call and answers with the fault aimed at it, if any. */
  readonly plan: FaultPlan = (call) => {
    if (call.service === 'other' || call.service === 'apigateway') return undefined;
    const label = this.current;
    const k = (this.counts.get(label) ?? 0) + 1;
    this.counts.set(label, k);
    this.labelled.push({ seq: call.seq, label, k, call });
    const persistent = this.broken.get(call.signature);
    if (persistent) return persistent;
    const fault = this.faults.find((f) => f.label === label && f.k === k);
    if (!fault) return undefined;
    if (fault.mode === 'persistent') this.broken.set(call.signature, fault.kind);
    return fault.kind;
  };

  /** Starts a new case: the faults to inject, counts from zero. */
  arm(faults: readonly StepFault[]): void {
    this.faults = [...faults];
    this.counts = new Map();
    this.broken = new Map();
    this.labelled.length = 0;
  }

  /**
   * Keeps only the faults not hit yet, armed (a later step they aim at has not run), and lets
   * the persistent ones that were hit heal: the next pick-up of the run meets the rest.
   */
  keepUnhit(): void {
    const hit = new Set(this.hitFaults());
    this.faults = this.faults.filter((f) => !hit.has(f));
    this.broken = new Map();
  }

  /** The armed faults that have fired. */
  hitFaults(): StepFault[] {
    return this.faults.filter((f) =>
      this.labelled.some((l) => l.label === f.label && l.k === f.k && l.call.fault),
    );
  }

  /** Stops injecting (labelling carries on). */
  disarm(): void {
    this.faults = [];
    this.broken = new Map();
  }

  /** Calls per label since `arm`. */
  callsPerLabel(): Map<string, number> {
    const out = new Map<string, number>();
    for (const { label } of this.labelled) out.set(label, (out.get(label) ?? 0) + 1);
    return out;
  }

  /** The calls that got a fault since `arm`, with their labels. */
  hits(): { label: string; k: number; call: ProxiedCall }[] {
    return this.labelled.filter((l) => l.call.fault !== undefined);
  }

  /** The table with each step's work setting the label first. */
  wrap(path: 'recovery' | 'failback', table: StepTable): StepTable {
    const work: StepTable['work'] = {};
    for (const [step, fn] of Object.entries(table.work)) {
      work[step] = (deps, run, context) => {
        this.current = `${path}:${step}`;
        return fn(deps, run, context);
      };
    }
    return { ...table, work };
  }
}

/** An instance at one point of its story, with everything the checks need. */
export interface Prepared {
  id: string;
  config: LifeboatConfig;
  directConfig: LifeboatConfig;
  instance: InstanceConfig;
  deps: RecoveryDeps;
  /** The config the instance should hold at the end: the seed plus every accepted write. */
  expected: Map<string, Buffer>;
  runtimes: Map<string, InstanceRuntime>;
  recoveryRunId: string;
}

/** The failback world: the fault world, a step tracer as the proxy's plan, and the helpers. */
export interface FailbackFaultWorld {
  world: FaultWorld;
  tracer: StepTracer;
  recoveryTable: StepTable;
  failbackTable: StepTable;
  /** A fresh instance homed in us-east-1: seeded, snapshotted, DNS home, a runtime per region. */
  prepare(): Promise<Prepared>;
  /** us-east-1 down for real (S3 path and runtime), its outage held by the detector here. */
  failHome(p: Prepared): Promise<void>;
  /** us-east-1 answers again, its data intact. */
  restoreHome(p: Prepared): Promise<void>;
  /** One "Region Outage Confirmed" delivery, driven to the end in-process. */
  deliverRecovery(p: Prepared): Promise<string>;
  /** One "Failback Requested" delivery (the "Region Recovered" delivery id as claimant). */
  deliverFailback(p: Prepared, claimant?: string): Promise<string>;
  /** What the system offers (redelivery, `lifeboat resume`) until the recovery completes. */
  settleRecovery(p: Prepared, rounds?: number): Promise<RecoveryRun | undefined>;
  /** Same for the failback: redelivery, `lifeboat resume`, `lifeboat failback --approve`. */
  settleFailback(p: Prepared, rounds?: number): Promise<RecoveryRun | undefined>;
  /** A completed recovery into another region: one generation, the snapshot served, DNS moved. */
  checkRecovered(p: Prepared, run: RecoveryRun | undefined): Promise<void>;
  /** Client writes, through the admin API of every region DNS sends traffic to. */
  clientWrites(p: Prepared, tag: string): Promise<void>;
  /** The clean story up to the failback: recovered, two writes, home back. */
  recovered(p: Prepared): Promise<void>;
  /** The end state after a failback, checked straight on moto. */
  checkFailedBack(p: Prepared, run: RecoveryRun | undefined): Promise<void>;
  /** At most one region that DNS sends traffic to is serving and unfenced. */
  checkOnePrimary(p: Prepared): Promise<void>;
  /** Every committed snapshot of the instance verifies in every replica, nothing half-visible. */
  checkSnapshots(p: Prepared): Promise<void>;
  close(): Promise<void>;
}

const NON_HOME = REGIONS.filter((r) => r !== 'us-east-1');

export async function createFailbackFaultWorld(): Promise<FailbackFaultWorld> {
  const world = await createFaultWorld();
  const tracer = new StepTracer();
  world.proxy.setPlan(tracer.plan);
  const recoveryTable = tracer.wrap('recovery', RECOVERY_TABLE);
  const failbackTable = tracer.wrap('failback', FAILBACK_TABLE);
  const direct = world.directConfigFor([]);
  const dnsDirect = new Route53Dns(world.directRoute53, { baseDelayMs: 10, pollMs: 10 });
  const allRuntimes: InstanceRuntime[] = [];
  let caseNumber = 0;

  const prepare = async (): Promise<Prepared> => {
    caseNumber += 1;
    const id = `fb${caseNumber}`;
    const endpoints: Record<string, { url: string }> = {};
    const runtimes = new Map<string, InstanceRuntime>();
    for (const region of REGIONS) {
      const runtime = new InstanceRuntime({
        instanceId: id,
        region,
        zones: [`${region}a`],
        store: instanceStore(direct, region),
      });
      await runtime.start();
      allRuntimes.push(runtime);
      runtimes.set(region, runtime);
      endpoints[region] = { url: Object.values(runtime.urls())[0] as string };
    }
    const def = {
      id,
      homeRegion: 'us-east-1',
      replicaRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
      dns: {
        hostedZoneId: world.hostedZoneId,
        recordName: `${id}.${world.prefix}.lifeboat.test`,
        ttl: 30,
      },
      endpoints,
    };
    const config = world.configFor([def]);
    const directConfig = world.directConfigFor([def]);
    const instance = config.instances[0] as InstanceConfig;
    const objects = sampleInstanceObjects({ apis: 1, seed: caseNumber });
    await seedInstance(instanceStore(directConfig, 'us-east-1'), id, objects);
    await runtimes.get('us-east-1')?.reload();
    await runSnapshots({
      jobs: [snapshotJob(directConfig, directConfig.instances[0] as InstanceConfig)],
      triggerTime: new Date(Date.now() - 300_000),
      force: true,
      bus: { publish: async () => undefined },
      clock: systemClock,
    });
    const spec = dnsSpecFor(instance);
    await dnsDirect.applyWeights(spec, homeWeights(Object.keys(spec.targets), 'us-east-1'));
    // Earlier cases' runs may hold slots (a case that failed its checks); give the room back.
    for (const region of REGIONS) {
      const store = controlStore(direct, region);
      const held = await store.list('capacity/');
      if (held.length > 0) await store.delete(held.map((b) => b.key));
    }
    const expected = new Map(objects);
    return {
      id,
      config,
      directConfig,
      instance,
      deps: world.depsFor(config),
      expected,
      runtimes,
      recoveryRunId: `${id}-g1`,
    };
  };

  const setDetector = async (status: 'outage' | 'healthy') => {
    const documents = controlDocuments(direct, HERE);
    const current = await documents.load(regionStateKey('us-east-1'));
    await documents.save(
      regionStateKey('us-east-1'),
      { region: 'us-east-1', status },
      current?.version,
    );
  };

  const failHome = async (p: Prepared) => {
    await world.regionProxies.get('us-east-1')?.down();
    await p.runtimes.get('us-east-1')?.stopZone('us-east-1a');
    await setDetector('outage');
  };

  const restoreHome = async (p: Prepared) => {
    await world.regionProxies.get('us-east-1')?.up();
    await p.runtimes.get('us-east-1')?.startZone('us-east-1a');
    await setDetector('healthy');
  };

  const incident = () => ({
    incidentId: 'us-east-1-incident',
    outageStartedAt: new Date(Date.now() - 90_000).toISOString(),
    confirmedAt: new Date().toISOString(),
  });

  const deliverRecovery = async (p: Prepared): Promise<string> => {
    tracer.current = 'recovery:plan';
    try {
      const started = await startRecovery(p.deps, {
        instance: p.instance,
        failedRegion: 'us-east-1',
        claimant: 'detector-us-west-2',
        incident: incident(),
      });
      if (started.outcome !== 'started' && started.outcome !== 'resumed') return started.outcome;
      return (await driveRun(p.deps, started.run, recoveryTable)).status;
    } catch (error) {
      return `threw: ${(error as Error).message}`;
    } finally {
      tracer.current = 'idle';
    }
  };

  const deliverFailback = async (
    p: Prepared,
    claimant = 'recovered-us-west-2',
    retryRolledBack = false,
  ): Promise<string> => {
    tracer.current = 'failback:fence';
    try {
      const started = await startFailback(p.deps, {
        instance: p.instance,
        home: 'us-east-1',
        claimant,
        ...(retryRolledBack ? { retryRolledBack } : {}),
      });
      if (started.outcome !== 'started' && started.outcome !== 'resumed') return started.outcome;
      return (await driveRun(p.deps, started.run, failbackTable)).status;
    } catch (error) {
      return `threw: ${(error as Error).message}`;
    } finally {
      tracer.current = 'idle';
    }
  };

  const settleRecovery = async (p: Prepared, rounds = 3) => {
    for (let round = 0; round < rounds; round += 1) {
      const run = await loadRun(p.deps, p.recoveryRunId, NON_HOME);
      if (run?.status === 'completed') return run;
      if (!run) await deliverRecovery(p);
      else if (run.status === 'failed')
        await driveRun(p.deps, run, RECOVERY_TABLE, { resume: true }).catch(() => undefined);
      else await driveRun(p.deps, run, RECOVERY_TABLE).catch(() => undefined);
    }
    return loadRun(p.deps, p.recoveryRunId, NON_HOME);
  };

  /** The newest failback run of the instance, if any. */
  const latestFailback = async (p: Prepared) => {
    const { claim } = await latestGeneration(p.deps, p.id);
    if (claim?.payload.kind !== 'failback') return undefined;
    return loadRun(p.deps, String(claim.payload.runId), claim.claimSet);
  };

  const settleFailback = async (p: Prepared, rounds = 4) => {
    for (let round = 0; round < rounds; round += 1) {
      const run = await latestFailback(p);
      if (run?.status === 'completed') return run;
      if (!run) await deliverFailback(p);
      else if (run.status === 'failed' && run.rolledBack)
        // `lifeboat failback --approve`: the operator tries again after a rollback.
        await deliverFailback(p, `operator-${round}`, true);
      else if (run.status === 'failed')
        await driveRun(p.deps, run, FAILBACK_TABLE, { resume: true }).catch(() => undefined);
      // A run left running: its "Failback Requested" redelivered (same claimant).
      else await deliverFailback(p, run.claimant);
    }
    return latestFailback(p);
  };

  const clientWrites = async (p: Prepared, tag: string) => {
    const weights = await dnsDirect.readWeights(dnsSpecFor(p.instance));
    for (const [region, weight] of Object.entries(weights)) {
      if (weight <= 0) continue;
      const url = p.instance.endpoints[region]?.url;
      if (!url) continue;
      const key = `apis/written-${tag}-${region}.json`;
      const body = `{"tag":"${tag}","region":"${region}"}\n`;
      const answer = await fetch(`${url}/admin/config/${key}`, { method: 'PUT', body }).catch(
        () => undefined,
      );
      // An accepted write must survive; a refused one (fenced, down) was never the client's.
      if (answer?.status === 200) p.expected.set(key, Buffer.from(body));
    }
  };

  const recovered = async (p: Prepared) => {
    await failHome(p);
    const outcome = await deliverRecovery(p);
    expect(outcome, 'the clean recovery').toBe('completed');
    await clientWrites(p, 'outage-1');
    await clientWrites(p, 'outage-2');
    await restoreHome(p);
  };

  const checkRecovered = async (p: Prepared, run: RecoveryRun | undefined) => {
    expect(run?.status, `recovery ${p.recoveryRunId}: ${run?.reason ?? ''}`).toBe('completed');
    const target = run?.target as string;
    expect(NON_HOME).toContain(target);
    expect((await latestGeneration(p.deps, p.id)).generation).toBe(1);
    const restored = await readInstance(p.directConfig, target, p.id);
    expect([...restored.keys()].sort()).toEqual([...p.expected.keys()].sort());
    const health = await p.deps.instances.health(p.id, target);
    expect(health).toMatchObject({ ok: true, configDigest: run?.snapshot?.configDigest });
    const weights = await dnsDirect.readWeights(dnsSpecFor(p.instance));
    expect(weights).toEqual(
      Object.fromEntries(REGIONS.map((r) => [r, r === target ? 100 : 0] as const)),
    );
    await checkOnePrimary(p);
  };

  const checkOnePrimary = async (p: Prepared) => {
    const weights = await dnsDirect.readWeights(dnsSpecFor(p.instance));
    const primaries = [];
    for (const [region, weight] of Object.entries(weights)) {
      if (weight <= 0) continue;
      const health = await p.deps.instances.health(p.id, region);
      if (health.ok && typeof health.configDigest === 'string' && health.fenced === false)
        primaries.push(region);
    }
    expect(primaries.length, `primaries ${primaries.join(', ')}`).toBeLessThanOrEqual(1);
  };

  const checkSnapshots = async (p: Prepared) => {
    for (const region of p.instance.replicaRegions) {
      const vault = backupVault(p.directConfig, region);
      for (const snapshotId of await listCommittedSnapshotIds(vault, p.id)) {
        const report = await verifySnapshot({ vault, instanceId: p.id, snapshotId });
        expect(report.ok, `${region} ${snapshotId}: ${JSON.stringify(report)}`).toBe(true);
      }
    }
  };

  const checkFailedBack = async (p: Prepared, run: RecoveryRun | undefined) => {
    expect(run?.status, `failback ${run?.runId}: ${run?.reason ?? ''}`).toBe('completed');
    // No write lost: home holds the seed and every write any region accepted, byte for byte.
    const home = await readInstance(p.directConfig, 'us-east-1', p.id);
    expect([...home.keys()].sort()).toEqual([...p.expected.keys()].sort());
    for (const [key, body] of p.expected) expect(home.get(key)?.equals(body), key).toBe(true);
    // Home serves what its store holds: the final snapshot, plus writes it took once home.
    const served = configDigest(
      [...p.expected].map(([key, body]) => ({
        key,
        sha256: createHash('sha256').update(body).digest('hex'),
      })),
    );
    const health = await p.deps.instances.health(p.id, 'us-east-1');
    expect(health).toMatchObject({ ok: true, configDigest: served, fenced: false });
    // All traffic home; the recovered copy fenced: one primary.
    const weights = await dnsDirect.readWeights(dnsSpecFor(p.instance));
    expect(weights).toEqual(
      Object.fromEntries(REGIONS.map((r) => [r, r === 'us-east-1' ? 100 : 0] as const)),
    );
    expect((await p.deps.instances.health(p.id, run?.from ?? 'us-east-2')).fenced).toBe(true);
    await checkOnePrimary(p);
    // The recovery's slots are released.
    for (const region of NON_HOME) {
      const held = (
        await reservedSlots(world.depsFor(p.directConfig).documents(region), region, 2)
      ).filter((s) => s.instanceId === p.id);
      expect(held, `slots of ${p.id} in ${region}`).toEqual([]);
    }
    await checkSnapshots(p);
  };

  return {
    world,
    tracer,
    recoveryTable,
    failbackTable,
    prepare,
    failHome,
    restoreHome,
    deliverRecovery,
    deliverFailback,
    settleRecovery,
    settleFailback,
    clientWrites,
    recovered,
    checkFailedBack,
    checkRecovered,
    checkOnePrimary,
    checkSnapshots,
    close: async () => {
      for (const runtime of allRuntimes) await runtime.stop();
      await world.close();
    },
  };
}

/** Every (kind, mode) pair, stepped along the calls as the recovery suite does. */
export const KIND_MODES = (
  ['error', 'throttle', 'reset', 'timeout', 'lost-response'] as const
).flatMap((kind) => (['once', 'persistent'] as const).map((mode) => ({ kind, mode })));

/**
 * Which calls of each step to break. `full` (LIFEBOAT_FAULTS=full): every call × every (kind,
 * mode). Otherwise every call of a step once, up to `perStep` calls spread evenly over the
 * step (first and last included), the (kind, mode) pairs stepping along.
 */
export function stepCases(
  counts: ReadonlyMap<string, number>,
  labels: readonly string[],
  options: { full: boolean; perStep: number },
): StepFault[] {
  const out: StepFault[] = [];
  let position = 0;
  for (const label of labels) {
    const n = counts.get(label) ?? 0;
    const picks = options.full || n <= options.perStep ? range(n) : spread(n, options.perStep);
    for (const k of picks) {
      const pairs = options.full
        ? KIND_MODES
        : [KIND_MODES[position % KIND_MODES.length] as (typeof KIND_MODES)[number]];
      position += 1;
      for (const { kind, mode } of pairs) out.push({ label, k, kind, mode });
    }
  }
  return out;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** `count` of the indexes 1..n, evenly spread, first and last included (one: the middle). */
function spread(n: number, count: number): number[] {
  if (count <= 1) return [Math.ceil(n / 2)];
  return [...new Set(range(count).map((i) => Math.round(1 + ((i - 1) * (n - 1)) / (count - 1))))];
}
