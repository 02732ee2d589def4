import {
  type CanonicalInstance,
  decodeDocument,
  type InstanceDocument,
} from '../../shared/domain/apigateway/documents.ts';
import type { InstanceStore } from '../../shared/domain/ports.ts';
import { readInstanceObjects } from '../../shared/domain/store-contents.ts';

/** The canonical documents a store holds for an instance (what the fidelity count compares). */
export async function storeDocuments(
  store: InstanceStore,
  instanceId: string,
): Promise<CanonicalInstance> {
  const docs: InstanceDocument[] = [...(await readInstanceObjects(store, instanceId))].map(
    ([key, body]) => decodeDocument(key, body),
  );
  return {
    apis: docs.filter((d) => d.kind === 'rest-api'),
    usagePlans: docs.filter((d) => d.kind === 'usage-plan'),
    apiKeys: docs.filter((d) => d.kind === 'api-key'),
    domains: docs.filter((d) => d.kind === 'domain-name'),
  };
}
