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

const slotKey = (region: string, slot: number) =>
  `capacity/${region}/slot-${String(slot).padStart(4, '0')}.json`;

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
  for (let slot = input.firstFreeSlot; slot < input.capacity; slot += 1) {
    const existing = (await input.store.load(slotKey(input.region, slot)))?.value as
      | SlotRecord
      | undefined;
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

/** Slots currently reserved in a region, for planning and `status`. */
export async function reservedSlots(
  store: DocumentStore,
  region: string,
  capacity: number,
): Promise<SlotRecord[]> {
  const out: SlotRecord[] = [];
  for (let slot = 0; slot < capacity; slot += 1) {
    const existing = (await store.load(slotKey(region, slot)))?.value as SlotRecord | undefined;
    if (existing) out.push(existing);
  }
  return out;
}
