import type { LifeboatConfig } from '../config/schema.ts';
import type { InstanceControl, InstanceHealth } from '../domain/recovery/ports.ts';
import { UnknownRegionError } from '../errors.ts';

/**
 * Controls an instance through its regional endpoint's admin API (the reference runtime's
 * `/health`, `/admin/reload`, `/admin/fence`). Another product plugs in its own adapter.
 */
export class HttpInstanceControl implements InstanceControl {
  constructor(
    private readonly config: LifeboatConfig,
    private readonly timeoutMs = 5000,
  ) {}

  private base(instanceId: string, region: string): string {
    const endpoint = this.config.instances.find((i) => i.id === instanceId)?.endpoints[region];
    if (!endpoint) throw new UnknownRegionError(`${region} (no endpoint of ${instanceId} there)`);
    return endpoint.url.replace(/\/+$/, '');
  }

  private async post(instanceId: string, region: string, path: string): Promise<void> {
    const response = await fetch(`${this.base(instanceId, region)}${path}`, {
      method: 'POST',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok)
      throw new Error(`${path} on ${instanceId} in ${region}: HTTP ${response.status}`);
    await response.body?.cancel();
  }

  activate(instanceId: string, region: string): Promise<void> {
    return this.post(instanceId, region, '/admin/reload');
  }

  fence(instanceId: string, region: string): Promise<void> {
    return this.post(instanceId, region, '/admin/fence');
  }

  unfence(instanceId: string, region: string): Promise<void> {
    return this.post(instanceId, region, '/admin/unfence');
  }

  async health(instanceId: string, region: string): Promise<InstanceHealth> {
    try {
      const response = await fetch(`${this.base(instanceId, region)}/health`, {
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      return {
        ok: response.ok && body.instanceId === instanceId,
        instanceId: body.instanceId as string | undefined,
        region: body.region as string | undefined,
        configDigest: body.configDigest as string | null | undefined,
        fenced: body.fenced as boolean | undefined,
        ...(response.ok ? {} : { error: `HTTP ${response.status}` }),
      };
    } catch (error) {
      // fetch says only "fetch failed"; the cause names what actually went wrong.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (error as Error).message;
      return { ok: false, error: `${detail} (${this.base(instanceId, region)}/health)` };
    }
  }
}
