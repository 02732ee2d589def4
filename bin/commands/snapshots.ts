import { backupVault, eventBus, instanceStore, snapshotJob } from '../../shared/composition.ts';
import { findInstance, findRegion } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { listCommittedSnapshotIds } from '../../shared/domain/snapshot/catalog.ts';
import { restoreSnapshot, verifySnapshot } from '../../shared/domain/snapshot/restore.ts';
import { collectGarbage } from '../../shared/domain/snapshot/retention.ts';
import { runSnapshots } from '../../shared/domain/snapshot/run.ts';
import { UsageError } from '../../shared/errors.ts';

/** Parsed options shared by the snapshot verbs. */
export interface SnapshotVerbOptions {
  instance?: string[];
  region?: string;
  from?: string;
  to?: string;
  snapshot?: string;
  fallback?: boolean;
  due?: boolean;
  'dry-run'?: boolean;
}

function oneInstance(config: LifeboatConfig, options: SnapshotVerbOptions, verb: string) {
  const ids = options.instance ?? [];
  if (ids.length !== 1) throw new UsageError(`lifeboat ${verb}: give exactly one --instance`);
  return findInstance(config, ids[0] as string);
}

/** `lifeboat snapshot`: snapshot now (or only what is due, with --due). */
export async function snapshotVerb(
  config: LifeboatConfig,
  options: SnapshotVerbOptions,
): Promise<number> {
  const ids = options.instance?.length ? options.instance : config.instances.map((i) => i.id);
  const jobs = ids.map((id) => snapshotJob(config, findInstance(config, id)));
  const home = config.regions[0]?.name as string;
  const summary = await runSnapshots({
    jobs,
    triggerTime: new Date(),
    force: !options.due,
    bus: eventBus(config, home),
    clock: systemClock,
  });
  let failed = 0;
  for (const outcome of summary.outcomes) {
    if (outcome.status === 'committed') {
      const r = outcome.result;
      console.log(
        `${r.instanceId}: committed ${r.snapshotId} in ${r.regionsCommitted.join(', ')} (quorum ${r.quorum}); ` +
          `${r.objectCount} objects, ${r.bytesTotal} B, uploaded ${r.bytesUploaded} B in ${r.packsUploaded} pack(s), ${r.durationMs} ms` +
          (r.regionsFailed.length
            ? `; failed: ${r.regionsFailed.map((f) => `${f.region} (${f.reason})`).join(', ')}`
            : ''),
      );
    } else if (outcome.status === 'skipped') {
      console.log(
        `${outcome.instanceId}: skipped, ${outcome.reason} (last ${outcome.lastSnapshotId})`,
      );
    } else {
      failed += 1;
      console.log(`${outcome.instanceId}: FAILED, ${outcome.reason}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

/** `lifeboat snapshots`: committed snapshots per replica region. */
export async function listVerb(
  config: LifeboatConfig,
  options: SnapshotVerbOptions,
): Promise<number> {
  const instance = oneInstance(config, options, 'snapshots');
  const regions = options.region
    ? [findRegion(config, options.region).name]
    : instance.replicaRegions;
  for (const region of regions) {
    try {
      const ids = await listCommittedSnapshotIds(backupVault(config, region), instance.id);
      console.log(`${region}: ${ids.length ? ids.join(' ') : '(none)'}`);
    } catch (error) {
      console.log(`${region}: unreachable (${(error as Error).message})`);
    }
  }
  return 0;
}

/** `lifeboat verify`: check a snapshot without restoring it. */
export async function verifyVerb(
  config: LifeboatConfig,
  options: SnapshotVerbOptions,
): Promise<number> {
  const instance = oneInstance(config, options, 'verify');
  const region = findRegion(config, options.region ?? instance.homeRegion).name;
  const report = await verifySnapshot({
    vault: backupVault(config, region),
    instanceId: instance.id,
    snapshotId: options.snapshot,
  });
  console.log(
    `${instance.id} ${report.snapshotId} in ${region}: ${report.objects} objects, ${report.bytes} B, ${report.packs} pack(s): ${report.ok ? 'OK' : 'FAILED'}`,
  );
  for (const p of report.problems) {
    console.log(`  ${p.kind} ${p.name}: ${p.detail}; affects ${p.affectedObjects.join(', ')}`);
  }
  return report.ok ? 0 : 1;
}

/** `lifeboat restore`: restore into a region's instance store. */
export async function restoreVerb(
  config: LifeboatConfig,
  options: SnapshotVerbOptions,
): Promise<number> {
  const instance = oneInstance(config, options, 'restore');
  if (!options.to) throw new UsageError('lifeboat restore: --to REGION is required');
  const to = findRegion(config, options.to).name;
  const from = findRegion(config, options.from ?? to).name;
  const result = await restoreSnapshot({
    vault: backupVault(config, from),
    target: instanceStore(config, to),
    instanceId: instance.id,
    snapshotId: options.snapshot,
    fallbackToPrevious: options.fallback,
  });
  for (const s of result.skipped) {
    console.log(
      `skipped ${s.snapshotId}: ${s.problems.map((p) => `${p.kind} ${p.name}`).join('; ')}`,
    );
  }
  console.log(
    `restored ${instance.id} ${result.snapshotId} from ${from} into ${to}: ${result.objectsWritten} written, ` +
      `${result.objectsUnchanged} already in place, ${result.objectsDeleted} deleted; config digest ${result.configDigest}`,
  );
  return 0;
}

/** `lifeboat gc`: apply retention in every replica region. */
export async function gcVerb(
  config: LifeboatConfig,
  options: SnapshotVerbOptions,
): Promise<number> {
  const instance = oneInstance(config, options, 'gc');
  for (const region of instance.replicaRegions) {
    const report = await collectGarbage({
      vault: backupVault(config, region),
      instanceId: instance.id,
      policy: instance.snapshot.retention,
      clock: systemClock,
      dryRun: options['dry-run'],
    });
    console.log(
      `${region}: keep ${report.keptSnapshots.length}, ${report.dryRun ? 'would delete' : 'deleted'} ` +
        `${report.expiredSnapshots.length} snapshot(s), ${report.abandonedManifests.length} abandoned manifest(s), ${report.packs.length} pack(s)`,
    );
  }
  return 0;
}
