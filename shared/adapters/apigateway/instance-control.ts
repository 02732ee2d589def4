import type { DocumentStore, InstanceStore } from '../../domain/ports.ts';
import type { InstanceControl, InstanceHealth } from '../../domain/recovery/ports.ts';
import { configDigest, sha256Hex } from '../../domain/snapshot/format.ts';
import { readInstanceObjects } from '../../domain/store-contents.ts';
import { WriteConflictError } from '../../errors.ts';

/*
 * Controls an API Gateway instance through its control plane. API Gateway serves a REST API
 * as soon as a stage points at a deployment, so activating is nothing. Health is the
 * instance read back into canonical form: its digest is what verify compares with the
 * snapshot's, and a control plane that cannot be read is not healthy.
 *
 * Fencing. Writes to API Gateway come from the owners' pipelines and consoles, never through
 * lifeboat, so nothing can refuse them. A fence here is a marker in the region's control
 * bucket (`fences/<instance>.json`) that pipelines can check, and it is what health reports;
 * the guarantee that no write is lost comes from failback itself, which compares the fenced
 * copy's digest with its final snapshot's after the restore and takes the final snapshot
 * again while they differ (shared/domain/recovery/steps/failback.ts, docs/apigateway.md).
 */

/** The control-bucket key of an instance's fence marker. */
export function fenceKey(instanceId: string): string {
  return `fences/${instanceId}.json`;
}

/** An API Gateway instance's lifecycle, region by region. */
export class ApiGatewayInstanceControl implements InstanceControl {
  constructor(
    private readonly store: (region: string) => InstanceStore,
    private readonly documents: (region: string) => DocumentStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async activate(): Promise<void> {
    // Nothing to do: a restored stage serves its deployment at once.
  }

  async health(instanceId: string, region: string): Promise<InstanceHealth> {
    try {
      const store = this.store(region);
      const objects = await readInstanceObjects(store, instanceId);
      const digest = configDigest(
        [...objects].map(([key, body]) => ({ key, sha256: sha256Hex(body) })),
      );
      const fence = await this.documents(region).load(fenceKey(instanceId));
      const fenced = (fence?.value as { fenced?: boolean } | undefined)?.fenced === true;
      return {
        ok: [...objects.keys()].some((key) => key.startsWith('apis/')),
        instanceId,
        region,
        configDigest: digest,
        fenced,
        ...(objects.size === 0 ? { error: `no REST API of ${instanceId} in ${region}` } : {}),
      };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  fence(instanceId: string, region: string): Promise<void> {
    return this.mark(instanceId, region, true);
  }

  unfence(instanceId: string, region: string): Promise<void> {
    return this.mark(instanceId, region, false);
  }

  private async mark(instanceId: string, region: string, fenced: boolean): Promise<void> {
    const documents = this.documents(region);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await documents.load(fenceKey(instanceId));
      if ((current?.value as { fenced?: boolean } | undefined)?.fenced === fenced) return;
      try {
        await documents.save(
          fenceKey(instanceId),
          { instanceId, region, fenced, at: this.clock().toISOString() },
          current?.version,
        );
        return;
      } catch (error) {
        // Another invocation moved the marker: read it again and decide anew.
        if (!(error instanceof WriteConflictError)) throw error;
      }
    }
  }
}
