import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { WriteConflictError } from '../../errors.ts';
import type { DocumentStore, VersionedDocument } from '../ports.ts';

/** A slot held by a run in a region's control bucket. */
export interface SlotRecord {
  region: string;
  slot: number;
  runId: string;
  instanceId: string;
  reservedAt: string;
  /** The reservation call that last counted the slot (see `reserveSlots`). */
  holder?: string;
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
 * What a slot key holds once a reservation that fell short gave it back: free for anyone, and
 * taken by a compare-and-swap on its version. It is written, not deleted, so that the give-back
 * itself can be conditional (see `reserveSlots`).
 */
interface FreedSlot {
  region: string;
  slot: number;
  freedAt: string;
}

const isHeld = (value: unknown): value is SlotRecord =>
  typeof (value as Partial<SlotRecord> | undefined)?.runId === 'string';

/** Tries per slot: each lost race is followed by a fresh read, so a slot settles quickly. */
const SLOT_TRIES = 4;

/**
 * Reserves `units` slots for a run in one region's control bucket. A free slot is taken with a
 * conditional write (`If-None-Match: *`, or the version of a given-back slot), so two
 * recoveries can never hold the same slot. Slots below `firstFreeSlot` belong to the instances
 * homed in the region. Idempotent for one run: a retry finds the slots it already holds. A run
 * that cannot get all its units gives back the ones it took, so a half reservation never
 * blocks another run.
 *
 * Two invocations of one run can reserve at once (a duplicate delivery, a Lambda retry), and a
 * slot names the run, not the invocation, so each counts the other's slots as its own. A call
 * that falls short must then never give back a slot that the other, successful, call counts
 * on (bug 12 of docs/simulation.md: it did, and another recovery took the slot while the run's
 * reservation still named it). So counting a slot the run already holds rewrites it with this
 * call's `holder` (compare-and-swap), and a call gives back only a slot it wrote itself, by a
 * compare-and-swap on the version it wrote: once anyone else has counted the slot, that
 * version is gone and the slot stays. The price: when both calls fall short, a slot that one
 * wrote and the other counted stays held by the run (no other run can take it) until the run's
 * release gives it back, or for good when the run never reserves it.
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
  /** Names this call in the slots it counts (default: a random id). */
  holder?: string;
  /**
   * Where the search for free slots begins (default: `firstFreeSlot`); it wraps round to
   * `firstFreeSlot`. Plans that run at once each start at a slot of their own (see
   * `preferredSlot`), so they do not all race for the first free one.
   */
  startSlot?: number;
}): Promise<Reservation> {
  const { store, region } = input;
  const holder = input.holder ?? randomUUID();
  const states = await slotStates(store, region, input.capacity);
  const counted: number[] = [];
  const wrote: { slot: number; version: string }[] = [];
  for (const slot of searchOrder(input, states)) {
    if (counted.length >= input.units) break;
    const key = slotKey(region, slot);
    let known = states.get(slot);
    for (let attempt = 1; attempt <= SLOT_TRIES; attempt += 1) {
      const value = known?.value;
      // Another run's: try the next slot.
      if (isHeld(value) && value.runId !== input.runId) break;
      try {
        if (isHeld(value)) {
          // Already the run's (another invocation, or an earlier attempt): count it, and make
          // its writer's give-back fail from now on.
          await store.save(key, { ...value, holder }, known?.version);
          counted.push(slot);
        } else {
          const record: SlotRecord = {
            region,
            slot,
            runId: input.runId,
            instanceId: input.instanceId,
            reservedAt: input.at,
            holder,
          };
          wrote.push({ slot, version: await store.save(key, record, known?.version) });
          counted.push(slot);
        }
        break;
      } catch (error) {
        if (!(error instanceof WriteConflictError)) throw error;
        known = await store.load(key);
      }
    }
  }
  if (counted.length >= input.units)
    return { ok: true, region, slots: counted.slice(0, input.units) };
  for (const { slot, version } of wrote) {
    const freed: FreedSlot = { region, slot, freedAt: input.at };
    try {
      await store.save(slotKey(region, slot), freed, version);
    } catch (error) {
      // Counted by another invocation of the run since we wrote it: it is theirs to keep.
      if (!(error instanceof WriteConflictError)) throw error;
    }
  }
  return { ok: false, region, free: counted.length, needed: input.units };
}

/**
 * The order slots are tried in: the ones the run already holds first (a retry counts them
 * before it takes any other), then every other slot from `startSlot` round to just below it.
 */
function searchOrder(
  input: { firstFreeSlot: number; capacity: number; runId: string; startSlot?: number },
  states: Map<number, VersionedDocument>,
): number[] {
  const { firstFreeSlot, capacity } = input;
  const size = capacity - firstFreeSlot;
  if (size <= 0) return [];
  const own = [...states]
    .filter(
      ([slot, doc]) =>
        slot >= firstFreeSlot && isHeld(doc.value) && doc.value.runId === input.runId,
    )
    .map(([slot]) => slot)
    .sort((a, b) => a - b);
  const start = ((((input.startSlot ?? firstFreeSlot) - firstFreeSlot) % size) + size) % size;
  const mine = new Set(own);
  const rest = Array.from({ length: size }, (_, i) => firstFreeSlot + ((start + i) % size)).filter(
    (slot) => !mine.has(slot),
  );
  return [...own, ...rest];
}

/**
 * A run's first-choice slot in a region, so that plans made at once do not all race for the
 * same free slot (the k-th of them would lose k compare-and-swaps, slot after slot): each
 * instance starts where the instances listed before it in the config, homed elsewhere, would
 * end if each took its units in turn. Only a first choice: a taken slot is skipped as ever.
 */
export function preferredSlot(
  instances: readonly { id: string; homeRegion: string; capacityUnits: number }[],
  instanceId: string,
  region: string,
  firstFreeSlot: number,
): number {
  let offset = 0;
  for (const instance of instances) {
    if (instance.id === instanceId) break;
    if (instance.homeRegion !== region) offset += instance.capacityUnits;
  }
  return firstFreeSlot + offset;
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
 * instance (docs/benchmarks.md, "Drill"). A slot given back (`FreedSlot`) is free.
 */
export async function reservedSlots(
  store: DocumentStore,
  region: string,
  capacity: number,
): Promise<SlotRecord[]> {
  return [...(await slotStates(store, region, capacity)).values()]
    .map((doc) => doc.value)
    .filter(isHeld)
    .sort((a, b) => a.slot - b.slot);
}

/** Every slot key of the region below `capacity`, read with its version (slot → document). */
async function slotStates(
  store: DocumentStore,
  region: string,
  capacity: number,
): Promise<Map<number, VersionedDocument>> {
  const slots = (await store.list(slotPrefix(region)))
    .map((key) => ({ key, slot: slotOfKey(region, key) }))
    .filter((k): k is { key: string; slot: number } => k.slot !== undefined && k.slot < capacity);
  const limit = pLimit(SLOT_READ_CONCURRENCY);
  const docs = await Promise.all(
    slots.map(({ key, slot }) => limit(async () => ({ slot, doc: await store.load(key) }))),
  );
  // A slot released between the listing and its read is simply free.
  return new Map(
    docs.flatMap(({ slot, doc }) => (doc ? [[slot, doc] as [number, VersionedDocument]] : [])),
  );
}

/** The slot number a key names, or undefined for a key that is not a slot of `region`. */
function slotOfKey(region: string, key: string): number | undefined {
  const match = /^slot-(\d{4,})\.json$/.exec(key.slice(slotPrefix(region).length));
  return match ? Number(match[1]) : undefined;
}
