import type { Checker, Violation } from './invariants.ts';
import type { TraceEntry } from './trace.ts';

/** The invariants about snapshot data: restores, restore tests and committed snapshots. */

/** A finished restore leaves the target holding exactly the objects the snapshot's manifest lists. */
export class RestoreMatchesSnapshot implements Checker {
  readonly name = 'restore-matches-snapshot' as const;

  observe(entry: TraceEntry): Violation[] {
    if (entry.kind !== 'restored' || entry.storeDigest === entry.manifestDigest) return [];
    return [
      {
        invariant: this.name,
        t: entry.t,
        message: `${entry.runId} restored ${entry.snapshotId} into ${entry.region}, which holds config ${entry.storeDigest.slice(0, 12)}, but the manifest lists ${entry.manifestDigest.slice(0, 12)}`,
      },
    ];
  }
}

/**
 * A restore test touches nothing that serves: it writes and deletes only under its scratch id,
 * never an instance's own objects, and a test that passed has deleted its scratch copy.
 */
export class RestoreTestIsolated implements Checker {
  readonly name = 'restore-test-isolated' as const;

  observe(entry: TraceEntry): Violation[] {
    if (entry.kind !== 'restore-test') return [];
    const out: Violation[] = [];
    const outside = entry.touched.filter((id) => id !== entry.scratchId);
    if (outside.length > 0)
      out.push({
        invariant: this.name,
        t: entry.t,
        message: `the restore test of ${entry.instanceId} wrote into ${outside.join(', ')}, not only its scratch ${entry.scratchId}`,
      });
    if (entry.passed && entry.scratchLeft > 0)
      out.push({
        invariant: this.name,
        t: entry.t,
        message: `the restore test of ${entry.instanceId} passed but left ${entry.scratchLeft} object(s) under ${entry.scratchId} in ${entry.region}`,
      });
    return out;
  }
}

/**
 * A snapshot is whole or invisible: at the end, every committed snapshot in every vault has its
 * root, readable layers and every pack it lists, intact, whatever crashed between its writes.
 */
export class CommittedSnapshotWhole implements Checker {
  readonly name = 'committed-snapshot-whole' as const;

  observe(entry: TraceEntry): Violation[] {
    if (entry.kind !== 'end') return [];
    return (entry.snapshots ?? [])
      .filter((s) => s.problem !== undefined)
      .map((s) => ({
        invariant: this.name,
        t: entry.t,
        message: `${s.instanceId} snapshot ${s.snapshotId} is committed in ${s.region} but unusable: ${s.problem}`,
      }));
  }
}

/**
 * What a snapshot run reports matches the vaults: a snapshot it calls committed is held whole
 * by a quorum of regions, and a scheduled tick skips an instance as "not due" only when its
 * newest snapshot is held so. A snapshot marked in fewer regions (a crash between the marker
 * PUTs) is not done: skipping it would leave the only copy where the next outage strikes
 * (bug 10b).
 */
export class SnapshotKept implements Checker {
  readonly name = 'snapshot-kept' as const;

  observe(entry: TraceEntry): Violation[] {
    if (entry.kind !== 'snapshot-run') return [];
    const out: Violation[] = [];
    for (const outcome of entry.outcomes) {
      if (outcome.heldBy.length >= outcome.quorum) continue;
      const held = `held whole by ${outcome.heldBy.length} of the ${outcome.quorum} regions its quorum needs (${outcome.heldBy.join(', ') || 'none'})`;
      if (outcome.status === 'committed')
        out.push({
          invariant: this.name,
          t: entry.t,
          message: `the snapshot run in ${entry.region} reported ${outcome.instanceId}'s snapshot ${outcome.snapshotId} committed, but it is ${held}`,
        });
      else if (outcome.status === 'skipped' && !entry.force)
        out.push({
          invariant: this.name,
          t: entry.t,
          message: `the snapshot tick in ${entry.region} skipped ${outcome.instanceId} as not due, but its newest snapshot ${outcome.snapshotId ?? '(none)'} is ${held}`,
        });
    }
    return out;
  }
}
