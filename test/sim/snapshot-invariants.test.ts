import { describe, expect, it } from 'vitest';
import { checkTrace } from '../../sim/invariants.ts';
import {
  CommittedSnapshotWhole,
  RestoreMatchesSnapshot,
  RestoreTestIsolated,
  SnapshotKept,
} from '../../sim/snapshot-invariants.ts';
import type { TraceEntry } from '../../sim/trace.ts';

const MIN = 60_000;

describe('RestoreMatchesSnapshot', () => {
  const restored = (storeDigest: string): TraceEntry => ({
    kind: 'restored',
    t: MIN,
    runId: 'shop-g1',
    region: 'b',
    snapshotId: '20261125T060000Z',
    storeDigest,
    manifestDigest: 'f'.repeat(64),
  });

  it('reports a target whose config differs from the manifest', () => {
    expect(checkTrace([restored('e'.repeat(64))], [new RestoreMatchesSnapshot()])).toHaveLength(1);
  });

  it('reports nothing when they match', () => {
    expect(checkTrace([restored('f'.repeat(64))], [new RestoreMatchesSnapshot()])).toEqual([]);
  });
});

describe('RestoreTestIsolated', () => {
  const scratchId = '_lifeboat-restore-test/shop';
  const test = (fields: {
    passed: boolean;
    touched: string[];
    scratchLeft: number;
  }): TraceEntry => ({
    kind: 'restore-test',
    t: MIN,
    instanceId: 'shop',
    region: 'b',
    scratchId,
    ...fields,
  });

  it("reports a restore test that wrote into the instance's own objects", () => {
    const violations = checkTrace(
      [test({ passed: false, touched: ['shop', scratchId], scratchLeft: 0 })],
      [new RestoreTestIsolated()],
    );
    expect(violations.map((v) => v.message)).toEqual([
      `the restore test of shop wrote into shop, not only its scratch ${scratchId}`,
    ]);
  });

  it('reports a passed restore test that left its scratch copy behind', () => {
    expect(
      checkTrace(
        [test({ passed: true, touched: [scratchId], scratchLeft: 2 })],
        [new RestoreTestIsolated()],
      ),
    ).toHaveLength(1);
  });

  it('reports nothing for a clean pass, or a failed test that could not clean up', () => {
    expect(
      checkTrace(
        [
          test({ passed: true, touched: [scratchId], scratchLeft: 0 }),
          test({ passed: false, touched: [scratchId], scratchLeft: 3 }),
        ],
        [new RestoreTestIsolated()],
      ),
    ).toEqual([]);
  });
});

describe('CommittedSnapshotWhole', () => {
  const end = (problem?: string): TraceEntry => ({
    kind: 'end',
    t: MIN,
    runs: [],
    serving: [],
    snapshots: [
      { instanceId: 'shop', region: 'a', snapshotId: '20261125T060000Z' },
      {
        instanceId: 'shop',
        region: 'b',
        snapshotId: '20261125T060000Z',
        ...(problem ? { problem } : {}),
      },
    ],
  });

  it('reports a committed snapshot whose pack is gone, naming region and snapshot', () => {
    expect(
      checkTrace([end('pack abc is absent')], [new CommittedSnapshotWhole()]).map((v) => v.message),
    ).toEqual([
      'shop snapshot 20261125T060000Z is committed in b but unusable: pack abc is absent',
    ]);
  });

  it('reports nothing when every committed snapshot is whole', () => {
    expect(checkTrace([end()], [new CommittedSnapshotWhole()])).toEqual([]);
  });
});

describe('SnapshotKept', () => {
  const tick = (
    outcome: { status: 'skipped' | 'committed' | 'failed'; heldBy: string[] },
    force = false,
  ): TraceEntry => ({
    kind: 'snapshot-run',
    t: MIN,
    region: 'a',
    force,
    outcomes: [{ instanceId: 'shop', snapshotId: '20261125T060000Z', quorum: 2, ...outcome }],
  });
  const check = (entry: TraceEntry) =>
    checkTrace([entry], [new SnapshotKept()]).map((v) => v.message);

  it('reports a snapshot reported committed that fewer regions than its quorum hold', () => {
    expect(check(tick({ status: 'committed', heldBy: ['a'] }))).toEqual([
      "the snapshot run in a reported shop's snapshot 20261125T060000Z committed, but it is held whole by 1 of the 2 regions its quorum needs (a)",
    ]);
  });

  it('reports a tick that skips an instance whose newest snapshot is under quorum (bug 10b)', () => {
    expect(check(tick({ status: 'skipped', heldBy: ['a'] }))[0]).toContain(
      'skipped shop as not due',
    );
  });

  it('reports nothing for a quorum-held snapshot, a failed one, or a forced run', () => {
    expect(check(tick({ status: 'committed', heldBy: ['a', 'b'] }))).toEqual([]);
    expect(check(tick({ status: 'skipped', heldBy: ['b', 'c'] }))).toEqual([]);
    expect(check(tick({ status: 'failed', heldBy: [] }))).toEqual([]);
    expect(check(tick({ status: 'skipped', heldBy: [] }, true))).toEqual([]);
  });
});
