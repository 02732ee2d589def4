import { describe, expect, it } from 'vitest';
import { driveClaim } from '../../../../bin/cli/drive.ts';
import { EXIT } from '../../../../bin/cli/exit-codes.ts';
import type { RecoveryContext } from '../../../../bin/cli/recovery-io.ts';
import { recoveryWorld } from '../../../worlds/recovery.ts';

function context() {
  const world = recoveryWorld();
  const out: string[] = [];
  const err: string[] = [];
  const ctx: RecoveryContext = {
    config: world.config,
    here: 'us-west-2',
    deps: world.deps,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    operator: 'tester@host',
  };
  return { world, ctx, out, err };
}

describe('driveClaim', () => {
  it('says it claimed the run and drives it when the claim was won', async () => {
    const { world, ctx, out, err } = context();
    const run = await world.recover();

    const code = await driveClaim(ctx, 'failover', 'manual:me', { outcome: 'resumed', run });

    expect(code).toBe(EXIT.ok);
    expect(out[0]).toBe(`claimed ${run.runId} as manual:me`);
    expect(out.filter((l) => l.includes('already done'))).toHaveLength(4);
    expect(out).toContainEqual(expect.stringMatching(new RegExp(`^completed ${run.runId} in `)));
    expect(err).toEqual([]);
  });

  it('names the owner and how to look at its run when the claim was lost and a hint is asked for', async () => {
    const { ctx, err } = context();

    const code = await driveClaim(
      ctx,
      'failover',
      'manual:me',
      { outcome: 'duplicate', runId: 'petstore-g1', claimant: 'delivery-a' },
      { resumeHint: true },
    );

    expect(code).toBe(EXIT.failed);
    expect(err).toEqual([
      'lifeboat failover: claim lost: run petstore-g1 owns this generation (claimant delivery-a; no run record readable yet)',
      'see it with: lifeboat resume --run petstore-g1',
    ]);
  });

  it('refuses in one line when the claim was lost and no hint is asked for', async () => {
    const { ctx, err } = context();

    const code = await driveClaim(ctx, 'failback', 'manual:me', {
      outcome: 'duplicate',
      runId: 'petstore-g2',
    });

    expect(code).toBe(EXIT.failed);
    expect(err).toEqual([
      'lifeboat failback: claim lost: run petstore-g2 owns this generation (claimant unknown claimant; no run record readable yet)',
    ]);
  });

  it('lists the holders when no majority decided the claim', async () => {
    const { ctx, out, err } = context();

    const code = await driveClaim(ctx, 'failback', 'manual:me', {
      outcome: 'undecided',
      holders: { 'us-east-1': 'a', 'us-west-2': 'b' },
    });

    expect(code).toBe(EXIT.failed);
    expect(out).toEqual([]);
    expect(err).toEqual([
      'lifeboat failback: no majority for the claim (us-east-1: a, us-west-2: b); retry when more regions answer',
    ]);
  });
});
