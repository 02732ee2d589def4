import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import pLimit from 'p-limit';
import {
  type ChunkLocation,
  FORMAT,
  keys,
  LayerSchema,
  type ManifestObject,
  type Root,
  RootSchema,
} from './format.ts';
import { planLayers } from './layers.ts';
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

/**
 * Writes a region's new layer (if any) in a metadata pack of its own, extends the retention of
 * the older packs the snapshot reuses, and returns the root to write; undefined when the
 * region failed.
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
  const index: Record<string, ChunkLocation> = {};
  for (const object of objects) {
    for (const id of object.chunks) {
      const location = writer.locate(id);
      if (!location) {
        writer.fail(new Error(`chunk ${id} of ${object.key} has no pack in this region`));
        return undefined;
      }
      index[id] = location;
    }
  }
  const plan = planLayers(writer.previousLayers, objects, index);
  const refs = [...plan.keep];
  // Every pack the new root needs: its layers' packs and the packs of its objects' chunks.
  // Entries an upper layer replaced may point into packs GC has since removed; readers never
  // follow them (applying the layers drops them first).
  const needed = new Set(Object.values(index).map((location) => location.pack));
  if (plan.write) {
    const raw = Buffer.from(JSON.stringify(plan.write));
    const builder = new PackBuilder();
    const id = createHash('sha256').update(raw).digest('hex');
    builder.add({ id, size: raw.length, compressed: gzipSync(raw) });
    const sealed = builder.seal();
    if (!(await writer.upload(sealed, true))) return undefined;
    const at = sealed.locations.get(id) as ChunkLocation;
    refs.push({
      id,
      pack: sealed.id,
      offset: at.offset,
      length: at.length,
      size: at.size,
      objects: plan.write.objects.length,
      deleted: plan.write.deleted.length,
    });
    await input.cache?.put(id, raw).catch(() => undefined);
  }
  for (const ref of refs) needed.add(ref.pack);
  const packs = [...needed].sort();
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
  const checked = RootSchema.safeParse(root);
  const layerChecked = plan.write ? LayerSchema.safeParse(plan.write) : undefined;
  const issue = checked.success
    ? layerChecked && !layerChecked.success
      ? layerChecked.error.issues[0]
      : undefined
    : checked.error.issues[0];
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
