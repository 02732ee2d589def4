import type { DrillReport } from '../../local/drill/report.ts';
import type { RecoveryRun } from '../../shared/domain/recovery/run-store.ts';
import type { RequestCounts } from './moto-log.ts';

/** The source document's promise for a region failure: "typically within 24 hours". */
export const SOURCE_RTO_SECONDS = 24 * 3600;

/** One drill, measured: what the child process prints for its parent. */
export interface DrillMeasurement {
  instances: number;
  scenario: string;
  seed: number;
  capacityPerRegion: number;
  outcome: 'passed' | 'failed';
  failedInvariants: { name: string; detail: string }[];
  /** runDrill, start to return (world up, snapshot, outage, recovery, failback, checks, close). */
  wallSeconds: number;
  /** The child process from start to the line it prints (module loading, moto start/stop too). */
  processSeconds: number;
  /** Seconds from the drill's start (its own clock) to each phase boundary. */
  phases: {
    worldUp: number | null;
    fault: number | null;
    recoveryDone: number | null;
    homeBack: number | null;
    failbackDone: number | null;
    end: number;
  };
  recoveries: number;
  recoveredTo: Record<string, number>;
  detection: Stats;
  rto: Stats;
  /** RTO − detection, per instance: what lifeboat's recovery chain adds after confirmation. */
  overhead: Stats;
  /**
   * Seconds per instance each recovery step took. The local pump delivers one step's events
   * for every instance before the next step's (and the planner loops over every instance in one
   * invocation), so a step's span, from the previous step's last completion to its own last
   * completion, divided by the instances, is its cost per instance.
   */
  stepSecondsPerInstance: Record<string, number | null>;
  estimatedRealRtoSeconds: number | null;
  rpo: Stats;
  /** Completion of each recovery step, seconds after the fault, over all instances (run records). */
  recoverySteps: Record<string, Stats>;
  /** Seconds after the home region answered again. */
  failback: {
    /** The first failback run recorded: the detector saw the region healthy and the handler began. */
    firstStarted: number | null;
    /** The last failback run's final step (run records). */
    lastCompleted: number | null;
    /** The last "Failback Completed" in the drill's timeline (as the drill's recorder saw it). */
    lastCompletedInTimeline: number | null;
    /** (last completed − first started) ÷ instances failed back. */
    secondsPerInstance: number | null;
    completed: number;
    failed: number;
    rolledBack: number;
  };
  writesDuringOutage: number;
  writesLost: number;
  memory: { rssAfterImportsMiB: number; maxRssMiB: number; heapUsedAtEndMiB: number };
  cpu: {
    /** This (drill) process: user + system CPU seconds over the whole drill. */
    nodeSeconds: number;
    /** moto_server, over the whole drill. */
    motoSeconds: number;
  };
  /** moto's access log, per phase (`setup` = until the world is up, and so on). */
  requests: Record<string, RequestCounts>;
  /** Per phase: wall seconds, moto CPU and node CPU (seconds), between the markers. */
  phaseCost: Record<string, { seconds: number; motoCpu: number; nodeCpu: number }>;
  load1AtStart: number;
  motoVersion: string;
  /** The detector's state of the home region when the drill ended (control bucket). */
  detector: {
    homeStatusAtEnd: string | null;
    regionRecoveredEvents: number;
    /** A vantage silent this long stops voting, and a gap this long breaks a run of samples. */
    staleSeconds: number;
    /** Gaps between the probe rounds the home region's state remembers, all vantages. */
    probeRoundGapSeconds: Stats;
  };
  perInstance: PerInstance[];
}

/** One instance's numbers. */
export interface PerInstance {
  id: string;
  recoveredTo: string | null;
  detectionSeconds: number | null;
  rtoSeconds: number | null;
  overheadSeconds: number | null;
  rpoSeconds: number | null;
  /** Seconds after the fault at which each recovery step was recorded done. */
  steps: Record<string, number | null>;
  /** Seconds after the home region answered again at which the failback run completed. */
  failbackCompleted: number | null;
  failbackStatus: string | null;
  writesLostAfterFailback: number;
}

/** min / median / max / count. */
export interface Stats {
  n: number;
  min: number | null;
  median: number | null;
  max: number | null;
}

export function median(values: readonly number[]): number | null {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function stats(values: readonly (number | null | undefined)[]): Stats {
  const xs = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (xs.length === 0) return { n: 0, min: null, median: null, max: null };
  return {
    n: xs.length,
    min: round(Math.min(...xs)),
    median: round(median(xs) as number),
    max: round(Math.max(...xs)),
  };
}

export const round = (x: number, digits = 2) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

const secondsAfter = (at: string | undefined, origin: number | undefined) =>
  at && origin !== undefined ? round((Date.parse(at) - origin) / 1000) : null;

/** The timeline entry's time, seconds from the drill's start. */
function entryT(report: DrillReport, kind: string, match: (detail: string) => boolean) {
  return report.timeline.find((e) => e.kind === kind && match(e.detail));
}

/** Everything the report and the recorded runs say about one drill. */
export function measureDrill(
  report: DrillReport,
  runs: readonly RecoveryRun[],
): Pick<
  DrillMeasurement,
  | 'outcome'
  | 'failedInvariants'
  | 'recoveries'
  | 'recoveredTo'
  | 'detection'
  | 'rto'
  | 'overhead'
  | 'stepSecondsPerInstance'
  | 'estimatedRealRtoSeconds'
  | 'rpo'
  | 'recoverySteps'
  | 'failback'
  | 'writesDuringOutage'
  | 'writesLost'
  | 'perInstance'
> & { faultAt: number | undefined; homeBackAt: number | undefined } {
  const fault = entryT(report, 'fault', (d) => d.includes('stops answering'));
  const homeBack = entryT(report, 'fault', (d) => d.includes('answers again'));
  const faultAt = fault ? Date.parse(fault.at) : undefined;
  const homeBackAt = homeBack ? Date.parse(homeBack.at) : undefined;
  const recoveryRuns = runs.filter((r) => r.kind === 'recovery');
  const failbackRuns = runs.filter((r) => r.kind === 'failback');
  const stepNames = [...new Set(recoveryRuns.flatMap((r) => Object.keys(r.steps)))];

  const perInstance: PerInstance[] = report.instances.map((i) => {
    const rec = recoveryRuns.find((r) => r.instanceId === i.id);
    const fb = failbackRuns.find((r) => r.instanceId === i.id);
    const fbLast = fb
      ? Object.values(fb.steps)
          .map((s) => s.at)
          .filter((x): x is string => !!x)
          .sort()
          .at(-1)
      : undefined;
    return {
      id: i.id,
      recoveredTo: i.recoveredTo,
      detectionSeconds: i.detectionSeconds,
      rtoSeconds: i.rtoSeconds,
      overheadSeconds:
        i.rtoSeconds !== null && i.detectionSeconds !== null
          ? round(i.rtoSeconds - i.detectionSeconds, 1)
          : null,
      rpoSeconds: i.rpoSeconds,
      steps: Object.fromEntries(
        stepNames.map((s) => [s, secondsAfter(rec?.steps[s]?.at, faultAt)]),
      ),
      failbackCompleted: fb?.status === 'completed' ? secondsAfter(fbLast, homeBackAt) : null,
      failbackStatus: fb ? `${fb.status}${fb.rolledBack ? ' (rolled back)' : ''}` : null,
      writesLostAfterFailback: i.writesLostAfterFailback,
    };
  });

  const rtos = perInstance.map((p) => p.rtoSeconds).filter((x): x is number => x !== null);
  const recoveredTo: Record<string, number> = {};
  for (const p of perInstance)
    if (p.recoveredTo) recoveredTo[p.recoveredTo] = (recoveredTo[p.recoveredTo] ?? 0) + 1;
  const fbStarted = failbackRuns.map((r) => secondsAfter(r.startedAt, homeBackAt));
  const fbDone = perInstance.map((p) => p.failbackCompleted);
  const firstStarted = stats(fbStarted).min;
  const lastCompleted = stats(fbDone).max;
  const completed = failbackRuns.filter((r) => r.status === 'completed').length;
  const lastFailbackEntry = report.timeline.filter((e) => e.kind === 'Failback Completed').at(-1);
  return {
    faultAt,
    homeBackAt,
    outcome: report.outcome,
    failedInvariants: report.invariants
      .filter((i) => !i.held)
      .map((i) => ({ name: i.name, detail: i.detail.split('\n')[0] ?? '' })),
    recoveries: report.recoveries,
    recoveredTo,
    detection: stats(perInstance.map((p) => p.detectionSeconds)),
    rto: stats(rtos),
    overhead: stats(perInstance.map((p) => p.overheadSeconds)),
    stepSecondsPerInstance: stepCosts(
      stepNames,
      perInstance,
      stats(perInstance.map((p) => p.detectionSeconds)).max,
    ),
    estimatedRealRtoSeconds: report.estimatedRealRtoSeconds,
    rpo: stats(perInstance.map((p) => p.rpoSeconds)),
    recoverySteps: Object.fromEntries(
      stepNames.map((s) => [s, stats(perInstance.map((p) => p.steps[s]))]),
    ),
    failback: {
      firstStarted,
      lastCompleted,
      lastCompletedInTimeline:
        lastFailbackEntry && homeBack
          ? round(lastFailbackEntry.tSeconds - homeBack.tSeconds)
          : null,
      secondsPerInstance:
        firstStarted !== null && lastCompleted !== null && completed > 0
          ? round((lastCompleted - firstStarted) / completed)
          : null,
      completed,
      failed: failbackRuns.filter((r) => r.status === 'failed').length,
      rolledBack: failbackRuns.filter((r) => r.rolledBack).length,
    },
    writesDuringOutage: report.instances.reduce((s, i) => s + i.writesDuringOutage, 0),
    writesLost: report.instances.reduce((s, i) => s + i.writesLostAfterFailback, 0),
    perInstance,
  };
}

function stepCosts(
  stepNames: readonly string[],
  perInstance: readonly PerInstance[],
  confirmed: number | null,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  let previous = confirmed;
  for (const step of stepNames) {
    const last = stats(perInstance.map((p) => p.steps[step])).max;
    const done = perInstance.filter((p) => p.steps[step] !== null).length;
    out[step] =
      last !== null && previous !== null && done > 0 ? round((last - previous) / done) : null;
    previous = last;
  }
  return out;
}
