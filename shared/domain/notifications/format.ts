import { DetailType } from '../events.ts';

/**
 * What a person is told about an event: a subject readable at 3 a.m., a short text body, and
 * the event's JSON. Pure: the notify function (functions/notify/handler.ts) and the local world
 * publish what this returns; nothing here knows SNS.
 *
 * Formatting never fails: an event whose detail lacks a field still gets a message (with "?"
 * in its place), because a notification lost to a formatting bug is worse than a vague one.
 */

/** The part of an EventBridge event a notification is made from. */
export interface NotifiedEvent {
  id?: string;
  'detail-type': string;
  source?: string;
  /** The EventBridge `time`: when the event was published. */
  time?: string;
  /** The region whose bus carried it. */
  region?: string;
  detail: Record<string, unknown>;
}

/** A notification as SNS publishes it. */
export interface Notification {
  /** One line, under 100 characters (SNS's limit for a subject). */
  subject: string;
  /** A few lines of text: what happened, where, and what to do. */
  body: string;
  /** The body, then the event's JSON: what the topic's subscribers receive. */
  message: string;
}

/** SNS refuses a subject of 100 characters or more. */
export const MAX_SUBJECT_LENGTH = 99;

/** "45 s", "12 min", "6 h", "2 d 3 h": the unit a person reads fastest. */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) {
    const h = Math.floor(s / 3600);
    const min = Math.round((s % 3600) / 60);
    return min === 0 || h >= 10 ? `${Math.round(s / 3600)} h` : `${h} h ${min} min`;
  }
  const d = Math.floor(s / 86_400);
  const h = Math.round((s % 86_400) / 3600);
  return h === 0 ? `${d} d` : `${d} d ${h} h`;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const obj = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
const or = (value: string | undefined) => value ?? '?';

/** A subject cut to SNS's limit, on one line. */
function oneLine(subject: string): string {
  // SNS refuses line breaks and control characters in a subject.
  const flat = [...subject]
    .map((c) => ((c.codePointAt(0) ?? 0) < 32 || c === '\u007f' ? ' ' : c))
    .join('')
    .replace(/ {2,}/g, ' ')
    .trim();
  return flat.length <= MAX_SUBJECT_LENGTH ? flat : `${flat.slice(0, MAX_SUBJECT_LENGTH - 1)}…`;
}

/** "03:12:07 UTC" from an ISO time; the date too when it is not the reference's day. */
function clock(iso: string | undefined, reference?: string): string | undefined {
  if (!iso || Number.isNaN(Date.parse(iso))) return undefined;
  const at = new Date(iso).toISOString();
  const sameDay = reference && !Number.isNaN(Date.parse(reference));
  const day = sameDay && new Date(reference).toISOString().slice(0, 10) === at.slice(0, 10);
  return day ? `${at.slice(11, 19)} UTC` : `${at.slice(0, 10)} ${at.slice(11, 19)} UTC`;
}

/** The recovery chain's and failback's events carry a run (shared/domain/recovery/run.ts runEventDetail). */
function runFacts(detail: Record<string, unknown>) {
  const metrics = obj(detail.metrics);
  const snapshot = obj(detail.snapshot);
  const incident = obj(detail.incident);
  return {
    runId: text(detail.runId),
    instance: or(text(detail.instanceId)),
    from: or(text(detail.from)),
    target: text(detail.target),
    step: text(detail.step),
    reason: text(detail.reason),
    rto: num(metrics.rtoFromOutageStartSeconds) ?? num(metrics.rtoFromConfirmedSeconds),
    rpo: num(metrics.rpoSeconds),
    snapshotId: text(snapshot.snapshotId),
    snapshotTakenAt: text(snapshot.takenAt),
    outageStartedAt: text(incident.outageStartedAt),
    rolledBack: detail.rolledBack === true,
    stalled: detail.stalled === true,
    stalledSince: text(detail.stalledSince),
  };
}

type Parts = { subject: string; lines: string[] };

function regionOutage(event: NotifiedEvent): Parts {
  const d = event.detail;
  const region = or(text(d.region));
  const detection = num(d.detectionSeconds);
  const by = text(d.confirmedBy);
  const evidence = obj(d.evidence);
  const vantages = Array.isArray(evidence.vantages)
    ? evidence.vantages.map((v) => text(obj(v).vantage)).filter(Boolean)
    : [];
  return {
    subject: `lifeboat: region ${region} is DOWN (confirmed${detection !== undefined ? ` in ${humanDuration(detection)}` : ''}${by ? ` by ${by}` : ''})`,
    lines: [
      `lifeboat confirmed an outage of ${region}.`,
      `Outage started: ${or(clock(text(d.outageStartedAt), event.time))}; confirmed: ${or(clock(text(d.confirmedAt), event.time))}.`,
      ...(vantages.length > 0 ? [`Vantages that saw it fail: ${vantages.join(', ')}.`] : []),
      `Every instance homed in ${region} is now recovered automatically (a "Recovery Planned" follows per instance, unless approval is required).`,
      'Follow it with: lifeboat status',
    ],
  };
}

function zoneDegraded(event: NotifiedEvent): Parts {
  const d = event.detail;
  const region = or(text(d.region));
  const zone = or(text(d.zone));
  return {
    subject: `lifeboat: zone ${zone} degraded in ${region} (no failover)`,
    lines: [
      `Zone ${zone} of ${region} is failing its probes since ${or(clock(text(d.degradedSince)))}; the region still answers.`,
      'A zone failure never triggers a region failover: the instance keeps serving from its other zones.',
      'Look at the zone in the AWS Health dashboard; lifeboat reports "Zone Recovered" when it is back.',
    ],
  };
}

/** What happens when nobody answers (recovery.approvalTimeout, shared/domain/recovery/approval.ts). */
function timeoutLine(approval: Record<string, unknown>, reference?: string): string[] {
  const at = clock(text(approval.timeoutAt), reference);
  if (!at) return ['Nobody answering keeps it waiting.'];
  return text(approval.onTimeout) === 'proceed'
    ? [`If nobody answers by ${at}, it proceeds on its own.`]
    : [`If nobody answers by ${at}, it keeps waiting.`];
}

function awaitingApproval(event: NotifiedEvent): Parts {
  const r = runFacts(event.detail);
  const run = r.runId ?? 'RUN_ID';
  return {
    subject: `lifeboat: APPROVAL NEEDED for ${r.instance} recovery ${r.from} → ${or(r.target)}`,
    lines: [
      `The recovery of ${r.instance} out of ${r.from} is planned${r.target ? ` into ${r.target}` : ''} and waits for a person.`,
      ...(r.snapshotId
        ? [
            `Snapshot: ${r.snapshotId}${r.rpo !== undefined ? ` (RPO ${humanDuration(r.rpo)})` : ''}.`,
          ]
        : []),
      ...timeoutLine(obj(event.detail.approval), event.time),
      `Continue it: lifeboat approve --run ${run}`,
      `End it:      lifeboat reject --run ${run}`,
    ],
  };
}

function recoveryPlanned(event: NotifiedEvent): Parts {
  const r = runFacts(event.detail);
  const age =
    r.snapshotTakenAt && event.time
      ? (Date.parse(event.time) - Date.parse(r.snapshotTakenAt)) / 1000
      : undefined;
  return {
    subject: `lifeboat: recovering ${r.instance} ${r.from} → ${or(r.target)}${age !== undefined && age >= 0 ? `, snapshot ${humanDuration(age)} old` : ''}`,
    lines: [
      `lifeboat is recovering ${r.instance} out of ${r.from} into ${or(r.target)}.`,
      `Snapshot: ${or(r.snapshotId)}${r.snapshotTakenAt ? ` (taken ${clock(r.snapshotTakenAt, event.time)})` : ''}.`,
      'Next: restore, verify, then the DNS weights move. "Recovery Completed" or "Recovery Failed" follows.',
      ...(r.runId ? [`Run: ${r.runId}`] : []),
    ],
  };
}

function recoveryCompleted(event: NotifiedEvent): Parts {
  const r = runFacts(event.detail);
  const measured = [
    r.rto !== undefined ? `in ${humanDuration(r.rto)}` : undefined,
    r.rpo !== undefined ? `RPO ${humanDuration(r.rpo)}` : undefined,
  ].filter(Boolean);
  return {
    subject: `lifeboat: ${r.instance} recovered ${r.from} → ${or(r.target)}${measured.length > 0 ? ` ${measured.join(', ')}` : ''}`,
    lines: [
      `${r.instance} now serves from ${or(r.target)}; its DNS weights moved away from ${r.from}.`,
      `RTO: ${r.rto !== undefined ? humanDuration(r.rto) : '?'} (from the outage's start). RPO: ${r.rpo !== undefined ? humanDuration(r.rpo) : '?'} (snapshot ${or(r.snapshotId)}).`,
      `Failback to ${r.from} starts by itself once the region is healthy again.`,
      ...(r.runId ? [`Report: lifeboat report --run ${r.runId}`] : []),
    ],
  };
}

function runFailed(event: NotifiedEvent, kind: 'recovery' | 'failback'): Parts {
  const r = runFacts(event.detail);
  const run = r.runId ?? 'RUN_ID';
  // Both kinds run from `from` to `target`: a failback from the recovered region to home.
  const route = `${r.from} → ${or(r.target)}`;
  if (r.stalled) {
    return {
      subject: `lifeboat: ${r.instance} ${kind} STALLED at ${or(r.step)} (${route})`,
      lines: [
        `The ${kind} of ${r.instance} has recorded no progress at step ${or(r.step)} since ${or(clock(r.stalledSince, event.time))}.`,
        ...(r.reason ? [`Why: ${r.reason}`] : []),
        `Look: lifeboat status; continue: lifeboat resume --run ${run} --approve`,
      ],
    };
  }
  const rollback = kind === 'failback' && r.rolledBack;
  return {
    subject: `lifeboat: ${r.instance} ${kind} FAILED at ${or(r.step)}${rollback ? ', rolled back' : ''} (${route})`,
    lines: [
      `The ${kind} of ${r.instance} failed at step ${or(r.step)}.`,
      ...(r.reason ? [`Why: ${r.reason}`] : []),
      ...(rollback
        ? [
            `Traffic was rolled back: ${r.instance} keeps serving from ${r.from}, where it was recovered to.`,
          ]
        : []),
      `Look: lifeboat report --run ${run}; continue: lifeboat resume --run ${run} --approve`,
    ],
  };
}

function failbackCompleted(event: NotifiedEvent): Parts {
  const r = runFacts(event.detail);
  // A failback run goes from the region the instance was recovered to (`from`) to home (`target`).
  return {
    subject: `lifeboat: ${r.instance} back home in ${or(r.target)} (from ${r.from})`,
    lines: [
      `${r.instance} failed back from ${r.from} to ${or(r.target)}, with every change made during the outage.`,
      'Its DNS weights are home again and the recovery capacity is released.',
      ...(r.runId ? [`Report: lifeboat report --run ${r.runId}`] : []),
    ],
  };
}

function snapshotFailed(event: NotifiedEvent): Parts {
  const d = event.detail;
  const instance = or(text(d.instanceId));
  const committed = Array.isArray(d.regionsCommitted) ? d.regionsCommitted.length : undefined;
  const failed = Array.isArray(d.regionsFailed)
    ? d.regionsFailed.map((f) => `${or(text(obj(f).region))}: ${or(text(obj(f).reason))}`)
    : [];
  const quorum = num(d.quorum);
  return {
    subject: `lifeboat: ${instance} snapshot FAILED${committed !== undefined && quorum !== undefined ? ` (${committed} of ${quorum} regions needed)` : ''}`,
    lines: [
      `Snapshot ${or(text(d.snapshotId))} of ${instance} does not count: ${or(text(d.reason))}.`,
      ...failed.map((f) => `  ${f}`),
      'The previous committed snapshot is still the one a recovery would use; the RPO grows until one commits.',
      `Retry now: lifeboat snapshot --instance ${instance}`,
    ],
  };
}

function restoreTestFailed(event: NotifiedEvent): Parts {
  const d = event.detail;
  const instance = or(text(d.instanceId));
  const region = or(text(d.region));
  return {
    subject: `lifeboat: ${instance} restore test FAILED (backup in ${region})`,
    lines: [
      `The scheduled restore test of ${instance} from ${region}${text(d.snapshotId) ? ` (snapshot ${text(d.snapshotId)})` : ''} failed: ${or(text(d.reason))}.`,
      'A recovery from that backup could fail the same way.',
      `Check it: lifeboat verify --instance ${instance} --region ${region}`,
    ],
  };
}

function fallback(event: NotifiedEvent): Parts {
  const d = event.detail;
  const about = text(d.instanceId) ?? text(d.region);
  return {
    subject: `lifeboat: ${event['detail-type']}${about ? ` (${about})` : ''}`,
    lines: [`lifeboat published "${event['detail-type']}".`],
  };
}

function partsOf(event: NotifiedEvent): Parts {
  switch (event['detail-type']) {
    case DetailType.RegionOutageConfirmed:
      return regionOutage(event);
    case DetailType.ZoneDegraded:
      return zoneDegraded(event);
    case DetailType.RecoveryAwaitingApproval:
      return awaitingApproval(event);
    case DetailType.RecoveryPlanned:
      return recoveryPlanned(event);
    case DetailType.RecoveryCompleted:
      return recoveryCompleted(event);
    case DetailType.RecoveryFailed:
      return runFailed(event, 'recovery');
    case DetailType.FailbackCompleted:
      return failbackCompleted(event);
    case DetailType.FailbackFailed:
      return runFailed(event, 'failback');
    case DetailType.SnapshotFailed:
      return snapshotFailed(event);
    case DetailType.RestoreTestFailed:
      return restoreTestFailed(event);
    default:
      return fallback(event);
  }
}

/** The notification for one event: subject, body, and the message (body, then the event's JSON). */
export function formatNotification(event: NotifiedEvent): Notification {
  const { subject, lines } = partsOf(event);
  const where = [
    event.time ? `at ${clock(event.time)}` : undefined,
    event.region ? `on the bus of ${event.region}` : undefined,
  ].filter(Boolean);
  const body = [...lines, ...(where.length > 0 ? [`(published ${where.join(' ')})`] : [])].join(
    '\n',
  );
  return {
    subject: oneLine(subject),
    body,
    message: `${body}\n\nThe event:\n${JSON.stringify(event, null, 2)}\n`,
  };
}
