import { backupVault } from '../../shared/composition.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { collectGarbage } from '../../shared/domain/snapshot/retention.ts';
import { oneInstance } from '../cli/args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { OPTION, type SnapshotVerbOptions, type Verb } from '../cli/verb.ts';

/** `lifeboat gc --instance ID [--dry-run]`: apply retention in every replica region. */
export async function gcVerb(
  config: LifeboatConfig,
  options: SnapshotVerbOptions,
): Promise<number> {
  const instance = oneInstance(config, options.instance, 'gc');
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
  return EXIT.ok;
}

/** The `gc` verb of the command line. */
export const gc: Verb = {
  name: 'gc',
  summary: 'apply snapshot retention in every replica region',
  options: [OPTION.oneInstance, OPTION.dryRun],
  needsAws: true,
  run: ({ config, options }) => gcVerb(config, options),
};
