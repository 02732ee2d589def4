import { gunzipSync } from 'node:zlib';
import type { z } from 'zod';
import { SnapshotIntegrityError } from '../../errors.ts';
import { firstProblem } from '../../validation.ts';
import type { BlobStore, MetadataCache } from '../ports.ts';
import {
  type Entries,
  EntriesSchema,
  keys,
  type Layer,
  type LayerRef,
  type LayerRefV3,
  LayerSchema,
  type Locations,
  LocationsSchema,
  type MemberRef,
  sha256Hex,
} from './format.ts';

// Reading one metadata member of a pack (a v2 layer, v3 entries or locations), checked by the
// pack's hash, the member's hash and its schema; catalog.ts assembles snapshots from them.

/**
 * How a snapshot's metadata members are read: a local cache by content address, and one read
 * per member id for a whole run (catalog.ts `SharedReads` is the one the writers share).
 */
export interface MemberReads {
  cache?: MetadataCache;
  shared?: { member<T>(id: string, read: () => Promise<T>): Promise<T> };
}

/**
 * Reads one gzip member of a pack (a v2 layer, or a v3 entries or locations member): from the
 * cache when it holds the id, else from its pack, whose bytes must hash to the pack id. The
 * member must gunzip to `size` bytes whose SHA-256 is its id. `what` names it in errors.
 */
async function readMemberBytes(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  ref: MemberRef,
  what: 'layer' | 'entries' | 'locations',
  options: MemberReads,
): Promise<{ raw: Buffer; fail: (detail: string, cause?: unknown) => Error }> {
  const packKey = keys.pack(instanceId, ref.pack);
  const name = `${what} ${ref.id} in ${packKey}`;
  const holds = what === 'layer' ? `metadata layer ${ref.id}` : `metadata ${what} ${ref.id}`;
  const fail = (detail: string, cause?: unknown) =>
    new SnapshotIntegrityError(
      instanceId,
      snapshotId,
      [{ kind: 'bad-manifest', name, affectedObjects: [], detail }],
      { cause },
    );
  let raw = await cached(options.cache, ref.id);
  if (!raw) {
    const pack = await vault.get(packKey);
    if (!pack) {
      throw new SnapshotIntegrityError(instanceId, snapshotId, [
        {
          kind: 'missing-pack',
          name: packKey,
          affectedObjects: [],
          detail: `pack object is absent; it holds ${holds}`,
        },
      ]);
    }
    const body = Buffer.from(pack.buffer, pack.byteOffset, pack.byteLength);
    if (sha256Hex(body) !== ref.pack) {
      throw new SnapshotIntegrityError(instanceId, snapshotId, [
        {
          kind: 'corrupt-pack',
          name: packKey,
          affectedObjects: [],
          detail: `pack bytes do not match the pack id; it holds ${holds}`,
        },
      ]);
    }
    const member = body.subarray(ref.offset, ref.offset + ref.length);
    try {
      raw = gunzipSync(member);
    } catch (cause) {
      throw fail('does not decompress', cause);
    }
    if (raw.length !== ref.size || sha256Hex(raw) !== ref.id) {
      throw fail('does not match its SHA-256');
    }
    await options.cache?.put(ref.id, raw).catch(() => undefined);
  }
  return { raw, fail };
}

async function readMember<T>(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  ref: MemberRef,
  what: 'layer' | 'entries' | 'locations',
  schema: z.ZodType<T>,
  options: MemberReads,
): Promise<T> {
  const { raw, fail } = await readMemberBytes(vault, instanceId, snapshotId, ref, what, options);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw fail('not JSON', cause);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const { field, message } = firstProblem(result.error);
    throw fail(field ? `${field}: ${message}` : message, result.error);
  }
  return result.data;
}

/** Reads one version-2 layer (cache first), checked by pack hash, layer hash and schema. */
export function readLayer(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  ref: LayerRef,
  options: MemberReads = {},
): Promise<Layer> {
  return readMember(vault, instanceId, snapshotId, ref, 'layer', LayerSchema, options);
}

/** Reads one version-3 entries member, once per run for every region that names its id. */
export function readEntries(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  ref: MemberRef,
  options: MemberReads = {},
): Promise<Entries> {
  const read = () =>
    readMember(vault, instanceId, snapshotId, ref, 'entries', EntriesSchema, options);
  return options.shared ? options.shared.member(ref.id, read) : read();
}

/** Reads one version-3 locations member (this bucket's; never shared between regions' ids by chance). */
export function readLocations(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  ref: MemberRef,
  options: MemberReads = {},
): Promise<Locations> {
  return readMember(vault, instanceId, snapshotId, ref, 'locations', LocationsSchema, options);
}

/** A cache hit only counts when its bytes still hash to the id: the cache is never trusted. */
async function cached(cache: MetadataCache | undefined, id: string): Promise<Buffer | undefined> {
  if (!cache) return undefined;
  const hit = await cache.get(id).catch(() => undefined);
  if (!hit) return undefined;
  const bytes = Buffer.from(hit.buffer, hit.byteOffset, hit.byteLength);
  return sha256Hex(bytes) === id ? bytes : undefined;
}

/** Every locations member of a version-3 chain, in root order. */
export function readAllLocations(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
  refs: readonly LayerRefV3[],
  options: MemberReads = {},
): Promise<Locations[]> {
  return Promise.all(
    refs.map((ref) => readLocations(vault, instanceId, snapshotId, ref.locations, options)),
  );
}
