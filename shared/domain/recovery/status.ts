import type { InstanceConfig } from '../../config/schema.ts';
import { regionStateKey } from '../detection/detect.ts';
import { compareRegions } from '../drift.ts';
import { listCommittedSnapshotIds } from '../snapshot/catalog.ts';
import { snapshotTime } from '../snapshot/format.ts';
import { restoreTestKey } from '../snapshot/restore-test.ts';
import { describeApproval } from './approval.ts';
import { reservedSlots } from './capacity.ts';
import { dnsSpecFor } from './dns-spec.ts';
import type { RecoveryDeps, Weights } from './ports.ts';
import type { RecoveryRun } from './run.ts';
import { type InstanceState, readDns, whereabouts } from './whereabouts.ts';

/**
 * What `lifeboat status` reports: each region's detector state and capacity, and each
 * instance's state, latest run, DNS weights and newest snapshots. Only reads; a bucket or DNS
 * that does not answer is reported as such rather than failing the report.
 */

/** One region as `status` shows it. */
export interface RegionStatus {
  region: string;
  detector: {
    status: string;
    since?: string;
    incidentId?: string;
    degradedZones: string[];
  } | null;
  capacity: number;
  home: number;
  reserved?: number;
  free?: number;
  reservations?: { slot: number; runId: string; instanceId: string }[];
  error?: string;
}

/** One instance as `status` shows it. */
export interface InstanceStatus {
  instanceId: string;
  homeRegion: string;
  runsIn: string[];
  state: InstanceState;
  generation: number;
  latest?: {
    runId: string;
    kind: string;
    status: string;
    from: string;
    target?: string;
    failedStep?: string;
    reason?: string;
    updatedAt: string;
    metrics?: RecoveryRun['metrics'];
    /** The approval gate, when the run asked: the record, and one line on where it stands. */
    approval?: RecoveryRun['approval'];
    approvalState?: string;
  };
  dns: { recordName: string; weights?: Weights; error?: string };
  snapshots: { region: string; snapshotId?: string; ageSeconds?: number; error?: string }[];
  /** Active-active instances: whether their regions hold the same documents. */
  drift?: { inSync: boolean; documents: string[]; unreachable: string[] };
  /** The last restore test (snapshot.restoreTest, or `lifeboat restore-test`), when one ran. */
  restoreTest?:
    | {
        passed: boolean;
        testedAt: string;
        region: string;
        snapshotId?: string;
        durationMs: number;
        bytes: number;
        reason?: string;
      }
    | { error: string };
}

/** What `status` reports. */
export interface StatusReport {
  at: string;
  /** Whose control bucket the detector states were read from. */
  detectorView?: string;
  regions: RegionStatus[];
  instances: InstanceStatus[];
}

/** The detector states as the first control bucket that answers holds them, `here` first. */
async function detectorStates(deps: RecoveryDeps, here: string) {
  const names = deps.config.regions.map((r) => r.name);
  for (const source of [here, ...names.filter((r) => r !== here)]) {
    try {
      const store = deps.documents(source);
      const states = await Promise.all(
        names.map(async (r) => [r, (await store.load(regionStateKey(r)))?.value] as const),
      );
      return { source, states: new Map(states) };
    } catch {
      // Unreachable: the next region's detector has its own view.
    }
  }
  return { source: undefined, states: new Map<string, unknown>() };
}

async function regionStatus(
  deps: RecoveryDeps,
  region: { name: string; capacity: number },
  raw:
    | { status?: string; statusSince?: string; incidentId?: string; degradedZones?: object }
    | undefined,
): Promise<RegionStatus> {
  const home = deps.config.instances
    .filter((i) => i.homeRegion === region.name)
    .reduce((sum, i) => sum + i.capacityUnits, 0);
  const entry: RegionStatus = {
    region: region.name,
    detector: raw?.status
      ? {
          status: raw.status,
          ...(raw.statusSince ? { since: raw.statusSince } : {}),
          ...(raw.incidentId ? { incidentId: raw.incidentId } : {}),
          degradedZones: Object.keys(raw.degradedZones ?? {}),
        }
      : null,
    capacity: region.capacity,
    home,
  };
  try {
    const slots = await reservedSlots(deps.documents(region.name), region.name, region.capacity);
    entry.reserved = slots.length;
    entry.free = region.capacity - home - slots.length;
    entry.reservations = slots.map((s) => ({
      slot: s.slot,
      runId: s.runId,
      instanceId: s.instanceId,
    }));
  } catch (error) {
    entry.error = `control bucket unreachable: ${(error as Error).message}`;
  }
  return entry;
}

async function newestPerReplica(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  now: Date,
): Promise<InstanceStatus['snapshots']> {
  const snapshots: InstanceStatus['snapshots'] = [];
  for (const region of instance.replicaRegions) {
    try {
      const [newest] = await listCommittedSnapshotIds(deps.vault(region), instance.id);
      snapshots.push(
        newest
          ? {
              region,
              snapshotId: newest,
              ageSeconds: Math.round((now.getTime() - snapshotTime(newest).getTime()) / 1000),
            }
          : { region },
      );
    } catch (error) {
      snapshots.push({ region, error: (error as Error).message });
    }
  }
  return snapshots;
}

async function instanceStatus(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  now: Date,
): Promise<InstanceStatus> {
  const where = await whereabouts(deps, instance);
  const spec = dnsSpecFor(instance);
  const dns = await readDns(deps, spec);
  const snapshots = await newestPerReplica(deps, instance, now);
  const restoreTest = await lastRestoreTest(deps, instance);
  const run = where.run;
  // Active-active copies must stay in step; a region that drifted serves another config.
  const drift =
    instance.critical && instance.activeRegions
      ? await compareRegions(
          instance.id,
          instance.activeRegions.map((region) => ({ region, store: deps.instanceStore(region) })),
        )
      : undefined;
  return {
    instanceId: instance.id,
    homeRegion: instance.homeRegion,
    runsIn: where.runsIn,
    state: where.state,
    generation: where.generation,
    ...(run
      ? {
          latest: {
            runId: run.runId,
            kind: run.kind,
            status: run.status,
            from: run.from,
            ...(run.target ? { target: run.target } : {}),
            ...(run.failedStep ? { failedStep: run.failedStep, reason: run.reason } : {}),
            updatedAt: run.updatedAt,
            ...(run.metrics ? { metrics: run.metrics } : {}),
            ...(run.approval
              ? { approval: run.approval, approvalState: describeApproval(run, now) }
              : {}),
          },
        }
      : {}),
    dns: {
      recordName: spec.recordName,
      ...(dns.weights ? { weights: dns.weights } : { error: dns.error }),
    },
    snapshots,
    ...(restoreTest ? { restoreTest } : {}),
    ...(drift
      ? {
          drift: {
            inSync: drift.inSync,
            documents: drift.documents.map((d) => d.key),
            unreachable: drift.unreachable.map((u) => u.region),
          },
        }
      : {}),
  };
}

/** The record the last restore test left in the home region's control bucket. */
async function lastRestoreTest(
  deps: RecoveryDeps,
  instance: InstanceConfig,
): Promise<InstanceStatus['restoreTest']> {
  try {
    const doc = await deps.documents(instance.homeRegion).load(restoreTestKey(instance.id));
    if (!doc) return undefined;
    const v = doc.value as NonNullable<InstanceStatus['restoreTest']> & { passed?: unknown };
    return typeof v.passed === 'boolean' ? v : { error: 'record unreadable' };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/**
 * Reads everything `status` shows, acting from `here` (whose control bucket is asked first for
 * the detector states); `only` limits the instances. Only reads.
 */
export async function collectStatus(
  deps: RecoveryDeps,
  here: string,
  only: ReadonlySet<string> | null,
): Promise<StatusReport> {
  const { config } = deps;
  const now = deps.clock.now();
  const view = await detectorStates(deps, here);
  const regions: RegionStatus[] = [];
  for (const region of config.regions) {
    const raw = view.states.get(region.name) as Parameters<typeof regionStatus>[2];
    regions.push(await regionStatus(deps, region, raw));
  }
  const instances: InstanceStatus[] = [];
  for (const instance of config.instances) {
    if (only && !only.has(instance.id)) continue;
    instances.push(await instanceStatus(deps, instance, now));
  }
  return {
    at: now.toISOString(),
    ...(view.source ? { detectorView: view.source } : {}),
    regions,
    instances,
  };
}
