import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { INSTANCE_TAG } from '../domain/apigateway/documents.ts';
import type { DataKey, Keyring } from '../domain/apigateway/sealing.ts';
import type { InstanceStore } from '../domain/ports.ts';
import type {
  DnsChangeResult,
  DnsRecordSpec,
  DnsRouting,
  InstanceControl,
  InstanceHealth,
  Weights,
} from '../domain/recovery/ports.ts';
import { configDigest } from '../domain/snapshot/format.ts';
import { storeSeenAs } from '../domain/store-contents.ts';
import { PracticeError } from '../errors.ts';

/*
 * The adapters that give a practice run (shared/domain/recovery/practice.ts) its identity:
 * what is restored for an instance lands under its practice id (a store prefix, or the
 * `lifeboat:instance` tag of API Gateway), its secrets are sealed under the real instance's
 * key ring, and DNS can be read but never changed.
 */

/** An instance store seen through the practice id, whatever instance id it is asked for. */
export function practiceView(store: InstanceStore, practiceId: string): InstanceStore {
  return {
    ...storeSeenAs(store, practiceId),
    ...(store.restoreRank
      ? { restoreRank: (_id: string, key: string) => store.restoreRank?.(practiceId, key) ?? 0 }
      : {}),
    ...(store.preflight
      ? {
          preflight: async (_id: string, key: string, body: Uint8Array) => {
            await store.preflight?.(practiceId, key, body);
          },
        }
      : {}),
  };
}

/** A key ring that answers for the practice id with the real instance's keys (its sealed values). */
export function practiceKeyring(inner: Keyring, practiceId: string, instanceId: string): Keyring {
  const real = (id: string) => (id === practiceId ? instanceId : id);
  return {
    current: (id: string): Promise<DataKey> => inner.current(real(id)),
    byId: (id: string, keyId: string): Promise<DataKey> => inner.byId(real(id), keyId),
  };
}

/** DNS for a practice: weights read through; any change refused (a practice never routes). */
export class ReadOnlyDns implements DnsRouting {
  constructor(private readonly inner: DnsRouting) {}

  readWeights(spec: DnsRecordSpec): Promise<Weights> {
    return this.inner.readWeights(spec);
  }

  async applyWeights(spec: DnsRecordSpec): Promise<DnsChangeResult> {
    throw new PracticeError(spec.instanceId, 'a practice never changes DNS');
  }
}

/**
 * The control of an object-store practice copy. No runtime serves it (nothing may route to
 * it), so its health is its store read back object by object, digested as verify expects.
 */
export class StoreReadbackControl implements InstanceControl {
  constructor(private readonly store: (region: string) => InstanceStore) {}

  async activate(): Promise<void> {
    // Nothing serves a practice copy: there is nothing to load.
  }

  async fence(): Promise<void> {
    // Nothing writes to a practice copy: nothing to refuse.
  }

  async unfence(): Promise<void> {}

  async health(instanceId: string, region: string): Promise<InstanceHealth> {
    try {
      const store = this.store(region);
      const objects: { key: string; sha256: string }[] = [];
      for (const entry of await store.list(instanceId)) {
        const hash = createHash('sha256');
        for await (const piece of store.read(instanceId, entry.key)) hash.update(piece);
        objects.push({ key: entry.key, sha256: hash.digest('hex') });
      }
      return objects.length === 0
        ? { ok: false, error: `no object of ${instanceId} in ${region}` }
        : { ok: true, instanceId, region, configDigest: configDigest(objects), fenced: true };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }
}

/** Every `tags` map in a JSON value whose instance tag is `from`, given `to` instead. */
function retag(value: unknown, from: string, to: string): unknown {
  if (Array.isArray(value)) return value.map((v) => retag(v, from, to));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const tags = v as Record<string, unknown> | null;
    out[key] =
      key === 'tags' && tags && typeof tags === 'object' && tags[INSTANCE_TAG] === from
        ? { ...tags, [INSTANCE_TAG]: to }
        : retag(v, from, to);
  }
  return out;
}

/** A canonical document with its instance tags moved from one instance to another. */
function retagged(body: Uint8Array, from: string, to: string): Uint8Array {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return body;
  }
  return Buffer.from(canonicalize(retag(json, from, to)) as string, 'utf8');
}

/**
 * An API Gateway store whose documents carry the practice id in their `lifeboat:instance` tags
 * when written (an API is created with its document's tags, and a practice copy tagged as the
 * real instance would be the real instance's), and the real id again when read (so the copy's
 * digest is the snapshot's).
 */
export function practiceTags(
  store: InstanceStore,
  instanceId: string,
  practiceId: string,
): InstanceStore {
  return {
    location: store.location,
    list: (id) => store.list(id),
    read: async function* (id, key) {
      const parts: Uint8Array[] = [];
      for await (const part of store.read(id, key)) parts.push(part);
      yield retagged(Buffer.concat(parts), practiceId, instanceId);
    },
    write: (id, key, body) => store.write(id, key, retagged(body, instanceId, practiceId)),
    delete: (id, keys) => store.delete(id, keys),
    restoreRank: (id, key) => store.restoreRank?.(id, key) ?? 0,
    preflight: async (id, key, body) => {
      await store.preflight?.(id, key, retagged(body, instanceId, practiceId));
    },
  };
}
