import { WriteConflictError } from '../../errors.ts';
import type { DocumentStore } from '../ports.ts';

/**
 * Exactly-once claims across regions, with nothing but S3 conditional writes.
 *
 * A claim is written with `If-None-Match: *` to the same key in the control bucket of every
 * region of a claim set. Each bucket keeps exactly one writer's record, so at most one claimant
 * can hold a majority of the set. The set is derived from the config and from the region being
 * left, so every claimant (a detector in each region, a retry, an operator) computes the same set.
 */

/** A claim as stored: who holds it, and the set whose majority decides. */
export interface ClaimRecord {
  key: string;
  /** Stable per logical attempt (e.g. the triggering event's id), so a retry recognises its own claim. */
  claimant: string;
  claimSet: string[];
  claimedAt: string;
  payload: Record<string, unknown>;
}

/** How a claim attempt ended. */
export type ClaimOutcome =
  | { outcome: 'won'; record: ClaimRecord; holders: Record<string, string> }
  | { outcome: 'lost'; winner: ClaimRecord; holders: Record<string, string> }
  | { outcome: 'undecided'; holders: Record<string, string> };

/**
 * The regions that vote on a claim: every configured region except those excluded (the failed
 * one), sorted, cut to the largest odd number so a vote can never split evenly.
 */
export function claimSet(regions: readonly string[], excluded: readonly string[]): string[] {
  const eligible = [...new Set(regions)].filter((r) => !excluded.includes(r)).sort();
  const size = eligible.length % 2 === 1 ? eligible.length : eligible.length - 1;
  return eligible.slice(0, Math.max(size, 0));
}

/** Rounds of a claim's writes and reads while it is undecided for want of answers. */
const CLAIM_ATTEMPTS = 3;

/** Votes needed in a set. */
export const majorityOf = (set: readonly string[]) => Math.floor(set.length / 2) + 1;

function asRecord(value: unknown): ClaimRecord | undefined {
  const v = value as Partial<ClaimRecord> | undefined;
  if (!v || typeof v.claimant !== 'string' || !Array.isArray(v.claimSet)) return undefined;
  return v as ClaimRecord;
}

/**
 * Tries to take `record.key` in every region of its claim set. Idempotent for one claimant: a
 * retry that finds its own records counts them as won. `undecided` means no claimant holds a
 * majority yet (regions unreachable); the caller retries later rather than guessing.
 */
export async function claim(
  record: ClaimRecord,
  storeOf: (region: string) => DocumentStore,
  sleep: (ms: number) => Promise<void> = async () => {},
): Promise<ClaimOutcome> {
  const holders: Record<string, string> = {};
  const byClaimant = new Map<string, ClaimRecord>();
  const takeIn = async (region: string): Promise<void> => {
    const store = storeOf(region);
    try {
      await store.save(record.key, record, undefined);
      holders[region] = record.claimant;
      byClaimant.set(record.claimant, record);
      return;
    } catch (error) {
      if (!(error instanceof WriteConflictError)) {
        holders[region] = 'unreachable';
        return;
      }
    }
    try {
      const existing = asRecord((await store.load(record.key))?.value);
      holders[region] = existing?.claimant ?? 'unreadable';
      if (existing) byClaimant.set(existing.claimant, existing);
    } catch {
      holders[region] = 'unreachable';
    }
  };
  await Promise.all(record.claimSet.map(takeIn));
  let outcome = decide(record, holders, byClaimant);
  // Undecided because buckets did not answer (a claim set can be a single bucket): both calls
  // are safe to repeat (a create that took effect before its answer was lost conflicts on the
  // retry, and the read then finds this claimant's own record), so they are retried in place
  // rather than costing the whole delivery a Lambda retry a minute later (sim seed 2036451).
  for (let retry = 1; retry < CLAIM_ATTEMPTS && outcome.outcome === 'undecided'; retry += 1) {
    const unreachable = record.claimSet.filter((r) => holders[r] === 'unreachable');
    if (unreachable.length === 0) break;
    await sleep(200 * 2 ** retry);
    await Promise.all(unreachable.map(takeIn));
    outcome = decide(record, holders, byClaimant);
  }
  return outcome;
}

/** The outcome the holders known so far give. */
function decide(
  record: ClaimRecord,
  holders: Record<string, string>,
  byClaimant: Map<string, ClaimRecord>,
): ClaimOutcome {
  const needed = majorityOf(record.claimSet);
  const votes = (claimant: string) => Object.values(holders).filter((h) => h === claimant).length;
  if (votes(record.claimant) >= needed) {
    return { outcome: 'won', record: byClaimant.get(record.claimant) ?? record, holders };
  }
  for (const [claimant, winner] of byClaimant) {
    if (claimant !== record.claimant && votes(claimant) >= needed)
      return { outcome: 'lost', winner, holders };
  }
  const tieWinner = splitVoteWinner(record.claimSet, holders, byClaimant);
  if (tieWinner) {
    return tieWinner.claimant === record.claimant
      ? { outcome: 'won', record: tieWinner, holders }
      : { outcome: 'lost', winner: tieWinner, holders };
  }
  return { outcome: 'undecided', holders };
}

/**
 * With three or more claimants every bucket can go to a different one and nobody reaches a
 * majority. Claims are never overwritten, so once every bucket of the set is known the vote
 * is final and the same for every reader: the smallest claimant id among the holders wins.
 * While any bucket is unknown, nothing is decided.
 */
function splitVoteWinner(
  set: readonly string[],
  holders: Record<string, string>,
  records: Map<string, ClaimRecord>,
): ClaimRecord | undefined {
  const held = set.map((region) => holders[region]);
  if (held.some((h) => h === undefined || h === 'unreachable' || h === 'unreadable'))
    return undefined;
  const smallest = [...new Set(held as string[])].sort()[0];
  return smallest ? records.get(smallest) : undefined;
}

/**
 * Reads a claim without trying to take it: the record a majority of its set holds, if any.
 * Regions are read from the `candidates` given, since the set is only known from the record.
 */
export async function readClaim(
  key: string,
  candidates: readonly string[],
  storeOf: (region: string) => DocumentStore,
): Promise<ClaimRecord | undefined> {
  const holders: Record<string, string> = {};
  const records = new Map<string, ClaimRecord>();
  await Promise.all(
    candidates.map(async (region) => {
      try {
        const record = asRecord((await storeOf(region).load(key))?.value);
        if (record) {
          holders[region] = record.claimant;
          records.set(record.claimant, record);
        }
      } catch {
        // Unreachable regions simply do not vote.
      }
    }),
  );
  for (const record of records.values()) {
    const votes = Object.values(holders).filter((h) => h === record.claimant).length;
    if (votes >= majorityOf(record.claimSet)) return record;
  }
  const any = records.values().next().value;
  return any ? splitVoteWinner(any.claimSet, holders, records) : undefined;
}
