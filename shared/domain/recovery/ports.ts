import type { LifeboatConfig } from '../../config/schema.ts';
import type { MetricsSink } from '../metrics.ts';
import type { BlobStore, Clock, DocumentStore, EventBus, InstanceStore } from '../ports.ts';

/**
 * Ports of the recovery chain. The domain owns them; adapters implement them (Route 53, the
 * instance runtime's admin API).
 */

/** Route 53 weights of one instance's record: region → weight (0–255). */
export type Weights = Record<string, number>;

/** One instance's DNS, as lifeboat manages it: one weighted record per region. */
export interface DnsRecordSpec {
  instanceId: string;
  hostedZoneId: string;
  recordName: string;
  ttl: number;
  /** Region → the regional endpoint's host name (the CNAME target). */
  targets: Record<string, string>;
  /** Region → Route 53 health check id, when one exists (static stability: failover by data plane). */
  healthChecks?: Record<string, string>;
}

/** A change submitted to Route 53 and how it ended. */
export interface DnsChangeResult {
  changeId: string;
  /** Attempts it took, retries of throttling or errors included. */
  attempts: number;
  insync: boolean;
}

/**
 * DNS routing. Record changes go through Route 53's control plane (us-east-1 only), so every
 * implementation retries until it succeeds; failover must also work without it, which is why
 * records are pre-created with health checks.
 */
export interface DnsRouting {
  /** Current weights, read back from DNS. Regions without a record are absent. */
  readWeights(spec: DnsRecordSpec): Promise<Weights>;
  /** Sets the weights of every region's record in one change batch, then waits for INSYNC. */
  applyWeights(spec: DnsRecordSpec, weights: Weights): Promise<DnsChangeResult>;
}

/** What an instance endpoint reports about itself. */
export interface InstanceHealth {
  ok: boolean;
  instanceId?: string;
  region?: string;
  configDigest?: string | null;
  fenced?: boolean;
  error?: string;
}

/** The running instance in a region: the product-specific part (the reference runtime locally). */
export interface InstanceControl {
  /** Makes the instance serve what is now in its region's instance store. */
  activate(instanceId: string, region: string): Promise<void>;
  health(instanceId: string, region: string): Promise<InstanceHealth>;
  /** Stops the instance accepting config writes (failback's final snapshot must be final). */
  fence(instanceId: string, region: string): Promise<void>;
  unfence(instanceId: string, region: string): Promise<void>;
}

/** Everything a run needs from outside. */
export interface RecoveryDeps {
  config: LifeboatConfig;
  /** The region this copy of the control plane runs in. */
  region: string;
  clock: Clock;
  /** A region's control bucket, as compare-and-swap documents. */
  documents(region: string): DocumentStore;
  /** Deletes a key from a region's control bucket (capacity release). */
  deleteControlKey(region: string, key: string): Promise<void>;
  vault(region: string): BlobStore;
  /** A region's control bucket as plain objects (the HTML of run reports); absent: JSON only. */
  controlBlobs?(region: string): BlobStore;
  instanceStore(region: string): InstanceStore;
  dns: DnsRouting;
  instances: InstanceControl;
  bus: EventBus;
  /** Regions the detector currently holds in outage (never chosen as targets). */
  unhealthyRegions(): Promise<Set<string>>;
  /** Waits between attempts of a step. */
  sleep(ms: number): Promise<void>;
  /** Attempts per step before the run fails (resumable). */
  stepAttempts?: number;
  verifyAttempts?: number;
  /**
   * Milliseconds this invocation may still spend (Lambda's remaining time less a margin);
   * absent: unbounded. A long restore stops in time and goes on in the next invocation.
   */
  workBudgetMs?: () => number;
  /** Where run metrics go (EMF in Lambda); absent: none. */
  metrics?: MetricsSink;
  /** Names an invocation that takes a run (`StepContext.take`); random unless a test fixes it. */
  newDriverId?: () => string;
}
