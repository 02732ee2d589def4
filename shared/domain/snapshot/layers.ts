import { applyLayers } from './catalog.ts';
import {
  type ChunkLocation,
  LAYER_FORMAT,
  type Layer,
  type LayerRef,
  type ManifestObject,
} from './format.ts';

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

/** The previous committed snapshot of one region, as the writer read it. */
export interface PreviousLayers {
  refs: readonly LayerRef[];
  layers: readonly Layer[];
}

/** What one region's new snapshot is made of: kept layer refs, then at most one new layer. */
export interface LayerPlan {
  keep: LayerRef[];
  /** The layer to write, or undefined when nothing changed (the previous layers are reused). */
  write?: Layer;
  kind: 'full' | 'change' | 'merged' | 'unchanged';
}

function sameLocation(a: ChunkLocation | undefined, b: ChunkLocation | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.pack === b.pack &&
    a.offset === b.offset &&
    a.length === b.length &&
    a.size === b.size
  );
}

function sameEntry(
  a: ManifestObject,
  b: ManifestObject,
  aAt: Record<string, ChunkLocation>,
  bAt: Record<string, ChunkLocation>,
): boolean {
  return (
    a.size === b.size &&
    a.etag === b.etag &&
    a.sha256 === b.sha256 &&
    a.md5 === b.md5 &&
    a.chunks.length === b.chunks.length &&
    a.chunks.every((id, i) => id === b.chunks[i] && sameLocation(aAt[id], bAt[id]))
  );
}

function layerOf(
  objects: readonly ManifestObject[],
  deleted: readonly string[],
  index: Record<string, ChunkLocation>,
): Layer {
  const chunks: Record<string, ChunkLocation> = {};
  for (const object of objects) {
    for (const id of object.chunks) {
      const location = index[id];
      if (location) chunks[id] = location;
    }
  }
  return { format: LAYER_FORMAT, objects: [...objects], chunks, deleted: [...deleted] };
}

/** The entries of `objects` that differ from `below`, and the keys of `below` they drop. */
function changeFrom(
  below: { objects: ManifestObject[]; chunks: Record<string, ChunkLocation> },
  objects: readonly ManifestObject[],
  index: Record<string, ChunkLocation>,
): { changed: ManifestObject[]; deleted: string[] } {
  const before = new Map(below.objects.map((o) => [o.key, o]));
  const changed: ManifestObject[] = [];
  for (const object of objects) {
    const old = before.get(object.key);
    if (!old || !sameEntry(object, old, index, below.chunks)) changed.push(object);
    before.delete(object.key);
  }
  return { changed, deleted: [...before.keys()].sort() };
}

/**
 * Decides one region's layers. `objects` are the new snapshot's entries (sorted by key) and
 * `index` this region's location of each of their chunks.
 *
 * - No previous version-2 snapshot: one full layer.
 * - Otherwise a change layer (entries that differ, keys removed) on top of the previous
 *   layers, so an unchanged entry is referenced, not rewritten.
 * - A chain at `MAX_LAYERS` is merged: the full layer stays and one layer replaces the others.
 * - When the changes since the full layer reach `FULL_REWRITE_RATIO` of it, one full layer.
 */
export function planLayers(
  previous: PreviousLayers | undefined,
  objects: readonly ManifestObject[],
  index: Record<string, ChunkLocation>,
): LayerPlan {
  const full = (): LayerPlan => ({ keep: [], write: layerOf(objects, [], index), kind: 'full' });
  const [baseRef] = previous?.refs ?? [];
  const [base] = previous?.layers ?? [];
  if (!previous || !baseRef || !base || previous.refs.length !== previous.layers.length) {
    return full();
  }
  const now = applyLayers(previous.layers);
  const step = changeFrom(now, objects, index);
  if (step.changed.length === 0 && step.deleted.length === 0) {
    return { keep: [...previous.refs], kind: 'unchanged' };
  }
  const threshold = Math.max(SMALL_CHANGE, base.objects.length * FULL_REWRITE_RATIO);
  const chained =
    previous.refs.slice(1).reduce((sum, r) => sum + r.objects + r.deleted, 0) +
    step.changed.length +
    step.deleted.length;
  if (previous.refs.length < MAX_LAYERS && chained <= threshold) {
    return {
      keep: [...previous.refs],
      write: layerOf(step.changed, step.deleted, index),
      kind: 'change',
    };
  }
  const sinceBase = changeFrom(applyLayers([base]), objects, index);
  if (sinceBase.changed.length + sinceBase.deleted.length > threshold) return full();
  return {
    keep: [baseRef],
    write: layerOf(sinceBase.changed, sinceBase.deleted, index),
    kind: 'merged',
  };
}
