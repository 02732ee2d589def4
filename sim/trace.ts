import type { Weights } from '../shared/domain/recovery/ports.ts';

/**
 * What a simulation run records, in time order. The invariant checkers read nothing else, so
 * they can be tested with hand-made traces, and a failing seed's trace explains the failure.
 */

/** The world as the checkers need to know it, recorded once at the start. */
export interface SetupEntry {
  kind: 'setup';
  t: number;
  regions: { name: string; capacity: number; homeUnits: number }[];
  instances: {
    id: string;
    home: string;
    units: number;
    critical: boolean;
    endpointRegions: string[];
  }[];
  /** How long after a region outage starts traffic must have left it (ms). */
  rtoBoundMs: number;
}

/** Ground truth: a region stopped or started answering (cause says why). */
export interface RegionTruthEntry {
  kind: 'region';
  t: number;
  region: string;
  up: boolean;
  /** `outage`: down for good or for minutes; `flap`: a short drop that is part of flapping. */
  cause: 'outage' | 'flap' | 'heal';
  /**
   * When it went down: per instance, the other regions whose vault holds a whole committed
   * snapshot of it, the copies a recovery can restore from.
   */
  restorable?: Record<string, string[]>;
}

/** A snapshot invocation finished: what it says it did, and what the vaults hold after it. */
export interface SnapshotRunEntry {
  kind: 'snapshot-run';
  t: number;
  region: string;
  force: boolean;
  outcomes: {
    instanceId: string;
    status: 'skipped' | 'committed' | 'failed';
    /** The snapshot taken (committed, failed) or the one a skip counted as recent enough. */
    snapshotId?: string;
    quorum: number;
    /** The regions whose vault holds `snapshotId` whole and committed, straight from the truth. */
    heldBy: string[];
  }[];
}

/** Ground truth that never justifies a failover: a zone down, or vantages cut from a region. */
export interface PartialFaultEntry {
  kind: 'partial';
  t: number;
  region: string;
  what: string;
}

/** Route 53 weights that took effect for an instance. */
export interface WeightsEntry {
  kind: 'weights';
  t: number;
  instanceId: string;
  weights: Weights;
}

/** An instance runtime's state changed in a region. */
export interface InstanceEntry {
  kind: 'instance';
  t: number;
  instanceId: string;
  region: string;
  activated: boolean;
  fenced: boolean;
}

/** A run record as written (the highest sequence number wins, as readers do). */
export interface RunEntry {
  kind: 'run';
  t: number;
  runId: string;
  runKind: 'recovery' | 'failback';
  instanceId: string;
  from: string;
  target?: string;
  status: 'running' | 'completed' | 'failed';
  reason?: string;
  failedStep?: string;
  seq: number;
  stepsDone: string[];
  reservation?: { region: string; slots: number[] };
  recoveryRunId?: string;
  rolledBack?: boolean;
}

/** A restore step finished: what the target holds against what the snapshot's manifest lists. */
export interface RestoredEntry {
  kind: 'restored';
  t: number;
  runId: string;
  region: string;
  snapshotId: string;
  storeDigest: string;
  manifestDigest: string;
}

/** A client's config write through the admin API, accepted or refused. */
export interface WriteEntry {
  kind: 'write';
  t: number;
  instanceId: string;
  region: string;
  key: string;
  valueHash: string;
  accepted: boolean;
  /** Accepted by a fenced copy: a writer that had not yet seen an advisory fence. */
  pastFence?: boolean;
}

/** A capacity slot key was created or deleted in a region's control bucket. */
export interface SlotEntry {
  kind: 'slot';
  t: number;
  region: string;
  slot: number;
  /** The holder after the change; undefined when deleted. */
  runId?: string;
}

/** Virtual time passing with nothing else to report (time-based invariants check here). */
export interface ClockEntry {
  kind: 'clock';
  t: number;
}

/** The end of a run: every run's final state, and what each instance's serving region holds. */
export interface EndEntry {
  kind: 'end';
  t: number;
  runs: {
    runId: string;
    runKind: 'recovery' | 'failback';
    status: 'running' | 'completed' | 'failed';
    reason?: string;
    failedStep?: string;
    /** A running run was handed to the operator's `lifeboat resume`; how that ended. */
    operatorResume?: 'completed' | 'failed' | 'still-running' | 'error';
  }[];
  serving: { instanceId: string; region?: string; contents: Record<string, string> }[];
  /** Every committed snapshot in every region's vault, with what makes it unusable, if anything. */
  snapshots?: { instanceId: string; region: string; snapshotId: string; problem?: string }[];
}

/** A scheduled restore test ended (or its invocation died): what it touched and left. */
export interface RestoreTestEntry {
  kind: 'restore-test';
  t: number;
  instanceId: string;
  /** The replica region it restored from; the scratch copy went to that region's store. */
  region: string;
  passed: boolean;
  reason?: string;
  /** Every store id (instance id or scratch id) the test wrote to or deleted from. */
  touched: string[];
  /** The scratch id it was allowed to write (shared/domain/snapshot/restore-test.ts). */
  scratchId: string;
  /** Objects left under that scratch id in that region when it ended (ground truth). */
  scratchLeft: number;
}

/** One entry of a trace. */
export type TraceEntry =
  | SetupEntry
  | RegionTruthEntry
  | PartialFaultEntry
  | WeightsEntry
  | InstanceEntry
  | RunEntry
  | RestoredEntry
  | WriteEntry
  | SlotEntry
  | ClockEntry
  | RestoreTestEntry
  | SnapshotRunEntry
  | EndEntry;
