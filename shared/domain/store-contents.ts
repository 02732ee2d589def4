import type { InstanceStore } from './ports.ts';
import { configDigest, sha256Hex } from './snapshot/format.ts';

/**
 * Every object an instance store holds for one instance, read whole: for comparisons of a
 * restored copy with its source (the demo, drills and benchmarks), not for large stores.
 */
export async function readInstanceObjects(
  store: InstanceStore,
  instanceId: string,
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await store.list(instanceId)) {
    const parts: Uint8Array[] = [];
    for await (const part of store.read(instanceId, entry.key)) parts.push(part);
    out.set(entry.key, Buffer.concat(parts));
  }
  return out;
}

/** The config digest of what a store holds for an instance (as snapshots and runtimes compute it). */
export async function instanceDigest(store: InstanceStore, instanceId: string): Promise<string> {
  const objects = await readInstanceObjects(store, instanceId);
  return configDigest([...objects].map(([key, body]) => ({ key, sha256: sha256Hex(body) })));
}

/**
 * An instance store seen through one fixed instance id, whatever id it is asked for: a restore
 * test's scratch copy, a practice's identity. Only the five core operations; a caller that
 * needs the optional ones adds them.
 */
export function storeSeenAs(
  store: InstanceStore,
  id: string,
): Pick<InstanceStore, 'location' | 'list' | 'read' | 'write' | 'delete'> {
  return {
    location: `${store.location} ${id}/`,
    list: () => store.list(id),
    read: (_id, key) => store.read(id, key),
    write: (_id, key, body) => store.write(id, key, body),
    delete: (_id, keys) => store.delete(id, keys),
  };
}
