import type { InstanceStore, ObjectEntry } from '../domain/ports.ts';

/**
 * One region's instance store for every kind: each call goes to the store of the instance's
 * kind (the object-store bucket, or API Gateway). Callers keep one store per region and never
 * ask which kind an instance is.
 */
export class KindRoutedInstanceStore implements InstanceStore {
  constructor(
    private readonly storeFor: (instanceId: string) => InstanceStore,
    readonly location: string,
  ) {}

  list(instanceId: string): Promise<ObjectEntry[]> {
    return this.storeFor(instanceId).list(instanceId);
  }

  read(instanceId: string, key: string): AsyncIterable<Uint8Array> {
    return this.storeFor(instanceId).read(instanceId, key);
  }

  write(instanceId: string, key: string, body: Uint8Array): Promise<void> {
    return this.storeFor(instanceId).write(instanceId, key, body);
  }

  delete(instanceId: string, keys: readonly string[]): Promise<void> {
    return this.storeFor(instanceId).delete(instanceId, keys);
  }

  restoreRank(instanceId: string, key: string): number {
    return this.storeFor(instanceId).restoreRank?.(instanceId, key) ?? 0;
  }

  async preflight(instanceId: string, key: string, body: Uint8Array): Promise<void> {
    await this.storeFor(instanceId).preflight?.(instanceId, key, body);
  }

  pacedCalls(instanceId: string): ReadonlyMap<string, number> {
    return this.storeFor(instanceId).pacedCalls?.(instanceId) ?? new Map();
  }

  secondsAtProviderLimits(instanceId: string, calls: ReadonlyMap<string, number>): number {
    return this.storeFor(instanceId).secondsAtProviderLimits?.(instanceId, calls) ?? 0;
  }
}
