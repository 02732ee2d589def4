import type { Weights } from '../../domain/recovery/ports.ts';
import { weightsProblem } from '../../domain/recovery/weights.ts';
import { InvalidWeightsError } from '../../errors.ts';

/**
 * Route 53's weighted records in memory, one record set per instance, under the one weight
 * rule (`weightsProblem`, as the Route 53 adapter checks it): records are pre-created, and a
 * change naming a region without a record, a weight outside 0..255 or all weights 0 is
 * refused. The record store of the test fakes' DNS and of the simulator.
 */
export class MemoryDns {
  /** The weights in effect, per instance. */
  readonly records = new Map<string, Weights>();

  /** Pre-creates an instance's records (lifeboat dns precreate). */
  create(instanceId: string, weights: Weights): void {
    this.records.set(instanceId, { ...weights });
  }

  /** The weights in effect for an instance (empty when it has no records). */
  read(instanceId: string): Weights {
    return { ...(this.records.get(instanceId) ?? {}) };
  }

  /** Throws InvalidWeightsError unless the change may be applied to the instance's records. */
  check(instanceId: string, weights: Weights): Weights {
    const current = this.records.get(instanceId);
    if (!current) {
      throw new InvalidWeightsError(instanceId, undefined, 'no records were pre-created');
    }
    const problem = weightsProblem(weights, Object.keys(current));
    if (problem) throw new InvalidWeightsError(instanceId, problem.region, problem.detail);
    return current;
  }

  /** Applies a change (the regions it names; the others keep theirs); the weights now in effect. */
  apply(instanceId: string, weights: Weights): Weights {
    const next = { ...this.check(instanceId, weights), ...weights };
    this.records.set(instanceId, next);
    return { ...next };
  }
}
