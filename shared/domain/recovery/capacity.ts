import pLimit from 'p-limit';
import { WriteConflictError } from '../../errors.ts';
import type { DocumentStore } from '../ports.ts';

/** A slot held by a run in a region's control bucket. */
export interface SlotRecord {
  region: string;
  slot: number;
  runId: string;
  instanceId: string;
  reservedAt: string;
}

/** What a reservation attempt got. */
export type Reservation =
  | { ok: true; region: string; slots: number[] }
  | { ok: false; region: string; free: number; needed: number };

const slotPrefix = (region: string) => `capacity/${region}/`;
const slotKey = (region: string, slot: number) =>
  `${slotPrefix(region)}slot-${String(slot).padStart(4, '0')}.json`;

/** Slot reads in flight at once: a planner reads every taken slot of three or more regions. */
const SLOT_READ_CONCURRENCY = 16;

/**
 * Reserves `units` slots for a run in one region's control bucket, each slot a key written
 * with `If-None-Match: *`, so two recoveries can never hold the same slot. Slots below
 * `firstFreeSlot` belong to the instances homed in the region. Idempotent for one run: a
 * retry finds the slots it already holds. A run that cannot get all its units gives back
 * the ones it took, so a half reservation never blocks another run.
 */
export async function reserveSlots(input: {
  store: DocumentStore;
  region: string;
  capacity: number;
  firstFreeSlot: number;
  units: number;
  runId: string;
  instanceId: string;
  at: string;
  release: (key: string) => Promise<void>;
}): Promise<Reservation> {
  const held: number[] = [];
  const free: number[] = [];
  const taken = new Map(
    (await reservedSlots(input.store, input.region, input.capacity)).map((r) => [r.slot, r]),
  );
  for (let slot = input.firstFreeSlot; slot < input.capacity; slot += 1) {
    const existing = taken.get(slot);
    if (!existing) free.push(slot);
    else if (existing.runId === input.runId) held.push(slot);
  }
  for (const slot of free) {
    if (held.length >= input.units) break;
    const record: SlotRecord = {
      region: input.region,
      slot,
      runId: input.runId,
      instanceId: input.instanceId,
      reservedAt: input.at,
    };
    try {
      await input.store.save(slotKey(input.region, slot), record, undefined);
      held.push(slot);
    } catch (error) {
      // Another run took this slot between our read and our write: try the next one.
      if (!(error instanceof WriteConflictError)) throw error;
    }
  }
  if (held.length >= input.units)
    return { ok: true, region: input.region, slots: held.slice(0, input.units) };
  for (const slot of held) await input.release(slotKey(input.region, slot));
  return { ok: false, region: input.region, free: held.length, needed: input.units };
}

/** Gives a run's slots back (failback done, or a recovery abandoned). */
export async function releaseSlots(input: {
  region: string;
  slots: readonly number[];
  release: (key: string) => Promise<void>;
}): Promise<void> {
  for (const slot of input.slots) await input.release(slotKey(input.region, slot));
}

/**
 * Slots currently reserved in a region, for planning and `status`: one listing of the region's
 * slot keys, then a read of each taken slot (in parallel), rather than a read of every possible
 * slot. At capacity 100 the one-read-per-slot scan cost the planner 400 sequential GETs per
 * instance (docs/benchmarks.md, "Drill").
 */
export async function reservedSlots(
  store: DocumentStore,
  region: string,
  capacity: number,
): Promise<SlotRecord[]> {
  const keys = (await store.list(slotPrefix(region))).filter((key) => {
    const slot = slotOfKey(region, key);
    return slot !== undefined && slot < capacity;
  });
  const limit = pLimit(SLOT_READ_CONCURRENCY);
  const records = await Promise.all(
    keys.map((key) => limit(async () => (await store.load(key))?.value as SlotRecord | undefined)),
  );
  // A slot released between the listing and its read is simply free.
  return records.filter((r): r is SlotRecord => r !== undefined).sort((a, b) => a.slot - b.slot);
}

/** The slot number a key names, or undefined for a key that is not a slot of `region`. */
function slotOfKey(region: string, key: string): number | undefined {
  const match = /^slot-(\d{4,})\.json$/.exec(key.slice(slotPrefix(region).length));
  return match ? Number(match[1]) : undefined;
}
