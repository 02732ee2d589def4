import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecoveryVerbIo } from '../../bin/cli/recovery-io.ts';
import { failbackVerb } from '../../bin/commands/failback.ts';
import { failoverVerb } from '../../bin/commands/failover.ts';
import { planVerb } from '../../bin/commands/plan.ts';
import { resumeVerb } from '../../bin/commands/resume.ts';
import { statusVerb } from '../../bin/commands/status.ts';
import { bucketVersionLines } from '../../local/bucket-versions.ts';
import { DEFAULT_CONFIG_PATH, loadConfig, regionBuckets } from '../../shared/config/load.ts';
import type { RegionFailurePlan } from '../../shared/domain/recovery/dry-run.ts';
import type { InstanceControl } from '../../shared/domain/recovery/ports.ts';
import { startRecovery } from '../../shared/domain/recovery/recovery-run.ts';
import { dnsSpecFor, loadRun, type RecoveryDeps } from '../../shared/domain/recovery/run-store.ts';
import type { StatusReport } from '../../shared/domain/recovery/status.ts';
import { UnknownInstanceError, UnknownRegionError, UsageError } from '../../shared/errors.ts';
import { createRecoveryWorld, type RecoveryWorld } from '../worlds/moto-recovery.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let rw: RecoveryWorld;

afterEach(async () => {
  await rw?.close();
});

/** The verbs' output, captured, and the io that captures it. */
function console_(deps: Partial<RecoveryDeps> = rw.deps) {
  const lines: string[] = [];
  const errors: string[] = [];
  const io: RecoveryVerbIo = {
    deps,
    out: (line) => lines.push(line),
    err: (line) => errors.push(line),
    operator: 'tester@ci',
  };
  return { io, lines, errors, text: () => [...lines, ...errors].join('\n') };
}

const petstore = () => {
  const instance = rw.config.instances.find((i) => i.id === 'petstore');
  if (!instance) throw new Error('no petstore');
  return instance;
};

const weights = () => rw.deps.dns.readWeights(dnsSpecFor(petstore()));

/**
 * Everything lifeboat could have written: every version and delete marker of every control,
 * backup and instance-store bucket (all versioned, so even an identical overwrite shows), and
 * petstore's DNS weights. Read straight from moto, past the regions' proxies.
 */
async function worldState() {
  const objects: string[] = [];
  for (const region of rw.config.regions) {
    const s3 = new S3Client({
      region: region.name,
      endpoint: rw.world.endpoint,
      forcePathStyle: true,
    });
    const buckets = regionBuckets(rw.config, region);
    for (const bucket of [buckets.control, buckets.backup, buckets.instanceStore])
      objects.push(...(await bucketVersionLines(s3, bucket)));
  }
  return { objects: objects.sort(), weights: await weights() };
}

describe('lifeboat plan', () => {
  beforeEach(async () => {
    rw = await createRecoveryWorld({ instances: ['petstore'] });
  });

  it('prints us-east-2 as the target and writes nothing when us-east-1 would fail', async () => {
    const before = await worldState();
    const human = console_();
    const machine = console_();

    const code = await planVerb(rw.config, { region: 'us-east-1' }, human.io);
    const jsonCode = await planVerb(
      rw.config,
      { region: 'us-east-1', instance: ['petstore'], json: true, 'from-region': 'us-west-2' },
      machine.io,
    );

    expect(code).toBe(0);
    expect(jsonCode).toBe(0);
    expect(human.text()).toMatch(
      /^petstore\s+us-east-1\s+recover\s+us-east-2 \(choice 1, \d+ km\)/m,
    );
    expect(human.text()).toContain('us-east-1=100');
    const plan = JSON.parse(machine.lines.join('\n')) as RegionFailurePlan;
    expect(plan).toMatchObject({ failedRegion: 'us-east-1', here: 'us-west-2' });
    const [mine] = plan.instances;
    expect(mine).toMatchObject({
      instanceId: 'petstore',
      action: 'recover',
      target: { region: 'us-east-2', rank: 1 },
      snapshot: { region: 'us-east-2' },
      dns: {
        before: { 'us-east-1': 100, 'us-east-2': 0 },
        after: { 'us-east-1': 0, 'us-east-2': 100, 'us-west-2': 0, 'eu-west-1': 0 },
      },
    });
    // The world snapshot was taken five minutes before the plan.
    expect(mine?.rpoSeconds).toBeGreaterThanOrEqual(295);
    expect(mine?.rpoSeconds).toBeLessThan(330);
    expect(before.objects.some((o) => o.includes('/commits/'))).toBe(true);
    expect(await worldState()).toEqual(before);
  });

  it('sends the second instance to the next region when the first takes the last slot', async () => {
    await rw.close();
    rw = await createRecoveryWorld({
      instances: ['petstore', 'orders'],
      capacity: { 'us-east-2': 1 },
    });
    const out = console_();

    const code = await planVerb(
      rw.config,
      { region: 'us-east-1', instance: ['orders'], json: true },
      out.io,
    );

    expect(code).toBe(0);
    const plan = JSON.parse(out.lines.join('\n')) as RegionFailurePlan;
    expect(plan.instances.map((p) => [p.instanceId, p.target?.region])).toEqual([
      ['orders', 'us-west-2'],
    ]);
    expect(plan.instances[0]?.target?.skipped[0]?.reason).toBe('no-capacity');
  });
});

describe('lifeboat failover', () => {
  beforeEach(async () => {
    rw = await createRecoveryWorld({ instances: ['petstore'] });
  });

  it('prints the plan, changes nothing and exits 3 when --approve is missing', async () => {
    await rw.failHome();
    const before = await worldState();
    const out = console_();

    const code = await failoverVerb(
      rw.config,
      { instance: ['petstore'], from: 'us-east-1' },
      out.io,
    );

    expect(code).toBe(3);
    expect(out.text()).toContain('re-run with --approve to execute');
    expect(out.text()).toMatch(/petstore\s+us-east-1\s+recover\s+us-east-2/);
    expect(await worldState()).toEqual(before);
  });

  it('recovers into us-east-2 and points DNS there when approved', async () => {
    await rw.failHome();
    const out = console_();

    const code = await failoverVerb(
      rw.config,
      { instance: ['petstore'], from: 'us-east-1', approve: true },
      out.io,
    );

    expect(code).toBe(0);
    for (const step of ['plan', 'restore', 'verify', 'shift'])
      expect(out.text()).toMatch(new RegExp(`^  ${step}\\s+done in`, 'm'));
    expect(out.text()).toMatch(/completed petstore-g1 .*now serves from us-east-2/);
    expect(out.text()).toContain('RTO from confirmation to traffic shifted');
    expect(await weights()).toEqual({
      'us-east-1': 0,
      'us-east-2': 100,
      'us-west-2': 0,
      'eu-west-1': 0,
    });
    const run = await loadRun(rw.deps, 'petstore-g1', ['us-east-2', 'us-west-2', 'eu-west-1']);
    expect(run?.claimant).toMatch(/^manual:tester@ci:\d{4}-\d\d-\d\dT/);
  });

  it('names the run that owns the outage when a detector already claimed it', async () => {
    await rw.failHome();
    await startRecovery(rw.deps, {
      instance: petstore(),
      failedRegion: 'us-east-1',
      claimant: 'detector-delivery-1',
      incident: { confirmedAt: new Date().toISOString() },
    });
    const out = console_();

    const code = await failoverVerb(
      rw.config,
      { instance: ['petstore'], from: 'us-east-1', approve: true },
      out.io,
    );

    expect(code).toBe(1);
    expect(out.text()).toContain('recovery run petstore-g1 out of us-east-1 is running');
    expect(out.text()).toContain('lifeboat resume --run petstore-g1 --approve');
  });
});

describe('lifeboat status', () => {
  beforeEach(async () => {
    rw = await createRecoveryWorld({ instances: ['petstore'] });
  });

  it('shows the completed run, where petstore runs and its weights after a failover', async () => {
    await rw.failHome();
    await failoverVerb(
      rw.config,
      { instance: ['petstore'], from: 'us-east-1', approve: true },
      console_().io,
    );
    const before = await worldState();
    const human = console_();
    const machine = console_();

    expect(await statusVerb(rw.config, {}, human.io)).toBe(0);
    expect(await statusVerb(rw.config, { instance: ['petstore'], json: true }, machine.io)).toBe(0);

    expect(human.text()).toMatch(
      /^petstore\s+us-east-1\s+us-east-2\s+recovered\s+petstore-g1 recovery completed \(us-east-1 -> us-east-2\)/m,
    );
    expect(human.text()).toContain('eu-west-1=0 us-east-1=0 us-east-2=100 us-west-2=0');
    expect(human.text()).toMatch(/^us-east-2\s+no data\s+2\s+0\s+1\s+1$/m);
    const report = JSON.parse(machine.lines.join('\n')) as StatusReport;
    expect(report.instances[0]).toMatchObject({
      runsIn: ['us-east-2'],
      state: 'recovered',
      latest: { runId: 'petstore-g1', status: 'completed', target: 'us-east-2' },
      dns: { weights: { 'us-east-2': 100, 'us-east-1': 0 } },
    });
    const snapshots = report.instances[0]?.snapshots ?? [];
    expect(snapshots.find((s) => s.region === 'us-east-1')?.error).toBeDefined();
    expect(snapshots.find((s) => s.region === 'us-east-2')?.snapshotId).toMatch(/^\d{8}T\d{6}Z$/);
    expect(report.regions.find((r) => r.region === 'us-east-2')?.reservations).toEqual([
      { slot: 0, runId: 'petstore-g1', instanceId: 'petstore' },
    ]);
    expect(await worldState()).toEqual(before);
  });
});

describe('lifeboat resume', () => {
  beforeEach(async () => {
    rw = await createRecoveryWorld({ instances: ['petstore'] });
  });

  it('completes a run that failed at verify once the target answers again', async () => {
    await rw.failHome();
    // A real fault at the right moment: the target's only zone closes right after the restore
    // activated it, so verify finds nobody answering.
    const real = rw.deps.instances;
    const instances: InstanceControl = {
      activate: async (id, region) => {
        await real.activate(id, region);
        await rw.runtime(id, region).stopZone(`${region}a`);
      },
      health: (id, region) => real.health(id, region),
      fence: (id, region) => real.fence(id, region),
      unfence: (id, region) => real.unfence(id, region),
    };
    const failing = console_({ ...rw.deps, instances });
    const failed = await failoverVerb(
      rw.config,
      { instance: ['petstore'], from: 'us-east-1', approve: true },
      failing.io,
    );
    expect(failed).toBe(1);
    expect(failing.text()).toMatch(/^ {2}verify\s+FAILED after 5 attempt\(s\)/m);
    expect(failing.text()).toContain('lifeboat resume --run petstore-g1 --approve');
    expect(await weights()).toMatchObject({ 'us-east-1': 100, 'us-east-2': 0 });

    await rw.runtime('petstore', 'us-east-2').startZone('us-east-2a');
    const shown = console_();
    const resumed = console_();

    const unapproved = await resumeVerb(rw.config, { run: 'petstore-g1' }, shown.io);
    const code = await resumeVerb(rw.config, { run: 'petstore-g1', approve: true }, resumed.io);

    expect(unapproved).toBe(3);
    expect(shown.text()).toContain('status failed at verify');
    expect(shown.text()).toContain('re-run with --approve to continue from verify');
    expect(code).toBe(0);
    expect(resumed.text()).toMatch(/^ {2}restore\s+already done/m);
    expect(resumed.text()).toMatch(/^ {2}verify\s+done in/m);
    expect(resumed.text()).toContain('completed petstore-g1');
    expect(await weights()).toMatchObject({ 'us-east-1': 0, 'us-east-2': 100 });
  });
});

describe('lifeboat resume of a recovery that kept home', () => {
  it('refuses, naming the home that serves, when home answered before the shift', async () => {
    rw = await createRecoveryWorld({ instances: ['petstore'] });
    // us-east-1 never failed: the shift finds home serving and keeps it.
    const failover = console_();
    await failoverVerb(
      rw.config,
      { instance: ['petstore'], from: 'us-east-1', approve: true },
      failover.io,
    );
    expect(failover.text()).toContain('home kept');
    const resumed = console_();

    const code = await resumeVerb(rw.config, { run: 'petstore-g1', approve: true }, resumed.io);

    expect(code).toBe(1);
    expect(resumed.text()).toContain('kept us-east-1, which came back before the shift');
    expect(resumed.text()).not.toContain('failback');
    expect(await weights()).toMatchObject({ 'us-east-1': 100, 'us-east-2': 0 });
  });
});

describe('lifeboat failback', () => {
  it('brings petstore home in canary steps when approved after us-east-1 returns', async () => {
    rw = await createRecoveryWorld({ instances: ['petstore'] });
    await rw.failHome();
    await failoverVerb(
      rw.config,
      { instance: ['petstore'], from: 'us-east-1', approve: true },
      console_().io,
    );
    await rw.restoreHome();
    const shown = console_();
    const out = console_();

    const unapproved = await failbackVerb(rw.config, { instance: ['petstore'] }, shown.io);
    const code = await failbackVerb(rw.config, { instance: ['petstore'], approve: true }, out.io);

    expect(unapproved).toBe(3);
    expect(shown.text()).toContain('us-east-1=10 -> us-east-1=50 -> us-east-1=100');
    expect(code).toBe(0);
    expect(out.text()).toMatch(/^ {2}release\s+done in .*released slot\(s\) 0 in us-east-2/m);
    expect(out.text()).toContain('completed petstore-g2');
    expect(await weights()).toMatchObject({ 'us-east-1': 100, 'us-east-2': 0 });
  });

  it('returns a region drained by failover gradually when the instance runs active-active', async () => {
    rw = await createRecoveryWorld({ instances: ['payments'], critical: ['payments'] });
    const instance = rw.config.instances[0];
    if (!instance) throw new Error('no instance');
    const spec = dnsSpecFor(instance);
    const drain = console_();
    const back = console_();

    const drained = await failoverVerb(
      rw.config,
      { instance: ['payments'], from: 'us-east-1', approve: true },
      drain.io,
    );
    const afterDrain = await rw.deps.dns.readWeights(spec);
    const returned = await failbackVerb(
      rw.config,
      { instance: ['payments'], approve: true },
      back.io,
    );

    expect(drained).toBe(0);
    expect(drain.text()).toMatch(/^payments\s+us-east-1,us-west-2\s+drain/m);
    expect(afterDrain).toMatchObject({ 'us-east-1': 0, 'us-west-2': 100 });
    expect(await rw.deps.documents('us-west-2').load('runs/payments-g1.json')).toBeUndefined();
    expect(returned).toBe(0);
    const shares = [...back.text().matchAll(/^ {2}.*us-east-1=(\d+).* us-east-1 healthy$/gm)].map(
      (m) => Number(m[1]),
    );
    expect(shares).toEqual([5, 25, 50]);
    expect(await rw.deps.dns.readWeights(spec)).toMatchObject({ 'us-east-1': 50, 'us-west-2': 50 });
  });
});

describe('lifeboat recovery verbs', () => {
  const config = loadConfig(DEFAULT_CONFIG_PATH);

  it('reject each bad argument by name before touching AWS when called directly', async () => {
    await expect(failoverVerb(config, { from: 'us-east-1' })).rejects.toThrow(
      new UsageError('failover: --instance ID is required'),
    );
    await expect(failoverVerb(config, { instance: ['petstore'] })).rejects.toThrow(
      /failover: --from REGION is required/,
    );
    await expect(planVerb(config, { region: 'mars-1' })).rejects.toBeInstanceOf(UnknownRegionError);
    await expect(failbackVerb(config, { instance: ['nope'] })).rejects.toBeInstanceOf(
      UnknownInstanceError,
    );
    await expect(resumeVerb(config, { run: 'petstore' })).rejects.toThrow(/--run: "petstore"/);
    await expect(statusVerb(config, { approve: true })).rejects.toThrow(
      /status: --approve does not apply here/,
    );
    await expect(
      planVerb(config, { region: 'us-east-1', 'from-region': 'us-east-1' }),
    ).rejects.toThrow(/--from-region: us-east-1 is the region being failed over/);
  });

  it('exit 2 with a clear message when run from the command line with bad arguments', async () => {
    const run = async (...args: string[]) => {
      try {
        await promisify(execFile)(
          process.execPath,
          ['--import', 'tsx', 'bin/lifeboat.ts', ...args, '--endpoint-url', 'http://127.0.0.1:9'],
          { cwd: ROOT },
        );
        return { code: 0, stderr: '' };
      } catch (error) {
        const e = error as { code: number; stderr: string };
        return { code: e.code, stderr: e.stderr };
      }
    };

    const noInstance = await run('failover', '--from', 'us-east-1');
    const badRegion = await run('plan', '--region', 'mars-1');

    expect(noInstance).toEqual({
      code: 2,
      stderr: 'lifeboat: failover: --instance ID is required\n',
    });
    expect(badRegion).toEqual({ code: 2, stderr: 'lifeboat: unknown region "mars-1"\n' });
  });
});
