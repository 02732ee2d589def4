import type { InstanceConfig } from '../../shared/config/schema.ts';
import type { Weights } from '../../shared/domain/recovery/ports.ts';
import { seededRandom } from '../../shared/random.ts';
import type { DrillKind, DrillWrite } from './kinds.ts';
import type { DrillSession } from './session.ts';
import { DRILL_DETECTION } from './world.ts';

/**
 * The phases of a drill's scenarios: the faults they inject, what they wait for, and the
 * invariants they check. Each records into the session.
 */

/** Route 53's real detection window: 30 s between checks, 3 failures. */
export const REAL_WINDOW_SECONDS = 90;
/** The drill's scaled detection window. */
export const SCALED_WINDOW_SECONDS =
  DRILL_DETECTION.intervalSeconds * DRILL_DETECTION.failureThreshold;
const PHASE_TIMEOUT_MS = 40_000;

/** Config writes made to a recovered instance during the outage, per instance. */
type OutageWrites = Map<string, DrillWrite[]>;

/** What Recovery Completed carries that the drill reads. */
interface CompletedDetail {
  target?: string;
  metrics?: { shiftedAt?: string; rpoSeconds?: number };
  snapshot?: { configDigest?: string };
  restoreOnAws?: { measuredSeconds: number; projectedSeconds: number };
}

const round = (x: number) => Math.round(x * 10) / 10;
const describe = (weights: Weights) =>
  Object.entries(weights)
    .map(([r, w]) => `${r}=${w}`)
    .join(' ');

/** One zone of home stops answering while the others still serve. */
export async function playZoneOutage(s: DrillSession, home: string): Promise<void> {
  const zone = s.world.config.regions[0]?.zones[0] as string;
  s.outageAt = new Date();
  await s.world.takeZoneDown(home, zone);
  s.mark('fault', `zone ${zone} of ${home} stops answering (other zones still serve)`);
  await s.run(SCALED_WINDOW_SECONDS * 1000 * 5, () => s.delivered('Zone Degraded').length > 0);
  await s.run(SCALED_WINDOW_SECONDS * 1000 * 2);
  s.hold(
    'a zone failure is reported as Zone Degraded',
    s.delivered('Zone Degraded').length > 0,
    `${s.delivered('Zone Degraded').length} event(s)`,
  );
}

/** Home drops and returns six times, each time for half a detection window. */
export async function playFlapping(s: DrillSession, home: string): Promise<void> {
  const half = Math.round(SCALED_WINDOW_SECONDS * 1000 * 0.5);
  s.outageAt = new Date();
  for (let cycle = 0; cycle < 6; cycle += 1) {
    await s.world.takeRegionDown(home);
    s.mark('fault', `${home} down (cycle ${cycle + 1})`);
    await s.run(half);
    await s.world.bringRegionBack(home);
    s.mark('fault', `${home} up (cycle ${cycle + 1})`);
    await s.run(half);
  }
  await s.run(SCALED_WINDOW_SECONDS * 1000 * 2);
}

/** After a zone outage or flapping: nothing was confirmed, nothing recovered, DNS untouched. */
export async function checkNothingRecovered(
  s: DrillSession,
  ids: readonly string[],
  home: string,
): Promise<void> {
  const recoveries = s.delivered('Recovery Planned').length;
  s.hold(
    'no recovery when the region as a whole never failed',
    recoveries === 0,
    `${recoveries} recovery run(s) started`,
  );
  s.hold(
    'no outage confirmed',
    s.delivered('Region Outage Confirmed').length === 0,
    `${s.delivered('Region Outage Confirmed').length} confirmation(s)`,
  );
  for (const id of ids) {
    const after = await s.readWeights(id, 'after');
    const entry = s.dns[id];
    if (entry) {
      entry.afterRecovery = after;
      entry.afterFailback = after;
    }
    s.instancesOut.push({
      id,
      homeRegion: home,
      recoveredTo: null,
      detectionSeconds: null,
      rtoSeconds: null,
      rpoSeconds: null,
      writesDuringOutage: 0,
      writesLostAfterFailback: 0,
    });
  }
}

/**
 * region-outage, partition, destroyed, multi: home goes down (its data too when `destroyed`),
 * every instance recovers, takes writes, fails back home, and every write is still there.
 */
export async function playRegionOutage(
  s: DrillSession,
  ids: readonly string[],
  home: string,
  options: { destroyed: boolean; seed: number; kind: DrillKind },
): Promise<void> {
  const outageAt = new Date();
  s.outageAt = outageAt;
  await s.world.takeRegionDown(home);
  s.mark(
    'fault',
    `${home} stops answering: its S3 endpoint and every instance endpoint are closed`,
    undefined,
    outageAt,
  );
  if (options.destroyed) {
    await s.world.destroyRegionData(home);
    s.mark('fault', `${home}'s buckets are emptied: its data is gone`);
  }
  const allRecovered = () =>
    ids.every(
      (id) =>
        s.delivered('Recovery Completed', id).length > 0 ||
        s.delivered('Recovery Failed', id).length > 0,
    );
  await s.run(PHASE_TIMEOUT_MS, allRecovered);
  const random = seededRandom(options.seed);
  const writes: OutageWrites = new Map();
  for (const id of ids) await checkRecovered(s, id, home, random, writes, options.kind);

  const homeBackAt = new Date();
  s.homeBackAt = homeBackAt;
  await s.world.bringRegionBack(home);
  s.mark('fault', `${home} answers again`, undefined, homeBackAt);
  const allHome = () =>
    ids.every(
      (id) =>
        s.delivered('Failback Completed', id).length > 0 ||
        s.delivered('Failback Failed', id).length > 0,
    );
  await s.run(PHASE_TIMEOUT_MS, allHome);
  await countLostWrites(s, home, writes);
  for (const id of ids) checkFailedBack(s, id, home);
}

/**
 * One instance after the recovery: traffic through the weights reaches the recovered copy,
 * which takes three config writes; its outcome (detection, RTO, RPO) goes into the session.
 */
async function checkRecovered(
  s: DrillSession,
  id: string,
  home: string,
  random: () => number,
  writes: OutageWrites,
  kind: DrillKind,
): Promise<void> {
  const completed = s.delivered('Recovery Completed', id)[0]?.detail as CompletedDetail | undefined;
  const confirmed = s.delivered('Region Outage Confirmed')[0]?.detail as
    | { confirmedAt?: string }
    | undefined;
  const entry = s.dns[id];
  const weights = await s.readWeights(id, 'after recovery');
  if (entry) entry.afterRecovery = weights;
  const target = completed?.target;
  const instance = s.world.config.instances.find((i) => i.id === id);
  if (instance && target) {
    await checkTraffic(s, instance, weights, target, completed, random, kind);
    // Writes during the outage, to the recovered instance.
    const made = await kind.writeDuringOutage(s.world.config, instance, target);
    writes.set(id, made);
    s.mark('writes', `${made.length} config write(s) to the recovered instance in ${target}`, id);
  }
  const shiftedAt = completed?.metrics?.shiftedAt;
  const { outageAt } = s;
  const rtoSeconds =
    shiftedAt && outageAt ? round((Date.parse(shiftedAt) - outageAt.getTime()) / 1000) : null;
  // moto's API Gateway is unpaced: on AWS the restore takes its projected time instead.
  const paced = completed?.restoreOnAws;
  s.instancesOut.push({
    id,
    homeRegion: home,
    recoveredTo: target ?? null,
    detectionSeconds:
      confirmed?.confirmedAt && outageAt
        ? round((Date.parse(confirmed.confirmedAt) - outageAt.getTime()) / 1000)
        : null,
    rtoSeconds,
    ...(paced && rtoSeconds !== null
      ? {
          restoreOnAws: paced,
          rtoOnAwsSeconds: round(
            rtoSeconds + Math.max(0, paced.projectedSeconds - paced.measuredSeconds),
          ),
        }
      : {}),
    rpoSeconds:
      completed?.metrics?.rpoSeconds !== undefined ? round(completed.metrics.rpoSeconds) : null,
    writesDuringOutage: writes.get(id)?.length ?? 0,
    writesLostAfterFailback: writes.get(id)?.length ?? 0,
  });
}

/** Traffic, resolved through the weighted records: pick a record by weight and call it. */
async function checkTraffic(
  s: DrillSession,
  instance: InstanceConfig,
  weights: Weights,
  target: string,
  completed: CompletedDetail | undefined,
  random: () => number,
  kind: DrillKind,
): Promise<void> {
  const id = instance.id;
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  // Route 53 answers a weighted record with probability weight / total.
  const pick = random() * total;
  let cumulative = 0;
  const region =
    Object.entries(weights).find(([, w]) => {
      cumulative += w;
      return pick < cumulative;
    })?.[0] ?? target;
  // The stand-in gateway re-reads its region on its own period: let it catch up.
  await s.world.runtime(id, region).reload();
  const response = await fetch(
    `${instance.endpoints[region]?.url}${kind.trafficPath(instance)}`,
  ).catch(() => undefined);
  const body = (await response?.json().catch(() => undefined)) as
    | { servedBy?: { region?: string }; configDigest?: string }
    | undefined;
  const servedBy = body?.servedBy?.region ?? `nothing (HTTP ${response?.status ?? 'unreachable'})`;
  s.hold(
    `${id}: traffic through the weights reaches the recovered instance and its snapshot's config`,
    servedBy === target && body?.configDigest === completed?.snapshot?.configDigest,
    `served by ${servedBy}, digest ${body?.configDigest?.slice(0, 12)}…`,
  );
}

/** After failback: reads the weights and counts the outage's writes that home lacks. */
async function countLostWrites(s: DrillSession, home: string, writes: OutageWrites) {
  for (const outcome of s.instancesOut) {
    const entry = s.dns[outcome.id];
    if (entry) entry.afterFailback = await s.readWeights(outcome.id, 'after failback');
    let lost = 0;
    for (const write of writes.get(outcome.id) ?? []) {
      if (!(await write.keptIn(s.world.config, outcome.id, home))) lost += 1;
    }
    outcome.writesLostAfterFailback = lost;
  }
}

/** The invariants of one instance's recovery and failback. */
function checkFailedBack(s: DrillSession, id: string, home: string): void {
  const recoveries = new Set(s.delivered('Recovery Planned', id).map((e) => e.detail.runId)).size;
  s.hold(
    `${id}: recovered exactly once`,
    recoveries === 1 && s.delivered('Recovery Completed', id).length >= 1,
    `${recoveries} run(s)`,
  );
  const outcome = s.instancesOut.find((o) => o.id === id);
  s.hold(
    `${id}: failback keeps every write made during the outage`,
    outcome?.writesLostAfterFailback === 0 && (outcome?.writesDuringOutage ?? 0) > 0,
    `${outcome?.writesDuringOutage} written, ${outcome?.writesLostAfterFailback} lost`,
  );
  const after = s.dns[id]?.afterFailback ?? {};
  s.hold(`${id}: traffic is home after failback`, after[home] === 100, describe(after));
  const target = outcome?.recoveredTo;
  const targets = s.instancesOut.map((o) => o.recoveredTo);
  s.hold(
    `${id}: never two primaries`,
    (s.dns[id]?.afterRecovery[home] ?? 0) === 0 && !!target,
    `after recovery: ${describe(s.dns[id]?.afterRecovery ?? {})}; targets ${targets.join(', ')}`,
  );
}
