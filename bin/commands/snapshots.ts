import { backupVault } from '../../shared/composition.ts';
import { findRegion } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { listCommittedSnapshotIds } from '../../shared/domain/snapshot/catalog.ts';
import { oneInstance } from '../cli/args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { OPTION, regionOption, type SnapshotVerbOptions, type Verb } from '../cli/verb.ts';

/** `lifeboat snapshots --instance ID [--region R]`: committed snapshots per replica region. */
export async function listVerb(
  config: LifeboatConfig,
  options: SnapshotVerbOptions,
): Promise<number> {
  const instance = oneInstance(config, options.instance, 'snapshots');
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
  return EXIT.ok;
}

/** The `snapshots` verb of the command line. */
export const snapshots: Verb = {
  name: 'snapshots',
  summary: 'list committed snapshots per replica region',
  options: [OPTION.oneInstance, regionOption('one replica region (default: every replica)')],
  needsAws: true,
  run: ({ config, options }) => listVerb(config, options),
};
