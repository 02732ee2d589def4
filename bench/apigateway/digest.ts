import { createHash } from 'node:crypto';
import {
  type CanonicalInstance,
  decodeDocument,
  type InstanceDocument,
} from '../../shared/domain/apigateway/documents.ts';
import type { InstanceStore } from '../../shared/domain/ports.ts';
import { configDigest } from '../../shared/domain/snapshot/format.ts';

/*
 * What an instance store holds, as the runtime sees it: its documents and their config digest
 * (the same function the snapshot's manifest uses), so the benchmark compares like with like.
 */

async function bodies(store: InstanceStore, instanceId: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await store.list(instanceId)) {
    const parts: Uint8Array[] = [];
    for await (const part of store.read(instanceId, entry.key)) parts.push(part);
    out.set(entry.key, Buffer.concat(parts));
  }
  return out;
}

/** The config digest of what a store holds for an instance. */
export async function storeDigest(store: InstanceStore, instanceId: string): Promise<string> {
  const objects = [...(await bodies(store, instanceId))].map(([key, body]) => ({
    key,
    sha256: createHash('sha256').update(body).digest('hex'),
  }));
  return configDigest(objects);
}

/** The canonical documents a store holds for an instance. */
export async function storeDocuments(
  store: InstanceStore,
  instanceId: string,
): Promise<CanonicalInstance> {
  const docs: InstanceDocument[] = [...(await bodies(store, instanceId))].map(([key, body]) =>
    decodeDocument(key, body),
  );
  return {
    apis: docs.filter((d) => d.kind === 'rest-api'),
    usagePlans: docs.filter((d) => d.kind === 'usage-plan'),
    apiKeys: docs.filter((d) => d.kind === 'api-key'),
    domains: docs.filter((d) => d.kind === 'domain-name'),
  };
}
