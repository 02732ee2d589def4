import type { Clock } from '../../shared/domain/ports.ts';
import type { ReplicaTarget } from '../../shared/domain/snapshot/take-snapshot.ts';
import { seededRandom } from '../../shared/random.ts';
import { InMemoryBlobStore } from './blob-store.ts';
import type { InMemoryInstanceStore } from './instance-store.ts';

// The one seeded generator (pure-rand), re-exported for the test data builders' importers.
export { seededRandom } from '../../shared/random.ts';

/** Incompressible bytes from a seeded generator. */
export function randomBytes(random: () => number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let i = 0;
  for (; i + 4 <= length; i += 4) out.writeUInt32LE(Math.floor(random() * 4_294_967_296), i);
  for (; i < length; i += 1) out[i] = Math.floor(random() * 256);
  return out;
}

/** A config-like JSON document of about `size` bytes, partly random so objects differ. */
export function configDocument(random: () => number, name: string, size: number): Buffer {
  const noise = randomBytes(random, Math.max(1, Math.ceil(size / 2))).toString('hex');
  return Buffer.from(
    JSON.stringify({ name, version: 1, spec: noise.slice(0, Math.max(0, size - 40)) }),
  );
}

/** Fills an instance with `count` objects of about `size` bytes; returns their keys. */
export function seedInstance(
  store: InMemoryInstanceStore,
  instanceId: string,
  options: { count: number; size: number; seed: number; prefix?: string },
): string[] {
  const random = seededRandom(options.seed);
  const keys: string[] = [];
  for (let i = 0; i < options.count; i += 1) {
    const key = `${options.prefix ?? 'apis'}/api-${String(i).padStart(4, '0')}.json`;
    store.seed(instanceId, key, configDocument(random, key, options.size));
    keys.push(key);
  }
  return keys;
}

/** One in-memory backup bucket per region, sharing a clock. */
export function replicaSet(regions: readonly string[], clock: Clock) {
  const vaults = new Map(
    regions.map((region) => [region, new InMemoryBlobStore({ region, clock })]),
  );
  const replicas: ReplicaTarget[] = regions.map((region) => ({
    region,
    vault: vaults.get(region) as InMemoryBlobStore,
  }));
  const vault = (region: string): InMemoryBlobStore => {
    const found = vaults.get(region);
    if (!found) throw new Error(`test: no vault for ${region}`);
    return found;
  };
  return { vaults: [...vaults.values()], replicas, vault };
}

/** Reads an async iterable of byte pieces into one buffer. */
export async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

/** An async iterable that yields the given pieces, as a streamed body would. */
export async function* streamOf(pieces: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const piece of pieces) yield piece;
}
