import { applyEntries } from './apply-layers.ts';
import type { Entries, LayerRefV3, ManifestObject } from './format.ts';
import { ENTRIES_FORMAT } from './format.ts';

/** A snapshot root references at most this many layers; a longer chain is merged. */
export const MAX_LAYERS = 8;
/**
 * When the changes since the full layer reach this share of it (or the chain is long and a
 * merge would), the run writes a full layer again: restores and cold readers then read about
 * one listing, not a listing and a change log as long as it.
 */
export const FULL_REWRITE_RATIO = 0.5;
/** Below this many entries a change layer is always cheap enough to keep. */
const SMALL_CHANGE = 64;
/**
 * Below this many bytes of the full layer's objects replaced, the packs holding them are not
 * worth a full layer: they stay listed (and kept by GC) until a full layer is written.
 */
const SMALL_REPLACED_BYTES = 8 * 1024 * 1024;

/** The previous committed version-3 snapshot of one region, as the writer read it. */
export interface PreviousLayers {
  refs: readonly LayerRefV3[];
  entries: readonly Entries[];
  /** The entries applied (the previous snapshot's objects, sorted by key). */
  objects: readonly ManifestObject[];
}

/** What one region's new snapshot is made of: kept layer refs, then at most one new layer. */
export interface LayerPlan {
  keep: LayerRefV3[];
  /** The entries member to write, or undefined when nothing changed (the layers are reused). */
  write?: Entries;
  /**
   * full: every entry, no layer kept; change: on top of every previous layer; merged: on top
   * of the full layer only, replacing the change layers above it; unchanged: nothing written.
   */
  kind: 'full' | 'change' | 'merged' | 'unchanged';
}

function sameEntry(a: ManifestObject, b: ManifestObject): boolean {
  return (
    a.size === b.size &&
    a.etag === b.etag &&
    a.sha256 === b.sha256 &&
    a.md5 === b.md5 &&
    a.chunks.length === b.chunks.length &&
    a.chunks.every((id, i) => id === b.chunks[i])
  );
}

function entriesOf(objects: readonly ManifestObject[], deleted: readonly string[]): Entries {
  return { format: ENTRIES_FORMAT, objects: [...objects], deleted: [...deleted] };
}

/** The entries of `objects` that differ from `below`, and the keys of `below` they drop. */
function changeFrom(
  below: readonly ManifestObject[],
  objects: readonly ManifestObject[],
): { changed: ManifestObject[]; deleted: string[] } {
  const before = new Map(below.map((o) => [o.key, o]));
  const changed: ManifestObject[] = [];
  for (const object of objects) {
    const old = before.get(object.key);
    if (!old || !sameEntry(object, old)) changed.push(object);
    before.delete(object.key);
  }
  return { changed, deleted: [...before.keys()].sort() };
}

/**
 * Decides one region's layers from entries alone (never from chunk locations), so that every
 * region whose previous snapshot is the same decides the same and writes the same entries
 * member. `objects` are the new snapshot's entries, sorted by key.
 *
 * - No previous version-3 snapshot: one full layer.
 * - Otherwise a change layer (entries that differ, keys removed) on top of the previous
 *   layers, so an unchanged entry is referenced, not rewritten.
 * - A chain at `MAX_LAYERS` is merged: the full layer stays and one layer replaces the others.
 * - When the changes since the full layer reach `FULL_REWRITE_RATIO` of it, or the objects
 *   replaced since hold that share of its bytes (and 8 MiB), one full layer.
 */
export function planLayers(
  previous: PreviousLayers | undefined,
  objects: readonly ManifestObject[],
): LayerPlan {
  const full = (): LayerPlan => ({ keep: [], write: entriesOf(objects, []), kind: 'full' });
  const [baseRef] = previous?.refs ?? [];
  const [base] = previous?.entries ?? [];
  if (!previous || !baseRef || !base || previous.refs.length !== previous.entries.length) {
    return full();
  }
  const step = changeFrom(previous.objects, objects);
  if (step.changed.length === 0 && step.deleted.length === 0) {
    return { keep: [...previous.refs], kind: 'unchanged' };
  }
  const threshold = Math.max(SMALL_CHANGE, base.objects.length * FULL_REWRITE_RATIO);
  const sinceBase = changeFrom(applyEntries([base]), objects);
  // The full layer's packs stay listed while it is in the chain, also those whose chunks only
  // replaced objects had: once they hold half of its bytes, a full layer lets GC free them.
  const baseBytes = base.objects.reduce((sum, o) => sum + o.size, 0);
  const changedKeys = new Set([...sinceBase.changed.map((o) => o.key), ...sinceBase.deleted]);
  const replacedBytes = base.objects.reduce(
    (sum, o) => (changedKeys.has(o.key) ? sum + o.size : sum),
    0,
  );
  if (replacedBytes > Math.max(SMALL_REPLACED_BYTES, baseBytes * FULL_REWRITE_RATIO)) {
    return full();
  }
  const chained =
    previous.refs.slice(1).reduce((sum, r) => sum + r.objects + r.deleted, 0) +
    step.changed.length +
    step.deleted.length;
  if (previous.refs.length < MAX_LAYERS && chained <= threshold) {
    return {
      keep: [...previous.refs],
      write: entriesOf(step.changed, step.deleted),
      kind: 'change',
    };
  }
  if (sinceBase.changed.length + sinceBase.deleted.length > threshold) return full();
  return {
    keep: [baseRef],
    write: entriesOf(sinceBase.changed, sinceBase.deleted),
    kind: 'merged',
  };
}
