import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import pLimit from 'p-limit';
import {
  type ChunkLocation,
  EntriesSchema,
  encodeMember,
  FORMAT,
  keys,
  type LayerRefV3,
  LOCATIONS_FORMAT,
  type Locations,
  LocationsSchema,
  type ManifestObject,
  type MemberRef,
  type Root,
  RootSchema,
} from './format.ts';
import { type LayerPlan, planLayers } from './layers.ts';
import { readAllLocations } from './members.ts';
import { PackBuilder } from './pack.ts';
import type { RegionWriter } from './region-writer.ts';
import type { TakeSnapshotInput } from './take-snapshot.ts';

/** What a region's root is written from: the snapshot's identity, its lock and its cache. */
export type SnapshotIdentity = Pick<
  TakeSnapshotInput,
  'instanceId' | 'snapshotId' | 'sourceRegion' | 'objectLock' | 'cache'
>;

/** Object Lock: packs are locked for this many times `days`. */
const PACK_LOCK_FACTOR = 1.5;

export function packRetention(
  rootRetention: { mode: 'GOVERNANCE' | 'COMPLIANCE'; until: Date },
  days: number,
): { mode: 'GOVERNANCE' | 'COMPLIANCE'; until: Date } {
  const extra = (PACK_LOCK_FACTOR - 1) * days * 86_400_000;
  return { mode: rootRetention.mode, until: new Date(rootRetention.until.getTime() + extra) };
}

/** Packs one metadata member alone into a pack of its own and uploads it; undefined on failure. */
async function uploadMember(
  writer: RegionWriter,
  input: SnapshotIdentity,
  raw: Buffer,
): Promise<MemberRef | undefined> {
  const id = createHash('sha256').update(raw).digest('hex');
  const builder = new PackBuilder();
  builder.add({ id, size: raw.length, compressed: gzipSync(raw) });
  const sealed = builder.seal();
  if (!(await writer.upload(sealed, true))) return undefined;
  const at = sealed.locations.get(id) as ChunkLocation;
  await input.cache?.put(id, raw).catch(() => undefined);
  return { id, pack: sealed.id, offset: at.offset, length: at.length, size: at.size };
}

/**
 * Where this region holds the chunks a new layer must locate. A change layer locates only the
 * chunks this run uploaded: every other chunk of its entries is held, so a layer below locates
 * it. A full layer locates every chunk, and a merged one every chunk the change layers it
 * replaces located: those need the previous locations, read here (the only time a writer reads
 * a locations member). Undefined when they cannot be read (the region then fails).
 */
async function knownLocations(
  input: SnapshotIdentity,
  writer: RegionWriter,
  kind: LayerPlan['kind'],
): Promise<Map<string, ChunkLocation> | undefined> {
  const previous = writer.previous;
  if (kind === 'change' || !previous) return writer.written;
  const known = new Map<string, ChunkLocation>(Object.entries(previous.locations ?? {}));
  if (previous.chain) {
    // A merge keeps the full layer, whose locations stay in force: only the others are needed.
    const refs = kind === 'merged' ? previous.chain.refs.slice(1) : previous.chain.refs;
    try {
      const members = await readAllLocations(
        writer.target.vault,
        input.instanceId,
        previous.snapshotId,
        refs,
        input.cache ? { cache: input.cache } : {},
      );
      for (const member of members) {
        for (const [id, location] of Object.entries(member.chunks)) known.set(id, location);
      }
    } catch (error) {
      writer.fail(error);
      return undefined;
    }
  }
  for (const [id, location] of writer.written) known.set(id, location);
  return known;
}

/**
 * Writes a region's new layer (if any) as two metadata packs, its entries member and its
 * locations member; extends the retention of the older packs the snapshot reuses; and returns
 * the root to write. Undefined when the region failed.
 */
export async function writeMetadata(
  input: SnapshotIdentity,
  writer: RegionWriter,
  objects: readonly ManifestObject[],
  meta: {
    digest: string;
    bytesTotal: number;
    createdAt: string;
    retainUntil: () => { mode: 'GOVERNANCE' | 'COMPLIANCE'; until: Date } | undefined;
  },
): Promise<Root | undefined> {
  const previous = writer.previous;
  const plan = planLayers(
    previous?.chain ? { ...previous.chain, objects: previous.objects } : undefined,
    objects,
  );
  const refs: LayerRefV3[] = [...plan.keep];
  let locations: Locations | undefined;
  if (plan.write) {
    const known = await knownLocations(input, writer, plan.kind);
    if (!known) return undefined;
    const chunks: Record<string, ChunkLocation> = {};
    for (const object of plan.write.objects) {
      for (const id of object.chunks) {
        const location = known.get(id);
        if (location) chunks[id] = location;
        // Held and not located here: a layer kept below locates it (never so for a full layer).
        else if (plan.kind === 'full' || !writer.held.has(id)) {
          writer.fail(new Error(`chunk ${id} of ${object.key} has no pack in this region`));
          return undefined;
        }
      }
    }
    locations = { format: LOCATIONS_FORMAT, chunks };
    // The entries member first: it is the same in every region that wrote the same change.
    const entries = await uploadMember(writer, input, encodeMember(plan.write));
    if (!entries) return undefined;
    const located = await uploadMember(writer, input, encodeMember(locations));
    if (!located) return undefined;
    const packs = new Set(Object.values(chunks).map((location) => location.pack));
    packs.add(entries.pack).add(located.pack);
    refs.push({
      entries,
      locations: located,
      objects: plan.write.objects.length,
      deleted: plan.write.deleted.length,
      packs: [...packs].sort(),
    });
  }
  // Every pack the root needs: the union of its layers' packs. A layer's packs stay listed as
  // long as the layer is in the chain, even once a later layer replaced all of its entries: a
  // writer never reads the locations to find out (GC keeps a little more until the next merge).
  const packs = [...new Set(refs.flatMap((ref) => ref.packs))].sort();
  const retain = meta.retainUntil();
  let retainUntil: Record<string, string> | undefined;
  if (retain) {
    retainUntil = await extendRetention(input, writer, packs, retain);
    if (!retainUntil) return undefined;
  }
  const root: Root = {
    format: FORMAT,
    instanceId: input.instanceId,
    snapshotId: input.snapshotId,
    createdAt: meta.createdAt,
    sourceRegion: input.sourceRegion,
    region: writer.region,
    configDigest: meta.digest,
    totals: { objects: objects.length, bytes: meta.bytesTotal },
    layers: refs,
    packs,
    ...(retainUntil ? { retainUntil } : {}),
  };
  // Never commit what a reader would reject (e.g. a key the source listed oddly).
  const issue = [
    RootSchema.safeParse(root),
    ...(plan.write ? [EntriesSchema.safeParse(plan.write)] : []),
    ...(locations ? [LocationsSchema.safeParse(locations)] : []),
  ].find((result) => !result.success)?.error?.issues[0];
  if (issue) {
    writer.fail(
      new Error(`manifest would be unreadable: ${issue.path.join('.')}: ${issue.message}`),
    );
    return undefined;
  }
  return root;
}

/**
 * With Object Lock, every pack a snapshot needs must stay locked at least as long as the
 * snapshot's own root (now + days). Packs are written with now + 1.5 × days; an older pack the
 * snapshot reuses whose lock would end before the root's is extended to now + 1.5 × days (as
 * Kopia's maintenance extends locks). So each pack is extended about once per half period, not
 * on every run. What each pack is known to be locked until is kept in the root. Returns that
 * map, or undefined when the region failed.
 */
async function extendRetention(
  input: SnapshotIdentity,
  writer: RegionWriter,
  packs: readonly string[],
  retain: { mode: 'GOVERNANCE' | 'COMPLIANCE'; until: Date },
): Promise<Record<string, string> | undefined> {
  const lock = input.objectLock as { days: number };
  const known = writer.previous?.root?.retainUntil ?? {};
  const longer = packRetention(retain, lock.days);
  const out: Record<string, string> = {};
  const stale: string[] = [];
  for (const pack of packs) {
    const until = writer.uploaded.get(pack) || known[pack];
    if (until && Date.parse(until) >= retain.until.getTime()) out[pack] = until;
    else stale.push(pack);
  }
  const sorted = () => Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (stale.length === 0) return sorted();
  const vault = writer.target.vault;
  if (!vault.extendRetention) {
    writer.fail(new Error(`${vault.location} cannot extend Object Lock retention`));
    return undefined;
  }
  const limit = pLimit(8);
  try {
    await Promise.all(
      stale.map((pack) =>
        limit(async () => {
          await vault.extendRetention?.(keys.pack(input.instanceId, pack), longer);
          out[pack] = longer.until.toISOString();
          writer.retentionExtended += 1;
        }),
      ),
    );
  } catch (error) {
    writer.fail(error);
    return undefined;
  }
  return sorted();
}
