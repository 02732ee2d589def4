import { describe, expect, it } from 'vitest';
import { runSeed } from '../../sim/run-seed.ts';

/**
 * Seeds that once broke an invariant, each kept as it failed, with the bug of
 * docs/simulation.md ("Bugs found") that it exposed. A seed draws its world from its number, so
 * a seed here stays the same world only while the simulator draws the same way; when a change
 * of the simulator moves the draws, the entry says so in docs/simulation.md.
 */
const REGRESSIONS: { seed: number; bug: string }[] = [
  {
    seed: 121,
    bug: 'bug 9: every snapshot before the outage failed on one source S3 error or a crash; the plan found none',
  },
  {
    seed: 656,
    bug: 'bug 9: every snapshot before the outage failed on one source S3 error or a crash; the plan found none',
  },
  ...[1004464, 1006512, 1007987, 1009120, 1009194].map((seed) => ({
    seed,
    bug: "bug 10: one S3 error on a replica's root or marker PUT left the only snapshot before the outage in the home region alone",
  })),
  ...[531829, 1005381, 1008397].map((seed) => ({
    seed,
    bug: 'bug 11: a flapping region confirmed down from two drops a minute apart, the answer between them lost or late',
  })),
  {
    seed: 1004091,
    bug: 'bug 12: two invocations of one plan raced for slots; the one that fell short gave back a slot the other counted',
  },
  ...[1013832, 355].map((seed) => ({
    seed,
    bug: 'bug 10b: a crash between the commit-marker PUTs left a quorum of roots marked at home alone; reported committed, so ticks skipped it (1013832) and a failback recorded a final snapshot with no region (355)',
  })),
  {
    seed: 1011288,
    bug: 'bug 13: two resumes of a failed shift raced as home returned; one shifted, the other kept home, and home took writes the failback overwrote',
  },
  ...[2112243, 2021112, 2054433, 2080168].map((seed) => ({
    seed,
    bug: 'bug 14: a step (restore, shift) failed its run on three transient S3 or Route 53 errors within 3 s, leaving recovery to an operator past the RTO',
  })),
  ...[2036451, 2015553].map((seed) => ({
    seed,
    bug: 'bug 15: a single-bucket claim set: one S3 error read the just-recorded run as absent until a Lambda retry minutes later',
  })),
  {
    seed: 1410,
    bug: 'bug 18: a duplicate restore invocation restored the snapshot over the copy the run had shifted to, losing its write and fencing it for good',
  },
  ...[1003368, 1013208, 2005915].map((seed) => ({
    seed,
    bug: 'bug 10b, second part: every snapshot before the outage crashed; nothing to restore, so the plan fails and alerts (the checker no longer asks traffic to move)',
  })),
];

describe('simulator regressions', () => {
  for (const { seed, bug } of REGRESSIONS) {
    it(`holds every invariant on seed ${seed} when replayed (${bug})`, async () => {
      const result = await runSeed(seed);
      expect(result.violations).toEqual([]);
    });
  }
});
