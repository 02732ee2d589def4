import type { Weights } from '../../shared/domain/recovery/ports.ts';
import type { DrillPractice } from './practice.ts';
import type { Band, Marker, TimeSource } from './timeline.ts';

/** One instance's fate in a drill. Times are seconds; null when the phase never happened. */
export interface InstanceOutcome {
  id: string;
  homeRegion: string;
  recoveredTo: string | null;
  /** Fault injected → outage confirmed. */
  detectionSeconds: number | null;
  /** Fault injected → Route 53 weights shifted to the recovered region. */
  rtoSeconds: number | null;
  /**
   * For a kind whose restore AWS paces (API Gateway): the restore as measured against the
   * emulator and at AWS's documented control-plane limits, and the RTO with the latter.
   */
  restoreOnAws?: { measuredSeconds: number; projectedSeconds: number };
  rtoOnAwsSeconds?: number;
  /** Outage start − time of the snapshot restored. */
  rpoSeconds: number | null;
  writesDuringOutage: number;
  writesLostAfterFailback: number;
}

/** One rule the drill checks, and what it saw. */
export interface Invariant {
  name: string;
  held: boolean;
  detail: string;
}

/** One moment of the drill, at the time it happened. */
export interface TimelineEntry {
  at: string;
  tSeconds: number;
  kind: string;
  detail: string;
  instanceId?: string;
  /** For lifeboat's events, where `at` came from (timeline.ts `ownTime`). */
  timeFrom?: TimeSource;
}

/** A span on an instance's lane: outage, detection, a recovery or failback step, the RPO. */
export interface ReportBand extends Band {
  fromSeconds: number;
  toSeconds: number;
}

/** A moment marked on an instance's lane: the RTO. */
export interface ReportMarker extends Marker {
  tSeconds: number;
}

/** The drill report (`--report`); docs/drill.md describes every field. */
export interface DrillReport {
  scenario: string;
  outcome: 'passed' | 'failed';
  seed: number;
  startedAt: string;
  durationSeconds: number;
  regions: string[];
  controlRegion: string;
  /** Recovery runs started (distinct run ids). */
  recoveries: number;
  scale: {
    intervalSeconds: number;
    failureThreshold: number;
    windowSeconds: number;
    realWindowSeconds: number;
    recoverySeconds: number;
  };
  /**
   * The slowest RTO this run would have with Route 53's real 30 s × 3 detection window, and with
   * API Gateway restores at AWS's control-plane limits (`rtoOnAwsSeconds`).
   */
  estimatedRealRtoSeconds: number | null;
  instances: InstanceOutcome[];
  dns: Record<string, { before: Weights; afterRecovery: Weights; afterFailback: Weights }>;
  /** Every weight change applied, as it took effect (each canary step of a failback included). */
  weightsOverTime: { at: string; tSeconds: number; instanceId: string; weights: Weights }[];
  /** Each instance's phases on the timeline's time axis. */
  bands: ReportBand[];
  markers: ReportMarker[];
  invariants: Invariant[];
  timeline: TimelineEntry[];
  /** The practice run played while home served (`lifeboat practice`, in the drill's world). */
  practice?: DrillPractice;
}

const fmt = (x: number | null, unit = 's') => (x === null ? '—' : `${x}${unit}`);
const weights = (w: Weights) =>
  Object.entries(w)
    .map(([r, v]) => `${r}=${v}`)
    .join(' ') || '—';

/** The short human summary printed at the end of a drill. */
export function summarize(report: DrillReport): string {
  const lines = [
    `drill ${report.scenario} (seed ${report.seed}): ${report.outcome.toUpperCase()} in ${report.durationSeconds}s`,
    `regions: ${report.regions.join(', ')}; recovery runs started: ${report.recoveries}`,
    `time scale: probes every ${report.scale.intervalSeconds}s, window ${report.scale.windowSeconds}s (real Route 53: ${report.scale.realWindowSeconds}s)` +
      (report.estimatedRealRtoSeconds !== null
        ? `; RTO with real intervals ≈ ${report.estimatedRealRtoSeconds}s`
        : ''),
  ];
  for (const i of report.instances) {
    lines.push(
      `  ${i.id}: ${i.homeRegion} → ${i.recoveredTo ?? 'stayed'}; detection ${fmt(i.detectionSeconds)}, RTO ${fmt(i.rtoSeconds)}${i.rtoOnAwsSeconds !== undefined ? ` (on AWS ≈ ${i.rtoOnAwsSeconds}s: restore ${i.restoreOnAws?.projectedSeconds}s at its limits)` : ''}, RPO ${fmt(i.rpoSeconds)}; writes during outage ${i.writesDuringOutage}, lost after failback ${i.writesLostAfterFailback}`,
    );
    const d = report.dns[i.id];
    if (d) {
      lines.push(`    weights before:         ${weights(d.before)}`);
      lines.push(`    weights after recovery: ${weights(d.afterRecovery)}`);
      lines.push(`    weights after failback: ${weights(d.afterFailback)}`);
    }
  }
  const p = report.practice;
  if (p)
    lines.push(
      `  practice ${p.runId}: ${p.instanceId} in ${p.target ?? '?'} ${p.passed ? 'passed' : `FAILED (${p.reason})`}; would-be RTO ${fmt(p.rtoSeconds ?? null)} before the DNS change, RPO ${fmt(p.rpoSeconds ?? null)}; DNS ${p.dnsByteIdentical ? 'byte-identical' : 'CHANGED'}, home ${p.homeByteIdentical ? 'byte-identical' : 'CHANGED'}, copy ${p.copyRemoved ? 'removed' : 'LEFT'}`,
    );
  for (const inv of report.invariants)
    lines.push(`  ${inv.held ? 'ok  ' : 'FAIL'} ${inv.name}: ${inv.detail.split('\n')[0]}`);
  return lines.join('\n');
}

/** The timeline as text, one line per entry. */
export function timelineText(report: DrillReport): string {
  return report.timeline
    .map(
      (e) =>
        `${e.tSeconds.toFixed(1).padStart(6)}s  ${e.kind.padEnd(24)} ${e.instanceId ?? ''} ${e.detail}`,
    )
    .join('\n');
}
