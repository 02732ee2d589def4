import type { InstanceConfig } from '../../config/schema.ts';
import { DetailType } from '../events.ts';
import type { InstanceStore } from '../ports.ts';
import { readManifest } from '../snapshot/catalog.ts';
import { configDigest } from '../snapshot/format.ts';
import { newestSnapshot, replicaOrder } from '../snapshot/newest.ts';
import { restoreSnapshot } from '../snapshot/restore.ts';
import { releaseSlots, reserveSlots } from './capacity.ts';
import { claimSet } from './claims.ts';
import { dnsSpecFor } from './dns-spec.ts';
import type { RecoveryDeps, Weights } from './ports.ts';
import { chooseTarget } from './region-choice.ts';
import type { RecoveryRun, StepRecord } from './run.ts';
import { buildRunReport, type RunReport, renderRunReport, reportKey } from './run-report.ts';
import { currentReservations } from './steps/plan-recovery.ts';
import { awaitServing } from './steps/verify-instance.ts';
import { describeWeights } from './weights.ts';

/**
 * A practice run (`lifeboat practice`, or the `practice` function on `practice.schedule`): a
 * recovery rehearsed for real into the region a recovery would choose, under a practice
 * identity nothing routes to, then removed. It plans as the planner does (target by distance,
 * health and room; room reserved atomically), restores the newest committed snapshot, verifies
 * health and the config digest with the verify step's own check, measures what the RTO of a
 * real recovery would have been, removes the copy and gives the room back. It never claims a
 * generation, never writes a run, never touches DNS (its DNS port refuses changes) or the home
 * region. Its report goes where real runs' reports go, marked practice.
 */

/** The identity a practice copy of an instance takes (an instance id may not end like this). */
export const PRACTICE_SUFFIX = '--practice';
/** The practice copy's instance id: its store prefix, or its `lifeboat:instance` tag. */
export const practiceIdFor = (instanceId: string) => `${instanceId}${PRACTICE_SUFFIX}`;
/** A practice run's id: `<instance>-practice-<yyyymmddThhmmssZ>`, lower case. */
export const PRACTICE_RUN_ID = /^[a-z0-9][a-z0-9-]{0,62}-practice-\d{8}t\d{6}z$/;
/** The run id of a practice that starts at `at`. */
export const practiceRunIdFor = (instanceId: string, at: Date) =>
  `${instanceId}-practice-${at
    .toISOString()
    .replace(/[-:]|\.\d+/g, '')
    .toLowerCase()}`;

/**
 * Documents a practice copy leaves out: a custom domain name is one per region and account,
 * so restoring it would take it from the real instance (API Gateway). Verified without them.
 */
const REGION_WIDE_NAMES = /^domains\//;

/** What a practice run needs: the recovery ports, seen through the practice identity. */
export interface PracticeDeps extends RecoveryDeps {
  practiceId: string;
  /** A region's instance store where what is written for the instance lands under `practiceId`. */
  practiceStore(region: string): InstanceStore;
  /** Removes everything the practice copy left in a region (its objects, its fence mark). */
  discard(region: string): Promise<void>;
}

/** The report of a practice run: a run report, marked so. */
export interface PracticeReport extends RunReport {
  practice: true;
  practiceId: string;
  /** What the RTO of a real recovery would have been: plan + restore + verify (+ the DNS change). */
  rtoSeconds?: number;
  /** Whether DNS read the same after as before (it is never changed; this checks it). */
  dnsUntouched: boolean;
  /** Keys of the practice copy still present after removal (none when it passed). */
  leftovers: number;
  passed: boolean;
}

/** Options of one practice. */
export interface PracticeOptions {
  /** The region to practise in; default `practice.to`, else the one a recovery would choose. */
  to?: string;
  /** Who asked: an operator, or `schedule`. */
  by: string;
}

const seconds = (from: number, to: number) => Math.round((to - from) / 100) / 10;

/** Runs one practice of `instance`; never throws for a failed practice (the report says why). */
export async function runPractice(
  deps: PracticeDeps,
  instance: InstanceConfig,
  options: PracticeOptions,
): Promise<PracticeReport> {
  const started = deps.clock.now();
  const runId = practiceRunIdFor(instance.id, started);
  const home = instance.homeRegion;
  const regions = deps.config.regions.map((r) => r.name);
  const steps: Record<string, StepRecord> = {
    plan: { status: 'pending', attempts: 0 },
    restore: { status: 'pending', attempts: 0 },
    verify: { status: 'pending', attempts: 0 },
    remove: { status: 'pending', attempts: 0 },
  };
  const run: RecoveryRun = {
    runId,
    kind: 'recovery',
    instanceId: instance.id,
    generation: 0,
    from: home,
    claimant: `practice:${options.by}`,
    claimSet: claimSet(regions, [home]),
    status: 'running',
    // As if the outage were confirmed now: what a recovery starting now would have achieved.
    incident: { confirmedAt: started.toISOString() },
    steps,
    seq: 0,
    startedAt: started.toISOString(),
    updatedAt: started.toISOString(),
  };
  const spec = dnsSpecFor(instance);
  const dnsBefore = await readWeightsOrNothing(deps, spec);
  let reason: string | undefined;
  let verifiedAt: number | undefined;
  let reservation: { region: string; slots: number[] } | undefined;
  let realBefore: string | undefined;
  const step = async (name: string, work: () => Promise<string | undefined>) => {
    const record = steps[name] as StepRecord;
    record.attempts += 1;
    try {
      const detail = await work();
      Object.assign(
        record,
        { status: 'done', at: deps.clock.now().toISOString() },
        detail ? { detail } : {},
      );
    } catch (error) {
      reason ??= `${name}: ${(error as Error).message}`;
      Object.assign(record, {
        status: 'failed',
        at: deps.clock.now().toISOString(),
        detail: (error as Error).message,
      });
      throw error;
    }
  };
  try {
    await step('plan', async () => {
      const target = await practiceTarget(deps, instance, options.to);
      const region = deps.config.regions.find((r) => r.name === target);
      const reserved = await reserveSlots({
        store: deps.documents(target),
        region: target,
        capacity: region?.capacity ?? 0,
        firstFreeSlot: deps.config.instances
          .filter((i) => i.homeRegion === target)
          .reduce((sum, i) => sum + i.capacityUnits, 0),
        units: instance.capacityUnits,
        runId,
        instanceId: deps.practiceId,
        at: deps.clock.now().toISOString(),
      });
      run.target = target;
      if (!reserved.ok)
        throw new Error(`no room for ${instance.capacityUnits} unit(s) in ${target}`);
      reservation = { region: target, slots: reserved.slots };
      run.reservation = reservation;
      const snapshot = await newestSnapshot(
        deps.vault,
        instance.id,
        replicaOrder(instance.replicaRegions, target),
      );
      if (!snapshot)
        throw new Error(`no committed snapshot of ${instance.id} in any reachable replica`);
      run.snapshot = snapshot;
      return `target ${target} (slots ${reserved.slots.join(', ')}), snapshot ${snapshot.snapshotId} from ${snapshot.region}`;
    });
    const target = run.target as string;
    const snapshot = run.snapshot as NonNullable<RecoveryRun['snapshot']>;
    // What the real instance has in the target (a standby, a copy from an earlier recovery):
    // compared after the removal, so a practice that touched it fails loudly.
    realBefore = describeListing(await deps.instanceStore(target).list(instance.id));
    let expected = snapshot.configDigest;
    await step('restore', async () => {
      const vault = deps.vault(snapshot.region);
      const manifest = await readManifest(vault, instance.id, snapshot.snapshotId);
      const kept = manifest.objects.filter((o) => !REGION_WIDE_NAMES.test(o.key));
      expected = configDigest(kept);
      await restoreSnapshot({
        vault,
        target: deps.practiceStore(target),
        instanceId: instance.id,
        snapshotId: snapshot.snapshotId,
        ...(kept.length < manifest.objects.length ? { only: new Set(kept.map((o) => o.key)) } : {}),
      });
      // As the restore step does: fenced (no write lands in a copy about to go), then activated.
      await deps.instances.fence(deps.practiceId, target);
      await deps.instances.activate(deps.practiceId, target);
      const left = manifest.objects.length - kept.length;
      return `${kept.length} object(s) as ${deps.practiceId} in ${target}${left ? `; ${left} region-wide name(s) left out` : ''}`;
    });
    await step('verify', async () => {
      await awaitServing(deps, deps.practiceId, target, expected, 'verify');
      verifiedAt = deps.clock.now().getTime();
      return `${deps.practiceId} in ${target} serves config ${expected.slice(0, 16)}…`;
    });
  } catch {
    // Recorded in its step; the copy and the room are removed below whatever happened.
  }
  let leftovers = 0;
  if (run.target) {
    const target = run.target;
    try {
      await step('remove', async () => {
        await deps.discard(target);
        leftovers = (await deps.instanceStore(target).list(deps.practiceId)).length;
        if (leftovers > 0)
          throw new Error(`${leftovers} object(s) of ${deps.practiceId} left in ${target}`);
        if (realBefore !== undefined) {
          const realAfter = describeListing(await deps.instanceStore(target).list(instance.id));
          if (realAfter !== realBefore)
            throw new Error(`the real ${instance.id} in ${target} changed during the practice`);
        }
        return `${deps.practiceId} removed from ${target}`;
      });
    } catch {
      // Recorded in its step.
    }
  }
  if (reservation) {
    const held = reservation;
    await releaseSlots({
      region: held.region,
      slots: held.slots,
      release: (key) => deps.deleteControlKey(held.region, key),
    }).catch((error: Error) => {
      reason ??= `remove: the reserved room in ${held.region} could not be released: ${error.message}`;
    });
  }
  const dnsAfter = await readWeightsOrNothing(deps, spec);
  const dnsUntouched = describeWeights(dnsBefore ?? {}) === describeWeights(dnsAfter ?? {});
  if (!dnsUntouched)
    reason ??= `DNS changed during the practice: ${describeWeights(dnsBefore ?? {})} → ${describeWeights(dnsAfter ?? {})}`;
  const ended = deps.clock.now();
  const finished: RecoveryRun = {
    ...run,
    status: reason ? 'failed' : 'completed',
    ...(reason ? { reason, failedStep: reason.split(':')[0] } : {}),
    updatedAt: ended.toISOString(),
  };
  const base = buildRunReport(finished);
  const rpo = run.snapshot
    ? Math.max(0, seconds(Date.parse(run.snapshot.takenAt), started.getTime()))
    : undefined;
  const report: PracticeReport = {
    ...base,
    practice: true,
    practiceId: deps.practiceId,
    ...(verifiedAt !== undefined ? { rtoSeconds: seconds(started.getTime(), verifiedAt) } : {}),
    ...(rpo !== undefined ? { rpoSeconds: rpo } : {}),
    dnsUntouched,
    leftovers,
    passed: !reason,
  };
  await writePracticeReport(deps, report);
  await deps.bus
    .publish([
      {
        detailType: report.passed ? DetailType.PracticeCompleted : DetailType.PracticeFailed,
        detail: {
          runId,
          instanceId: instance.id,
          practiceId: deps.practiceId,
          from: home,
          target: report.target,
          snapshot: report.snapshot,
          rtoSeconds: report.rtoSeconds,
          rpoSeconds: report.rpoSeconds,
          ...(reason ? { reason } : {}),
        },
      },
    ])
    .catch(() => undefined);
  return report;
}

const describeListing = (entries: readonly { key: string; etag: string; size: number }[]) =>
  entries
    .map((e) => `${e.key} ${e.etag} ${e.size}`)
    .sort()
    .join('\n');

async function readWeightsOrNothing(
  deps: RecoveryDeps,
  spec: ReturnType<typeof dnsSpecFor>,
): Promise<Weights | undefined> {
  try {
    return await deps.dns.readWeights(spec);
  } catch {
    return undefined;
  }
}

/** The region: as asked, else as configured, else the one a recovery out of home would pick now. */
async function practiceTarget(
  deps: RecoveryDeps,
  instance: InstanceConfig,
  asked: string | undefined,
): Promise<string> {
  const to = asked ?? instance.practice?.to;
  if (to !== undefined) {
    if (to === instance.homeRegion)
      throw new Error(`${to} is ${instance.id}'s home; a practice restores somewhere else`);
    return to;
  }
  const unhealthy = await deps.unhealthyRegions();
  unhealthy.add(instance.homeRegion);
  const choice = chooseTarget({
    config: deps.config,
    instance,
    failedRegion: instance.homeRegion,
    unhealthy,
    reservations: await currentReservations(deps, instance.homeRegion),
  });
  if (!choice.ok) throw new Error(choice.reason);
  return choice.region;
}

/**
 * Writes the report (JSON and HTML) where real runs' reports go: the control buckets of the
 * claim set a recovery out of home would use. Best effort, as for real runs.
 */
async function writePracticeReport(deps: RecoveryDeps, report: PracticeReport): Promise<void> {
  const html = new TextEncoder().encode(renderRunReport(report));
  await Promise.all(
    claimSet(
      deps.config.regions.map((r) => r.name),
      [report.from],
    ).map(async (region) => {
      try {
        await deps.documents(region).save(reportKey(report.runId), report, undefined);
        await deps
          .controlBlobs?.(region)
          .put(reportKey(report.runId, 'html'), html, { contentType: 'text/html; charset=utf-8' });
      } catch {
        // An unreachable region misses its copy; the others hold it.
      }
    }),
  );
}
