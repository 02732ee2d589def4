import { runEndedPoints } from '../metrics.ts';
import type { RecoveryDeps, Weights } from './ports.ts';
import { escapeHtml, page, type TimelineLane, table, timelineSvg } from './report-page.ts';
import type { RecoveryRun } from './run.ts';

/**
 * The report every recovery and failback run leaves in the control buckets of its claim set
 * when it ends (completed or failed): what happened when, from the run's own record (each
 * step's recorded time, the incident's times), never from when someone looked. The HTML is the
 * drill's page, on the same renderer (report-page.ts).
 */

/** One step of a run in its report. */
export interface ReportStep {
  name: string;
  status: 'pending' | 'done' | 'failed';
  attempts: number;
  /** The previous step's end (or the run's start): steps run one after another. */
  startedAt?: string;
  endedAt?: string;
  durationSeconds?: number;
  detail?: string;
}

/** The weights at one change; `at` absent when the run record keeps no time for it. */
export interface ReportWeights {
  at?: string;
  label: string;
  weights: Weights;
}

/** The report of one run, as stored under `reports/<runId>.json`. */
export interface RunReport {
  format: 1;
  runId: string;
  kind: 'recovery' | 'failback';
  instanceId: string;
  status: RecoveryRun['status'];
  reason?: string;
  failedStep?: string;
  from: string;
  target?: string;
  claimant: string;
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  incident: RecoveryRun['incident'];
  snapshot?: RecoveryRun['snapshot'];
  /** Who approved the run, when an approval gate held it (recovery.approval: required). */
  approvedBy?: string;
  /** Outage start (or confirmation, when the start is unknown) → traffic shifted. */
  rtoSeconds?: number;
  rpoSeconds?: number;
  rolledBack?: boolean;
  recoveryRunId?: string;
  steps: ReportStep[];
  weights: ReportWeights[];
  /** Every moment of the run at its own recorded time, in time order. */
  timeline: { at: string; kind: string; detail: string }[];
  /** A practice run (practice.ts): restored under a practice identity and removed, DNS untouched. */
  practice?: boolean;
}

/** Where a run's report lives in the control buckets. */
export const reportKey = (runId: string, ext: 'json' | 'html' = 'json') =>
  `reports/${runId}.${ext}`;
/** The prefix every report key starts with. */
export const REPORTS_PREFIX = 'reports/';

const seconds = (from: string, to: string) =>
  Math.round((Date.parse(to) - Date.parse(from)) / 100) / 10;

/** Builds the report of a run from its record. Pure: the same run gives the same report. */
export function buildRunReport(run: RecoveryRun): RunReport {
  const steps: ReportStep[] = [];
  let previous = run.startedAt;
  for (const [name, record] of Object.entries(run.steps)) {
    const endedAt = record.at ?? (record.status === 'failed' ? run.updatedAt : undefined);
    const startedAt = record.status === 'pending' && !record.at ? undefined : previous;
    steps.push({
      name,
      status: record.status,
      attempts: record.attempts,
      ...(startedAt ? { startedAt } : {}),
      ...(endedAt ? { endedAt } : {}),
      ...(startedAt && endedAt ? { durationSeconds: seconds(startedAt, endedAt) } : {}),
      ...(record.detail ? { detail: record.detail } : {}),
    });
    if (endedAt) previous = endedAt;
  }
  const shiftStep = run.steps.shift;
  const weights: ReportWeights[] = [];
  if (run.weights)
    weights.push({ at: run.startedAt, label: 'before', weights: run.weights.before });
  // Each canary step at the time it took effect; runs recorded before those times were kept
  // show their steps untimed (within `shift`).
  for (const [i, w] of (run.canary ?? []).entries()) {
    const at = run.canaryAt?.[i];
    weights.push(
      at
        ? { at, label: `canary step ${i + 1}`, weights: w }
        : { label: `canary step ${i + 1} (during shift)`, weights: w },
    );
  }
  if (run.weights && run.metrics?.shiftedAt)
    weights.push({ at: run.metrics.shiftedAt, label: 'after', weights: run.weights.after });
  else if (run.weights && shiftStep?.status === 'done' && shiftStep.at)
    weights.push({ at: shiftStep.at, label: 'after', weights: run.weights.after });

  const timeline: RunReport['timeline'] = [];
  const { outageStartedAt, confirmedAt } = run.incident;
  if (outageStartedAt)
    timeline.push({ at: outageStartedAt, kind: 'outage started', detail: run.from });
  if (confirmedAt) timeline.push({ at: confirmedAt, kind: 'outage confirmed', detail: run.from });
  if (run.snapshot)
    timeline.push({
      at: run.snapshot.takenAt,
      kind: 'snapshot taken',
      detail: `${run.snapshot.snapshotId} in ${run.snapshot.region}`,
    });
  const approval = run.approval;
  if (approval?.requestedAt)
    timeline.push({
      at: approval.requestedAt,
      kind: 'approval requested',
      detail: approval.plan
        ? `to ${approval.plan.target} from ${approval.plan.snapshotId}, RPO ${approval.plan.rpoSeconds}s`
        : '',
    });
  if (approval?.at && approval.decision)
    timeline.push({
      at: approval.at,
      kind: `run ${approval.decision}`,
      detail: approval.by ?? '',
    });
  timeline.push({ at: run.startedAt, kind: `${run.kind} started`, detail: run.claimant });
  for (const step of steps)
    if (step.endedAt)
      timeline.push({
        at: step.endedAt,
        kind: `${step.name} ${step.status}`,
        detail: `${step.attempts} attempt(s)${step.detail ? `: ${step.detail}` : ''}`,
      });
  for (const w of weights)
    if (w.at && w.label.startsWith('canary step'))
      timeline.push({
        at: w.at,
        kind: w.label,
        detail: Object.entries(w.weights)
          .map(([r, v]) => `${r}=${v}`)
          .join(' '),
      });
  if (run.metrics?.shiftedAt)
    timeline.push({
      at: run.metrics.shiftedAt,
      kind: 'traffic shifted',
      detail: `to ${run.kind === 'failback' ? run.target : run.target}`,
    });
  if (run.status !== 'running')
    timeline.push({
      at: run.updatedAt,
      kind: `${run.kind} ${run.status}`,
      detail: run.reason ?? '',
    });
  timeline.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));

  const m = run.metrics;
  const rto = m?.rtoFromOutageStartSeconds ?? m?.rtoFromConfirmedSeconds;
  return {
    format: 1,
    runId: run.runId,
    kind: run.kind,
    instanceId: run.instanceId,
    status: run.status,
    ...(run.reason ? { reason: run.reason } : {}),
    ...(run.failedStep ? { failedStep: run.failedStep } : {}),
    from: run.from,
    ...(run.target ? { target: run.target } : {}),
    claimant: run.claimant,
    startedAt: run.startedAt,
    endedAt: run.updatedAt,
    durationSeconds: seconds(run.startedAt, run.updatedAt),
    incident: run.incident,
    ...(run.snapshot ? { snapshot: run.snapshot } : {}),
    ...(approval?.decision === 'approved' && approval.by ? { approvedBy: approval.by } : {}),
    ...(rto !== undefined ? { rtoSeconds: rto } : {}),
    ...(m?.rpoSeconds !== undefined ? { rpoSeconds: m.rpoSeconds } : {}),
    ...(run.rolledBack ? { rolledBack: true } : {}),
    ...(run.recoveryRunId ? { recoveryRunId: run.recoveryRunId } : {}),
    steps,
    weights,
    timeline,
  };
}

/**
 * The report's page: the drill's timeline chart for this one run (its phases as bands, its
 * moments as dots, the RTO marked, the weights at every timed change), then the numbers.
 */
export function renderRunReport(report: RunReport): string {
  const origin = report.incident.outageStartedAt ?? report.incident.confirmedAt ?? report.startedAt;
  const t = (iso: string) => seconds(origin, iso);
  const bands: NonNullable<TimelineLane['bands']> = [];
  const { outageStartedAt, confirmedAt } = report.incident;
  if (outageStartedAt && confirmedAt)
    bands.push({
      kind: 'detection',
      label: `detection ${seconds(outageStartedAt, confirmedAt)}s`,
      fromSeconds: t(outageStartedAt),
      toSeconds: t(confirmedAt),
    });
  if (report.snapshot && report.rpoSeconds !== undefined)
    bands.push({
      kind: 'rpo',
      label: `RPO ${report.rpoSeconds}s`,
      fromSeconds: t(report.snapshot.takenAt),
      toSeconds: t(outageStartedAt ?? confirmedAt ?? report.startedAt),
    });
  for (const s of report.steps)
    if (s.startedAt && s.endedAt)
      bands.push({
        kind: report.kind,
        label: `${s.name}${s.attempts > 1 ? ` (${s.attempts} attempts)` : ''}${s.status === 'failed' ? ' FAILED' : ''}`,
        fromSeconds: t(s.startedAt),
        toSeconds: t(s.endedAt),
      });
  const timedWeights = report.weights.filter((w): w is ReportWeights & { at: string } => !!w.at);
  // A practice shifts nothing: its RTO is marked where its copy verified.
  const shifted = report.practice
    ? report.timeline.find((e) => e.kind === 'verify done')
    : report.timeline.find((e) => e.kind === 'traffic shifted');
  const lane: TimelineLane = {
    id: report.instanceId,
    events: report.timeline.map((e) => ({ kind: e.kind, tSeconds: t(e.at), detail: e.detail })),
    bands,
    weights: timedWeights.map((w) => ({ tSeconds: t(w.at), weights: w.weights })),
    markers:
      shifted && report.rtoSeconds !== undefined
        ? [
            {
              label: `RTO ${report.rtoSeconds.toFixed(1)}s${report.practice ? ' (practice)' : ''}`,
              tSeconds: t(shifted.at),
            },
          ]
        : [],
  };
  const weightsText = (w: Weights) =>
    Object.entries(w)
      .map(([r, v]) => `${r}=${v}`)
      .join(' ');
  const title = `lifeboat ${report.practice ? 'PRACTICE' : report.kind} ${report.runId}: ${report.instanceId} ${report.from} → ${report.target ?? '?'} ${report.status}`;
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(
      [
        `started ${report.startedAt} by ${report.claimant}`,
        `ended ${report.endedAt} (${report.durationSeconds}s)`,
        report.rtoSeconds !== undefined ? `RTO ${report.rtoSeconds.toFixed(1)}s` : 'RTO —',
        report.rpoSeconds !== undefined ? `RPO ${report.rpoSeconds.toFixed(1)}s` : 'RPO —',
        report.snapshot
          ? `snapshot ${report.snapshot.snapshotId} (${report.snapshot.region}, taken ${report.snapshot.takenAt})`
          : 'no snapshot',
        report.approvedBy ? `approved by ${report.approvedBy}` : 'no approval asked',
        ...(report.rolledBack ? ['rolled back'] : []),
        ...(report.reason ? [`${report.failedStep ?? ''} failed: ${report.reason}`] : []),
      ].join('; '),
    )}</p>
<h2>Timeline</h2>
${timelineSvg([lane])}
<h2>Steps</h2>
${table(
  ['step', 'status', 'attempts', 'started', 'ended', 'duration s', 'detail'],
  report.steps.map((s) => [
    escapeHtml(s.name),
    s.status,
    String(s.attempts),
    s.startedAt ?? '—',
    s.endedAt ?? '—',
    s.durationSeconds === undefined ? '—' : String(s.durationSeconds),
    escapeHtml(s.detail ?? ''),
  ]),
)}
<h2>Weights</h2>
${table(
  ['at', 'change', 'weights'],
  report.weights.map((w) => [w.at ?? '—', escapeHtml(w.label), escapeHtml(weightsText(w.weights))]),
)}
<h2>Events</h2>
${table(
  ['at', 'what', 'detail'],
  report.timeline.map((e) => [e.at, escapeHtml(e.kind), escapeHtml(e.detail)]),
)}`,
  );
}

/**
 * Writes a run's report (JSON and HTML) to every reachable control bucket of its claim set.
 * Best effort: a report must never fail the run it describes, so errors are counted, not thrown.
 */
export async function writeRunReport(
  deps: RecoveryDeps,
  run: RecoveryRun,
): Promise<{ written: number; failed: number; changed: boolean }> {
  const report = buildRunReport(run);
  // Whether this is news (a first end, or a resumed run ending differently): metrics count it once.
  let changed = false;
  const html = deps.controlBlobs ? new TextEncoder().encode(renderRunReport(report)) : undefined;
  let written = 0;
  let failed = 0;
  await Promise.all(
    run.claimSet.map(async (region) => {
      try {
        const store = deps.documents(region);
        const key = reportKey(run.runId);
        const current = await store.load(key);
        const stored = current?.value as Partial<RunReport> | undefined;
        // A report of a later state of the run stands (two invocations ending the same run).
        if (stored?.endedAt && stored.endedAt > report.endedAt) return;
        if (stored?.status !== report.status || stored?.endedAt === undefined) changed = true;
        await store.save(key, report, current?.version);
        if (html && deps.controlBlobs)
          await deps.controlBlobs(region).put(reportKey(run.runId, 'html'), html, {
            contentType: 'text/html; charset=utf-8',
          });
        written += 1;
      } catch {
        failed += 1;
      }
    }),
  );
  if (changed) deps.metrics?.record(runEndedPoints(report, deps.region));
  return { written, failed, changed };
}

/** A run's report from the first control bucket that has it (any configured region). */
export async function readRunReport(
  deps: RecoveryDeps,
  runId: string,
): Promise<RunReport | undefined> {
  for (const region of deps.config.regions.map((r) => r.name)) {
    try {
      const loaded = await deps.documents(region).load(reportKey(runId));
      if (loaded) return loaded.value as RunReport;
    } catch {
      // Unreachable: the next region may have a copy.
    }
  }
  return undefined;
}

/** The newest report (by the time its run ended) any reachable control bucket holds. */
export async function latestRunReport(deps: RecoveryDeps): Promise<RunReport | undefined> {
  const runIds = new Set<string>();
  for (const region of deps.config.regions.map((r) => r.name)) {
    try {
      for (const key of await deps.documents(region).list(REPORTS_PREFIX))
        if (key.endsWith('.json')) runIds.add(key.slice(REPORTS_PREFIX.length, -'.json'.length));
    } catch {
      // Unreachable: the others list theirs.
    }
  }
  let newest: RunReport | undefined;
  for (const runId of runIds) {
    const report = await readRunReport(deps, runId);
    if (report && (!newest || Date.parse(report.endedAt) > Date.parse(newest.endedAt)))
      newest = report;
  }
  return newest;
}
