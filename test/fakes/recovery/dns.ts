import { MemoryDns } from '../../../shared/adapters/memory/dns.ts';
import type {
  DnsChangeResult,
  DnsRecordSpec,
  DnsRouting,
  Weights,
} from '../../../shared/domain/recovery/ports.ts';
import { DnsChangeError } from '../../../shared/errors.ts';
import { nextSeq } from '../sequence.ts';

/** One weight change that took effect, in order, with its place in the global call order. */
export interface AppliedWeights {
  instanceId: string;
  weights: Weights;
  seq: number;
}

/**
 * Route 53 weighted records in memory, one record set per instance. Records must be created
 * first (`create`), as lifeboat pre-creates them; a change naming a region without a record is
 * rejected. Faults: the next `failNextApplies` changes throw `DnsChangeError` (the adapter's
 * retries exhausted), `unreachable` fails every call, and `dropNextApplies` acknowledges a
 * change without applying it, so a read-back sees the old weights.
 */
export class FakeDns implements DnsRouting {
  /** Changes that took effect. */
  readonly applied: AppliedWeights[] = [];
  /** Every `applyWeights` call, failed ones included. */
  applyCalls = 0;
  readCalls = 0;
  failNextApplies = 0;
  dropNextApplies = 0;
  unreachable = false;
  private readonly records = new MemoryDns();

  /** Pre-creates an instance's records with the given weights. */
  create(spec: DnsRecordSpec, weights: Weights): void {
    for (const region of Object.keys(weights)) {
      if (!spec.targets[region])
        throw new Error(`test: ${spec.instanceId} has no endpoint in ${region}`);
    }
    this.records.create(spec.instanceId, weights);
  }

  /** The weights now in effect for an instance (no call recorded). */
  weightsOf(instanceId: string): Weights {
    return this.records.read(instanceId);
  }

  /** Changes that took effect for one instance, oldest first. */
  appliedFor(instanceId: string): Weights[] {
    return this.applied.filter((a) => a.instanceId === instanceId).map((a) => a.weights);
  }

  async readWeights(spec: DnsRecordSpec): Promise<Weights> {
    this.readCalls += 1;
    if (this.unreachable) throw this.failure(spec, 'ListResourceRecordSets');
    return this.weightsOf(spec.instanceId);
  }

  async applyWeights(spec: DnsRecordSpec, weights: Weights): Promise<DnsChangeResult> {
    this.applyCalls += 1;
    if (this.unreachable) throw this.failure(spec, 'ChangeResourceRecordSets');
    if (this.failNextApplies > 0) {
      this.failNextApplies -= 1;
      throw this.failure(spec, 'ChangeResourceRecordSets');
    }
    this.records.check(spec.instanceId, weights);
    const changeId = `C${this.applyCalls}`;
    if (this.dropNextApplies > 0) {
      this.dropNextApplies -= 1;
      return { changeId, attempts: 1, insync: true };
    }
    this.records.apply(spec.instanceId, weights);
    this.applied.push({ instanceId: spec.instanceId, weights: { ...weights }, seq: nextSeq() });
    return { changeId, attempts: 1, insync: true };
  }

  private failure(spec: DnsRecordSpec, operation: string): DnsChangeError {
    return new DnsChangeError(spec.instanceId, operation, 5, {
      cause: Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }),
    });
  }
}
