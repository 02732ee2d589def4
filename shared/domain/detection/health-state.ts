import type { AlarmSignal, HealthSignal } from './signals.ts';

/** The durable state of the region-health machine and the settings it runs with. */

/** The region's status in the state machine. */
export type RegionStatus = 'healthy' | 'suspect' | 'outage' | 'recovering';

/** One remembered probe result of an endpoint. */
export interface ProbeResult {
  at: string;
  ok: boolean;
  error?: string;
}

/** What a vantage knows of one endpoint: its latest result and a short history. */
export interface EndpointView {
  ok: boolean;
  at: string;
  zone: string;
  /** Since when this endpoint has failed without a success in between (from the history). */
  failingSince?: string;
  error?: string;
  /** Results in time order, pruned to what any decision can still need. */
  history: ProbeResult[];
}

/** What one vantage currently says about the region as a whole (derived, kept for readers). */
export interface VantageSummary {
  lastSeen: string;
  /** Start of the vantage's current run of all-failing samples. */
  downSince?: string;
  /** Start of the vantage's current run of answering samples. */
  upSince?: string;
}

/** An event the detector decided to emit, kept in the state until published (an outbox). */
export interface PendingEvent {
  /** Stable id, so a re-publish after a crash can be recognised downstream. */
  eventId: string;
  detailType: DetectorDetailType;
  detail: Record<string, unknown>;
}

/** Detail types the detector emits. */
export type DetectorDetailType =
  | 'Region Outage Confirmed'
  | 'Region Recovered'
  | 'Zone Degraded'
  | 'Zone Recovered';

/** The durable state of one target region. */
export interface RegionHealth {
  region: string;
  status: RegionStatus;
  statusSince: string;
  incidentId?: string;
  outageStartedAt?: string;
  confirmedAt?: string;
  /** When the previous incident ended: a new incident never starts before it. */
  lastRecoveredAt?: string;
  /** The latest time any signal carried: evaluation never runs backwards. */
  latestSignalAt?: string;
  /** vantage → `instanceId/zone` → what it knows. */
  endpoints: Record<string, Record<string, EndpointView>>;
  vantages: Record<string, VantageSummary>;
  alarms: Record<string, { state: AlarmSignal['state']; since: string; instanceId: string }>;
  healthEvents: Record<
    string,
    { status: HealthSignal['status']; at: string; service: string; updatedAt?: string }
  >;
  /** Zones currently reported degraded, with the time they started failing. */
  degradedZones: Record<string, string>;
  outbox: PendingEvent[];
}

/** The policy with derived numbers filled in. */
export interface DetectorSettings {
  intervalSeconds: number;
  windowSeconds: number;
  /** Window when an alarm or Health event corroborates: one probe interval. */
  corroboratedWindowSeconds: number;
  /** A vantage silent for longer than this no longer votes, and a gap this long breaks a run. */
  staleSeconds: number;
  recoverySeconds: number;
  quorum: number;
  alarmsCanConfirm: boolean;
  healthEventsCanConfirm: boolean;
}

/** Appends an event to the state's outbox (the machine's only output). */
export type Emit = (
  detailType: DetectorDetailType,
  eventId: string,
  detail: Record<string, unknown>,
) => void;
