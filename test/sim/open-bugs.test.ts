import { describe, expect, it } from 'vitest';
import { judge, type OpenBug } from '../../sim/open-bugs.ts';

const BUGS: OpenBug[] = [
  { title: 'slow plan', invariant: 'traffic-leaves-failed-region', seeds: [3, 5] },
];
const traffic = { invariant: 'traffic-leaves-failed-region' as const };
const writes = { invariant: 'failback-keeps-writes' as const };

describe('judge', () => {
  it('counts a listed seed that breaks exactly its bug as known, not failed', () => {
    const verdict = judge(
      [
        { seed: 3, violations: [traffic] },
        { seed: 5, violations: [traffic] },
      ],
      BUGS,
    );
    expect(verdict.failed).toEqual([]);
    expect(verdict.nowPassing).toEqual([]);
    expect(verdict.known.get('slow plan')).toEqual([3, 5]);
  });

  it('fails a listed seed that also breaks another invariant, and any unlisted failing seed', () => {
    const verdict = judge(
      [
        { seed: 3, violations: [traffic, writes] },
        { seed: 4, violations: [traffic] },
        { seed: 5, violations: [traffic] },
      ],
      BUGS,
    );
    expect(verdict.failed).toEqual([3, 4]);
  });

  it('counts a listed seed as known when it breaks only invariants its bug names', () => {
    const lost = { invariant: 'no-write-lost' as const };
    const bugs: OpenBug[] = [
      {
        title: 'lost write',
        invariant: 'no-write-lost',
        alsoBreaks: ['failback-keeps-writes'],
        seeds: [7],
      },
    ];
    const verdict = judge(
      [
        { seed: 7, violations: [writes, lost] },
        { seed: 7, violations: [lost, traffic] },
      ],
      bugs,
    );
    expect(verdict.known.get('lost write')).toEqual([7]);
    expect(verdict.failed).toEqual([7]);
  });

  it('reports a listed seed that passes, so the list cannot outlive its bug', () => {
    const verdict = judge(
      [
        { seed: 3, violations: [] },
        { seed: 6, violations: [] },
      ],
      BUGS,
    );
    expect(verdict.nowPassing).toEqual([3]);
    expect(verdict.failed).toEqual([]);
  });
});
