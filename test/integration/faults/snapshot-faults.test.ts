import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProxiedCall } from '../../../local/fault-proxy.ts';
import { sampleInstanceObjects, seedInstance } from '../../../local/sample-instance.ts';
import { backupVault, eventBus, instanceStore, snapshotJob } from '../../../shared/composition.ts';
import type { LifeboatConfig } from '../../../shared/config/schema.ts';
import { systemClock } from '../../../shared/domain/ports.ts';
import { listCommittedSnapshotIds, readManifest } from '../../../shared/domain/snapshot/catalog.ts';
import { keys, snapshotIdFor } from '../../../shared/domain/snapshot/format.ts';
import { verifySnapshot } from '../../../shared/domain/snapshot/restore.ts';
import { runSnapshots, type SnapshotRunSummary } from '../../../shared/domain/snapshot/run.ts';
import { createFaultWorld } from '../../worlds/faults.ts';
import { expectEveryCaseHit, faultCases, planOf } from './fault-cases.ts';

/**
 * Every S3 and EventBridge call of a scheduled snapshot run (incremental, three replica
 * regions, quorum two), broken one at a time, in every way the fault proxy knows, once and
 * persistently. After each: nothing half-written is visible, the previous snapshot is intact,
 * and the run, retried with the fault gone, commits everywhere.
 */

const REPLICAS = ['us-east-1', 'us-east-2', 'us-west-2'];
const PREVIOUS = new Date('2026-11-25T05:00:00Z');
const NOW = new Date('2026-11-25T06:00:00Z');
const noBus = { publish: async () => undefined };

const world = await createFaultWorld();
afterAll(() => world.close());

let caseNumber = 0;

function instanceDef(id: string) {
  return {
    id,
    homeRegion: 'us-east-1',
    replicaRegions: REPLICAS,
    // Keeps the previous snapshot through retention, so "untouched" is checkable.
    snapshot: { retention: { last: 3 } },
    dns: { hostedZoneId: world.hostedZoneId, recordName: `${id}.example.test` },
    endpoints: { 'us-east-1': { url: 'http://127.0.0.1:9/' } },
  };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function jobOf(config: LifeboatConfig) {
  const instance = config.instances[0];
  if (!instance) throw new Error('no instance');
  return snapshotJob(config, instance);
}

/** A fresh instance with one committed snapshot, then changed, ready for the run under test. */
async function prepare() {
  caseNumber += 1;
  const id = `s${caseNumber}`;
  const config = world.configFor([instanceDef(id)]);
  const direct = world.directConfigFor([instanceDef(id)]);
  const objects = sampleInstanceObjects({ apis: 1, seed: caseNumber });
  const home = instanceStore(direct, 'us-east-1');
  await seedInstance(home, id, objects);
  await runSnapshots({
    jobs: [jobOf(direct)],
    triggerTime: PREVIOUS,
    force: true,
    bus: noBus,
    clock: systemClock,
  });
  const previous = await verifySnapshot({
    vault: backupVault(direct, 'us-east-1'),
    instanceId: id,
    snapshotId: snapshotIdFor(PREVIOUS),
  });
  // One edit and one new object: the run under test has packs to upload, not only a manifest.
  const edited = new Map(objects);
  edited.set('apis/api-0000.json', Buffer.from(`{"edited":${caseNumber}}\n`));
  edited.set('apis/added.json', Buffer.from(`{"added":${caseNumber}}\n`));
  await seedInstance(
    home,
    id,
    new Map([...edited].filter(([key]) => key.endsWith('0000.json') || key.endsWith('added.json'))),
  );
  const expected = Object.fromEntries([...edited].map(([key, body]) => [key, sha256(body)]));
  return { id, config, direct, expected, previousDigest: previous.configDigest };
}

/**
 * The run under test, with the bus of the home region behind the fault proxy too. It runs
 * cold (no local metadata cache, as a Lambda cold start): so its calls include the read of
 * the previous snapshot's entries member, once for the three regions, from the source region.
 */
function runUnderTest(config: LifeboatConfig): Promise<SnapshotRunSummary> {
  const { cache: _warm, ...cold } = jobOf(config);
  return runSnapshots({
    jobs: [cold],
    triggerTime: NOW,
    force: true,
    bus: eventBus(config, 'us-east-1'),
    clock: systemClock,
  });
}

/**
 * What a reader can see, checked straight on moto: every committed snapshot verifies (manifest,
 * packs, chunk hashes), a commit marker exists only where a quorum of regions holds the
 * manifest, the previous snapshot is untouched, and the new one (where committed) is exactly
 * the source.
 */
async function checkVisible(
  direct: LifeboatConfig,
  id: string,
  expected: Record<string, string>,
  previousDigest: string,
): Promise<string[]> {
  const committedIn: string[] = [];
  const manifestsIn: string[] = [];
  const newId = snapshotIdFor(NOW);
  for (const region of REPLICAS) {
    const vault = backupVault(direct, region);
    const ids = await listCommittedSnapshotIds(vault, id);
    expect(ids, `${region}: previous snapshot still committed`).toContain(snapshotIdFor(PREVIOUS));
    for (const snapshotId of ids) {
      const report = await verifySnapshot({ vault, instanceId: id, snapshotId });
      expect(report.problems, `${region} ${snapshotId}: verifies`).toEqual([]);
      if (snapshotId === snapshotIdFor(PREVIOUS)) {
        expect(report.configDigest, `${region}: previous digest`).toBe(previousDigest);
      }
    }
    if (ids.includes(newId)) {
      committedIn.push(region);
      const manifest = await readManifest(vault, id, newId);
      expect(
        Object.fromEntries(manifest.objects.map((o) => [o.key, o.sha256])),
        `${region}: committed snapshot equals the source`,
      ).toEqual(expected);
    }
    if ((await vault.get(keys.manifest(id, newId))) !== undefined) manifestsIn.push(region);
  }
  if (committedIn.length > 0) {
    expect(
      manifestsIn.length,
      'a commit marker only after a quorum of manifests',
    ).toBeGreaterThanOrEqual(2);
  }
  return committedIn;
}

// The clean run, counted: the call indexes every case aims at.
const counted = await prepare();
world.proxy.setPlan(undefined);
const cleanSummary = await runUnderTest(counted.config);
const cleanCalls: readonly ProxiedCall[] = [...world.proxy.calls()];
const cleanCounts = world.proxy.counts();

const cases = faultCases(cleanCounts, ['s3', 'eventbridge']);

/** What each case hit, for docs/fault-injection.md. */
const hits: { name: string; hit: string; outcome: string }[] = [];

describe('the snapshot path, clean', () => {
  it('commits in every replica region and calls S3 and EventBridge through the proxy', async () => {
    expect(cleanSummary.outcomes[0]?.status).toBe('committed');
    expect(cleanCounts.s3).toBeGreaterThan(10);
    expect(cleanCounts.eventbridge).toBe(1);
    expect(
      cleanCalls.some((c) => c.operation === 'PutObject' && c.path.includes('/commits/')),
    ).toBe(true);
    const committedIn = await checkVisible(
      counted.direct,
      counted.id,
      counted.expected,
      counted.previousDigest,
    );
    expect(committedIn).toEqual(REPLICAS);
  });
});

describe('the snapshot path under one injected fault', () => {
  it.for(cases)(
    'never shows a partial snapshot and commits on retry: $kind $mode at $service call $index',
    async (c) => {
      const { id, config, direct, expected, previousDigest } = await prepare();
      world.proxy.setPlan(planOf(c));
      const summary = await runUnderTest(config);
      world.proxy.clearFaults();
      const hit = world.proxy.calls().find((call) => call.fault !== undefined);
      const outcome = summary.outcomes[0];
      hits.push({
        name: `${c.kind} ${c.mode} ${c.service}#${c.index}`,
        hit: hit ? `${hit.operation} ${hit.region} ${hit.path.replace(/\?.*/, '')}` : 'none',
        outcome: outcome?.status ?? 'none',
      });

      // The run reports, it does not crash: committed with a quorum, or failed with a reason.
      expect(outcome?.status === 'committed' || outcome?.status === 'failed').toBe(true);
      if (outcome?.status === 'committed')
        expect(outcome.result.regionsCommitted.length).toBeGreaterThanOrEqual(2);
      if (outcome?.status === 'failed') expect(outcome.reason).not.toBe('');
      // A lost event is reported; only a bus that keeps failing may lose it.
      if (!(c.service === 'eventbridge' && c.mode === 'persistent'))
        expect(summary.unpublished).toEqual([]);
      else expect(summary.unpublished.map((u) => u.instanceId)).toEqual([id]);
      const committedIn = await checkVisible(direct, id, expected, previousDigest);
      // Every region reported committed really is. A marker whose acknowledgement was lost is
      // visible (and verifies) without being reported: under-reporting, never over-reporting.
      if (outcome?.status === 'committed')
        expect(committedIn).toEqual(expect.arrayContaining(outcome.result.regionsCommitted));
      else expect(committedIn).toEqual([]);

      // The same trigger again (a scheduler's retry), the fault gone: committed everywhere.
      const retry = await runUnderTest(config);
      const retried = retry.outcomes[0];
      expect(retried?.status).toBe('committed');
      expect(await checkVisible(direct, id, expected, previousDigest)).toEqual(REPLICAS);
    },
  );
});

describe('the fault suite itself', () => {
  it('hit a call in every case', () => {
    expectEveryCaseHit({ counts: cleanCounts, calls: cleanCalls }, hits);
  });
});
