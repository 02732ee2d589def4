import { setTimeout as sleep } from 'node:timers/promises';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import type { Weights } from '../../shared/domain/recovery/ports.ts';
import { dnsSpecFor } from '../../shared/domain/recovery/run-store.ts';
import { seededRandom } from '../../shared/random.ts';
import { type DrillInstanceKind, type DrillWrite, drillKind } from './kinds.ts';
import type { DrillReport, InstanceOutcome, Invariant, TimelineEntry } from './report.ts';
import { DRILL_DETECTION, DrillWorld } from './world.ts';

/** The scenarios a drill can play. */
export const SCENARIOS = [
  'region-outage',
  'zone-outage',
  'flapping',
  'partition',
  'destroyed',
  'multi',
] as const;
/** One scenario's name. */
export type Scenario = (typeof SCENARIOS)[number];

/** How a drill is asked for. */
export interface DrillOptions {
  scenario: Scenario;
  regions: number;
  instances: number;
  seed: number;
  endpoint: string;
  /** What the instances are (default: the object-store reference instance). */
  instanceKind?: DrillInstanceKind;
  /** Progress lines, as they happen. */
  log: (line: string) => void;
}

/** Route 53's real detection: 30 s between checks, 3 failures. */
const REAL_WINDOW_SECONDS = 90;
const SCALED_WINDOW_SECONDS = DRILL_DETECTION.intervalSeconds * DRILL_DETECTION.failureThreshold;
const PHASE_TIMEOUT_MS = 40_000;

/** Plays one scenario end to end and reports what happened and which invariants held. */
export async function runDrill(
  baseConfig: LifeboatConfig,
  options: DrillOptions,
): Promise<DrillReport> {
  const started = new Date();
  const timeline: TimelineEntry[] = [];
  const t = (at: Date) => Math.round((at.getTime() - started.getTime()) / 100) / 10;
  const mark = (kind: string, detail: string, instanceId?: string) => {
    const at = new Date();
    timeline.push({
      at: at.toISOString(),
      tSeconds: t(at),
      kind,
      detail,
      ...(instanceId ? { instanceId } : {}),
    });
    options.log(`[${t(at).toFixed(1).padStart(5)}s] ${kind}: ${detail}`);
  };
  const instanceCount =
    options.scenario === 'multi' ? Math.max(options.instances, 3) : options.instances;
  const world = new DrillWorld({
    endpoint: options.endpoint,
    baseConfig,
    regions: options.regions,
    instances: instanceCount,
    seed: options.seed,
    instanceKind: options.instanceKind,
  });
  const kind = drillKind(options.instanceKind ?? 'object-store');
  const invariants: Invariant[] = [];
  const hold = (name: string, held: boolean, detail: string) =>
    invariants.push({ name, held, detail });
  const weightsOverTime: { at: string; tSeconds: number; instanceId: string; weights: Weights }[] =
    [];
  const readWeights = async (instanceId: string, label: string) => {
    const instance = world.config.instances.find((i) => i.id === instanceId);
    if (!instance) return {};
    const weights = await world.recovery.dns.readWeights(dnsSpecFor(instance));
    const at = new Date();
    weightsOverTime.push({ at: at.toISOString(), tSeconds: t(at), instanceId, weights });
    mark(
      'dns',
      `${label}: ${Object.entries(weights)
        .map(([r, w]) => `${r}=${w}`)
        .join(' ')}`,
      instanceId,
    );
    return weights;
  };
  const delivered = (type: string, instanceId?: string) =>
    world.delivered.filter(
      (e) => e.detailType === type && (!instanceId || e.detail.instanceId === instanceId),
    );
  let seen = 0;
  const drainTimeline = () => {
    for (const event of world.delivered.slice(seen)) {
      const d = event.detail;
      const who = typeof d.instanceId === 'string' ? d.instanceId : undefined;
      const where = (d.target ?? d.region ?? d.zone ?? '') as string;
      timeline.push({
        at: event.at.toISOString(),
        tSeconds: t(event.at),
        kind: event.detailType,
        detail: `${where}${d.runId ? ` (${d.runId})` : ''}`,
        ...(who ? { instanceId: who } : {}),
      });
      options.log(
        `[${t(event.at).toFixed(1).padStart(5)}s] event: ${event.detailType} ${who ?? ''} ${where}`,
      );
    }
    seen = world.delivered.length;
  };
  /** Probes every interval and pumps events until `done` or the deadline. */
  const run = async (ms: number, done: () => boolean = () => false) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      await world.probeRound();
      await world.pump.drain();
      drainTimeline();
      if (done()) return true;
      await sleep(DRILL_DETECTION.intervalSeconds * 1000);
    }
    return done();
  };

  const instancesOut: InstanceOutcome[] = [];
  const dns: DrillReport['dns'] = {};
  let outageAt: Date | undefined;
  try {
    await world.start();
    const home = world.homeRegion;
    const ids = world.config.instances.map((i) => i.id);
    mark(
      'world',
      `${world.regionNames.length} regions (${world.regionNames.join(', ')}), ${ids.length} instance(s) homed in ${home}; functions run in ${world.controlRegion}`,
    );

    // A snapshot a little in the past, so the RPO of the drill is visible and non-zero.
    await world.snapshotAll(new Date(Date.now() - 5000));
    await world.pump.drain();
    drainTimeline();
    for (const id of ids)
      dns[id] = { before: await readWeights(id, 'before'), afterRecovery: {}, afterFailback: {} };
    await run(2000);
    const failures = () => world.pump.failures.length;
    const quietFailures = failures();

    if (options.scenario === 'zone-outage') {
      const zone = world.config.regions[0]?.zones[0] as string;
      outageAt = new Date();
      await world.takeZoneDown(home, zone);
      mark('fault', `zone ${zone} of ${home} stops answering (other zones still serve)`);
      await run(SCALED_WINDOW_SECONDS * 1000 * 5, () => delivered('Zone Degraded').length > 0);
      await run(SCALED_WINDOW_SECONDS * 1000 * 2);
      hold(
        'a zone failure is reported as Zone Degraded',
        delivered('Zone Degraded').length > 0,
        `${delivered('Zone Degraded').length} event(s)`,
      );
    } else if (options.scenario === 'flapping') {
      const half = Math.round(SCALED_WINDOW_SECONDS * 1000 * 0.5);
      outageAt = new Date();
      for (let cycle = 0; cycle < 6; cycle += 1) {
        await world.takeRegionDown(home);
        mark('fault', `${home} down (cycle ${cycle + 1})`);
        await run(half);
        await world.bringRegionBack(home);
        mark('fault', `${home} up (cycle ${cycle + 1})`);
        await run(half);
      }
      await run(SCALED_WINDOW_SECONDS * 1000 * 2);
    }

    if (options.scenario === 'zone-outage' || options.scenario === 'flapping') {
      const recoveries = delivered('Recovery Planned').length;
      hold(
        'no recovery when the region as a whole never failed',
        recoveries === 0,
        `${recoveries} recovery run(s) started`,
      );
      hold(
        'no outage confirmed',
        delivered('Region Outage Confirmed').length === 0,
        `${delivered('Region Outage Confirmed').length} confirmation(s)`,
      );
      for (const id of ids) {
        const after = await readWeights(id, 'after');
        const entry = dns[id];
        if (entry) {
          entry.afterRecovery = after;
          entry.afterFailback = after;
        }
        instancesOut.push({
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
    } else {
      // region-outage, partition, destroyed, multi
      outageAt = new Date();
      await world.takeRegionDown(home);
      mark(
        'fault',
        `${home} stops answering: its S3 endpoint and every instance endpoint are closed`,
      );
      if (options.scenario === 'destroyed') {
        await world.destroyRegionData(home);
        mark('fault', `${home}'s buckets are emptied: its data is gone`);
      }
      const allRecovered = () =>
        ids.every(
          (id) =>
            delivered('Recovery Completed', id).length > 0 ||
            delivered('Recovery Failed', id).length > 0,
        );
      await run(PHASE_TIMEOUT_MS, allRecovered);
      const random = seededRandom(options.seed);
      const writes = new Map<string, DrillWrite[]>();
      for (const id of ids) {
        const completed = delivered('Recovery Completed', id)[0]?.detail as
          | {
              target?: string;
              metrics?: { shiftedAt?: string; rpoSeconds?: number };
              snapshot?: { configDigest?: string };
            }
          | undefined;
        const confirmed = delivered('Region Outage Confirmed')[0]?.detail as
          | { confirmedAt?: string }
          | undefined;
        const entry = dns[id];
        const weights = await readWeights(id, 'after recovery');
        if (entry) entry.afterRecovery = weights;
        const target = completed?.target;
        // Traffic, resolved through the weighted records: pick a record by weight and call it.
        const instance = world.config.instances.find((i) => i.id === id);
        let servedBy = '';
        if (instance && target) {
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
          await world.runtime(id, region).reload();
          const response = await fetch(
            `${instance.endpoints[region]?.url}${kind.trafficPath(instance)}`,
          ).catch(() => undefined);
          const body = (await response?.json().catch(() => undefined)) as
            | { servedBy?: { region?: string }; configDigest?: string }
            | undefined;
          servedBy =
            body?.servedBy?.region ?? `nothing (HTTP ${response?.status ?? 'unreachable'})`;
          hold(
            `${id}: traffic through the weights reaches the recovered instance and its snapshot's config`,
            servedBy === target && body?.configDigest === completed?.snapshot?.configDigest,
            `served by ${servedBy}, digest ${body?.configDigest?.slice(0, 12)}…`,
          );
          // Writes during the outage, to the recovered instance.
          const made = await kind.writeDuringOutage(world.config, instance, target);
          writes.set(id, made);
          mark(
            'writes',
            `${made.length} config write(s) to the recovered instance in ${target}`,
            id,
          );
        }
        const shiftedAt = completed?.metrics?.shiftedAt;
        instancesOut.push({
          id,
          homeRegion: home,
          recoveredTo: target ?? null,
          detectionSeconds:
            confirmed?.confirmedAt && outageAt
              ? round((Date.parse(confirmed.confirmedAt) - outageAt.getTime()) / 1000)
              : null,
          rtoSeconds:
            shiftedAt && outageAt
              ? round((Date.parse(shiftedAt) - outageAt.getTime()) / 1000)
              : null,
          rpoSeconds:
            completed?.metrics?.rpoSeconds !== undefined
              ? round(completed.metrics.rpoSeconds)
              : null,
          writesDuringOutage: writes.get(id)?.length ?? 0,
          writesLostAfterFailback: writes.get(id)?.length ?? 0,
        });
      }

      await world.bringRegionBack(home);
      mark('fault', `${home} answers again`);
      const allHome = () =>
        ids.every(
          (id) =>
            delivered('Failback Completed', id).length > 0 ||
            delivered('Failback Failed', id).length > 0,
        );
      await run(PHASE_TIMEOUT_MS, allHome);
      for (const outcome of instancesOut) {
        const entry = dns[outcome.id];
        if (entry) entry.afterFailback = await readWeights(outcome.id, 'after failback');
        let lost = 0;
        for (const write of writes.get(outcome.id) ?? []) {
          if (!(await write.keptIn(world.config, outcome.id, home))) lost += 1;
        }
        outcome.writesLostAfterFailback = lost;
      }
      for (const id of ids) {
        const recoveries = new Set(delivered('Recovery Planned', id).map((e) => e.detail.runId))
          .size;
        hold(
          `${id}: recovered exactly once`,
          recoveries === 1 && delivered('Recovery Completed', id).length >= 1,
          `${recoveries} run(s)`,
        );
        const outcome = instancesOut.find((o) => o.id === id);
        hold(
          `${id}: failback keeps every write made during the outage`,
          outcome?.writesLostAfterFailback === 0 && (outcome?.writesDuringOutage ?? 0) > 0,
          `${outcome?.writesDuringOutage} written, ${outcome?.writesLostAfterFailback} lost`,
        );
        const after = dns[id]?.afterFailback ?? {};
        hold(
          `${id}: traffic is home after failback`,
          after[home] === 100,
          Object.entries(after)
            .map(([r, w]) => `${r}=${w}`)
            .join(' '),
        );
        const target = instancesOut.find((o) => o.id === id)?.recoveredTo;
        const targets = instancesOut.map((o) => o.recoveredTo);
        hold(
          `${id}: never two primaries`,
          (dns[id]?.afterRecovery[home] ?? 0) === 0 && !!target,
          `after recovery: ${Object.entries(dns[id]?.afterRecovery ?? {})
            .map(([r, w]) => `${r}=${w}`)
            .join(' ')}; targets ${targets.join(', ')}`,
        );
      }
    }
    hold(
      'no function failed',
      failures() === quietFailures && failures() === 0,
      world.pump.failures
        .map((f) => `${f.subscription}: ${(f.error as Error).message}`)
        .slice(0, 3)
        .join('; ') || 'none',
    );
  } catch (error) {
    hold('the drill ran to the end', false, (error as Error).stack ?? String(error));
  } finally {
    drainTimeline();
    await world.close();
  }
  const recoveries = new Set(
    world.delivered.filter((e) => e.detailType === 'Recovery Planned').map((e) => e.detail.runId),
  ).size;
  const rtos = instancesOut.map((o) => o.rtoSeconds).filter((x): x is number => x !== null);
  const detection = instancesOut
    .map((o) => o.detectionSeconds)
    .filter((x): x is number => x !== null);
  timeline.sort((a, b) => a.tSeconds - b.tSeconds);
  return {
    scenario: options.scenario,
    outcome: invariants.every((i) => i.held) ? 'passed' : 'failed',
    seed: options.seed,
    startedAt: started.toISOString(),
    durationSeconds: t(new Date()),
    regions: world.config?.regions.map((r) => r.name) ?? [],
    controlRegion: world.controlRegion,
    recoveries,
    scale: {
      intervalSeconds: DRILL_DETECTION.intervalSeconds,
      failureThreshold: DRILL_DETECTION.failureThreshold,
      windowSeconds: SCALED_WINDOW_SECONDS,
      realWindowSeconds: REAL_WINDOW_SECONDS,
      recoverySeconds: DRILL_DETECTION.recoverySeconds,
    },
    estimatedRealRtoSeconds:
      rtos.length > 0 && detection.length > 0
        ? round(Math.max(...rtos) - Math.min(...detection) + REAL_WINDOW_SECONDS)
        : null,
    instances: instancesOut,
    dns,
    weightsOverTime,
    invariants,
    timeline,
  };
}

const round = (x: number) => Math.round(x * 10) / 10;
