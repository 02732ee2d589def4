/**
 * Every error lifeboat raises. Code matches them with `instanceof`, never by message.
 * Each class sets `name` so logs and events stay readable after serialisation.
 */

/** Base class: lets callers tell lifeboat's own failures from everything else. */
export class LifeboatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LifeboatError';
  }
}

/** The config file is missing, unreadable, or does not match the schema. */
export class ConfigError extends LifeboatError {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${detail}`, options);
    this.name = 'ConfigError';
  }
}

/** An incoming event (Lambda payload) does not match its schema. */
export class EventValidationError extends LifeboatError {
  constructor(
    readonly eventKind: string,
    readonly field: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid ${eventKind} event: ${field ? `${field}: ` : ''}${detail}`, options);
    this.name = 'EventValidationError';
  }
}

/** A command-line argument is missing or malformed. */
export class UsageError extends LifeboatError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** An instance id that the config does not describe. */
export class UnknownInstanceError extends LifeboatError {
  constructor(
    readonly instanceId: string,
    options?: { cause?: unknown },
  ) {
    super(`unknown instance "${instanceId}"`, options);
    this.name = 'UnknownInstanceError';
  }
}

/** A region name that the config does not describe. */
export class UnknownRegionError extends LifeboatError {
  constructor(
    readonly region: string,
    options?: { cause?: unknown },
  ) {
    super(`unknown region "${region}"`, options);
    this.name = 'UnknownRegionError';
  }
}

/** A storage call failed in a way that says nothing about the data (network, throttling, 5xx). */
export class StorageUnavailableError extends LifeboatError {
  constructor(
    readonly location: string,
    options?: { cause?: unknown },
  ) {
    super(`storage unavailable: ${location}`, options);
    this.name = 'StorageUnavailableError';
  }
}

/** An object listed a moment ago is gone (deleted between the listing and the read). */
export class ObjectMissingError extends LifeboatError {
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`object vanished: ${key}`, options);
    this.name = 'ObjectMissingError';
  }
}

/** A conditional write lost: the object already exists. */
export class AlreadyExistsError extends LifeboatError {
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`object already exists: ${key}`, options);
    this.name = 'AlreadyExistsError';
  }
}

/** A compare-and-swap write lost: the document changed since it was read. */
export class WriteConflictError extends LifeboatError {
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`document changed concurrently: ${key}`, options);
    this.name = 'WriteConflictError';
  }
}

/** Compare-and-swap kept losing to concurrent writers; the caller should retry later. */
export class ContentionError extends LifeboatError {
  constructor(
    readonly key: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`gave up on ${key} after ${attempts} conflicting writes`, options);
    this.name = 'ContentionError';
  }
}

/** A stored document does not match its schema. */
export class CorruptStateError extends LifeboatError {
  constructor(
    readonly key: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`stored state ${key} is unreadable: ${detail}`, options);
    this.name = 'CorruptStateError';
  }
}

/** A snapshot was written to fewer regions than its commit quorum needs. */
export class QuorumNotReachedError extends LifeboatError {
  constructor(
    readonly instanceId: string,
    readonly snapshotId: string,
    readonly regionsHolding: readonly string[],
    readonly quorum: number,
    options?: { cause?: unknown },
  ) {
    super(
      `snapshot ${snapshotId} of ${instanceId} reached ${regionsHolding.length} of the ${quorum} regions its quorum needs (holding: ${regionsHolding.join(', ') || 'none'})`,
      options,
    );
    this.name = 'QuorumNotReachedError';
  }
}

/** No committed snapshot exists where one was looked for. */
export class SnapshotNotFoundError extends LifeboatError {
  constructor(
    readonly instanceId: string,
    readonly where: string,
    readonly snapshotId?: string,
    options?: { cause?: unknown },
  ) {
    super(
      snapshotId
        ? `snapshot ${snapshotId} of ${instanceId} not found in ${where}`
        : `no committed snapshot of ${instanceId} in ${where}`,
      options,
    );
    this.name = 'SnapshotNotFoundError';
  }
}

/** One named problem found while verifying a snapshot. */
export interface IntegrityProblem {
  /** What is wrong: a pack is absent, a pack or chunk hash mismatches, a manifest is malformed. */
  kind: 'missing-pack' | 'corrupt-pack' | 'corrupt-chunk' | 'corrupt-object' | 'bad-manifest';
  /** The key, pack id, or chunk id that is at fault. */
  name: string;
  /** Instance config objects that depend on the faulty part. */
  affectedObjects: string[];
  detail: string;
}

/** A snapshot failed verification; nothing was written to any restore target. */
export class SnapshotIntegrityError extends LifeboatError {
  constructor(
    readonly instanceId: string,
    readonly snapshotId: string,
    readonly problems: readonly IntegrityProblem[],
    options?: { cause?: unknown },
  ) {
    const listed = problems
      .slice(0, 5)
      .map(
        (p) =>
          `${p.kind} ${p.name}${p.affectedObjects.length ? ` (affects ${p.affectedObjects.join(', ')})` : ''}`,
      )
      .join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    super(`snapshot ${snapshotId} of ${instanceId} failed verification: ${listed}${more}`, options);
    this.name = 'SnapshotIntegrityError';
  }
}

/** The event bus refused some entries. */
export class EventPublishError extends LifeboatError {
  constructor(
    readonly failed: number,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`event bus rejected ${failed} event(s): ${detail}`, options);
    this.name = 'EventPublishError';
  }
}

/** A local-world process (moto_server, proxy) could not be started or reached. */
export class LocalWorldError extends LifeboatError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalWorldError';
  }
}

/**
 * A traffic-weight plan cannot be built safely from its inputs: bad canary percents, a region
 * outside the plan, or every region drained (an all-zero plan would spread traffic everywhere).
 */
export class WeightPlanError extends LifeboatError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WeightPlanError';
  }
}

/**
 * Weights that cannot go to Route 53: a region outside the record spec or missing from it, a
 * value outside 0–255, or all zero.
 */
export class InvalidWeightsError extends LifeboatError {
  constructor(
    readonly instanceId: string,
    readonly region: string | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `invalid weights for ${instanceId}: ${region !== undefined ? `${region}: ` : ''}${detail}`,
      options,
    );
    this.name = 'InvalidWeightsError';
  }
}

/** A Route 53 request kept failing (throttling, 5xx, network) until its attempts ran out. */
export class DnsChangeError extends LifeboatError {
  constructor(
    readonly instanceId: string,
    readonly operation: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    const cause = options?.cause as { name?: string; message?: string } | undefined;
    super(
      `Route 53 ${operation} for ${instanceId} gave up after ${attempts} attempt(s)${cause ? `: ${cause.name ?? 'Error'}: ${cause.message ?? ''}` : ''}`,
      options,
    );
    this.name = 'DnsChangeError';
  }
}

/**
 * Route 53 refused a request as invalid (bad change batch, unknown zone, no permission): retrying
 * cannot help.
 */
export class DnsChangeRejectedError extends LifeboatError {
  constructor(
    readonly instanceId: string,
    readonly operation: string,
    readonly code: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Route 53 rejected ${operation} for ${instanceId}: ${code}: ${detail}`, options);
    this.name = 'DnsChangeRejectedError';
  }
}

/** A recovery or failback step gave up; the run is recorded as failed at that step and can be resumed. */
export class RunStepError extends LifeboatError {
  /** The step decided the run is over (e.g. a rollback): retrying it would be wrong. */
  readonly final: boolean;
  /** Run fields the failed step wants recorded (e.g. the weights it rolled back to). */
  readonly changes: Record<string, unknown> | undefined;

  constructor(
    readonly step: string,
    message: string,
    options?: { cause?: unknown; final?: boolean; changes?: Record<string, unknown> },
  ) {
    super(message, options);
    this.name = 'RunStepError';
    this.final = options?.final ?? false;
    this.changes = options?.changes;
  }
}

/**
 * A step gave up and the run is recorded as failed, with "Recovery Failed" / "Failback Failed"
 * sent: it waits for `lifeboat resume`. Any other error from a step left nothing recorded (the
 * control buckets did not answer), so the invocation must fail and be retried.
 */
export class RunFailedError extends RunStepError {
  constructor(step: string, message: string, options?: { cause?: unknown }) {
    super(step, message, options);
    this.name = 'RunFailedError';
  }
}

/** A canonical API Gateway document (read back or stored in a snapshot) that does not parse. */
export class InstanceDocumentError extends LifeboatError {
  constructor(
    readonly key: string,
    readonly field: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`instance document ${key}: ${field ? `${field}: ` : ''}${detail}`, options);
    this.name = 'InstanceDocumentError';
  }
}

/** Two members of one instance share a name, so references by name would be ambiguous. */
export class DuplicateMemberError extends LifeboatError {
  constructor(
    readonly instanceId: string,
    readonly memberKind: string,
    readonly memberName: string,
    options?: { cause?: unknown },
  ) {
    super(
      `instance "${instanceId}" has two ${memberKind}s named "${memberName}"; names identify members across regions, so rename one`,
      options,
    );
    this.name = 'DuplicateMemberError';
  }
}

/**
 * A region-bound reference (an ARN or id of another region) has no entry in the instance's
 * `apigateway.references` table for the target region. Raised before the restore's first write.
 */
export class MissingRegionMappingError extends LifeboatError {
  constructor(
    readonly reference: string,
    readonly field: string,
    readonly targetRegion: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${field}: ${reference} is bound to another region and apigateway.references has no entry for ${targetRegion}; add one (name: { <source region>: ${reference}, ${targetRegion}: <its counterpart> })`,
      options,
    );
    this.name = 'MissingRegionMappingError';
  }
}

/** An API Gateway control-plane call failed; `ambiguous` when it may have taken effect. */
export class ApiGatewayCallError extends LifeboatError {
  constructor(
    readonly operation: string,
    readonly region: string,
    readonly ambiguous: boolean,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`API Gateway ${operation} in ${region} failed: ${detail}`, options);
    this.name = 'ApiGatewayCallError';
  }
}

/** A sealed secret could not be sealed or opened (no key ring, KMS refused, tampered). */
export class SealingError extends LifeboatError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealingError';
  }
}

/**
 * A restore stopped before the invocation ran out of time, with what it had done kept in the
 * target. Not a failure: the recovery step records the progress and goes on in a new invocation.
 */
export class RestoreIncompleteError extends LifeboatError {
  constructor(
    readonly instanceId: string,
    readonly snapshotId: string,
    readonly objectsWritten: number,
    readonly objectsLeft: number,
    options?: { cause?: unknown },
  ) {
    super(
      `restore of ${instanceId} ${snapshotId} paused with ${objectsLeft} object(s) left (${objectsWritten} written this time): continues in the next invocation`,
      options,
    );
    this.name = 'RestoreIncompleteError';
  }
}

/** An approval or rejection of a run cannot be recorded (no such run, nothing asked, answered already). */
export class ApprovalError extends LifeboatError {
  constructor(
    readonly runId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`run ${runId}: ${reason}`, options);
    this.name = 'ApprovalError';
  }
}

/** A practice run could not be done, or left something behind that it must report. */
export class PracticeError extends LifeboatError {
  constructor(
    readonly instanceId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`practice of ${instanceId}: ${reason}`, options);
    this.name = 'PracticeError';
  }
}

/** The notification topic refused a message, or none is configured for this function. */
export class NotificationError extends LifeboatError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotificationError';
  }
}

/** The drill killed an invocation on purpose (its thread terminated mid-step): Lambda retries it. */
export class InvocationKilledError extends LifeboatError {
  constructor(
    readonly fn: string,
    readonly afterMs: number,
    options?: { cause?: unknown },
  ) {
    super(`invocation of ${fn} killed ${afterMs} ms into its step (a real crash)`, options);
    this.name = 'InvocationKilledError';
  }
}
