/**
 * Detail types of the events lifeboat emits on its bus (source `lifeboat`). Consumers match on
 * these names in EventBridge rules; changing one is a breaking change.
 */
export const DetailType = {
  SnapshotCompleted: 'Snapshot Completed',
  SnapshotFailed: 'Snapshot Failed',
  HealthObserved: 'Health Observed',
  RegionOutageConfirmed: 'Region Outage Confirmed',
  RegionRecovered: 'Region Recovered',
  /** One per instance, fanned out from "Region Recovered" so each failback has its own invocation. */
  FailbackRequested: 'Failback Requested',
  ZoneDegraded: 'Zone Degraded',
  ZoneRecovered: 'Zone Recovered',
} as const;

/** Payload of "Snapshot Completed" and "Snapshot Failed". */
export interface SnapshotEventDetail {
  instanceId: string;
  snapshotId: string;
  configDigest?: string;
  regionsCommitted: string[];
  regionsFailed: { region: string; reason: string }[];
  quorum: number;
  bytesTotal: number;
  bytesUploaded: number;
  objectCount: number;
  durationMs: number;
  /** Only on failure: why the snapshot does not count. */
  reason?: string;
}
