import { backupVault } from '../../shared/composition.ts';
import { findRegion } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { verifySnapshot } from '../../shared/domain/snapshot/restore.ts';
import { oneInstance } from '../cli/args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { OPTION, regionOption, type SnapshotVerbOptions, type Verb } from '../cli/verb.ts';

/** `lifeboat verify --instance ID [--region R] [--snapshot S]`: check without restoring. */
export async function verifyVerb(
  config: LifeboatConfig,
  options: SnapshotVerbOptions,
): Promise<number> {
  const instance = oneInstance(config, options.instance, 'verify');
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
  return report.ok ? EXIT.ok : EXIT.failed;
}

/** The `verify` verb of the command line. */
export const verify: Verb = {
  name: 'verify',
  summary: 'check every hash of a snapshot without restoring it',
  details: 'Exits 1 when the snapshot fails verification, naming each problem.',
  options: [
    OPTION.oneInstance,
    regionOption('the backup region (default: the home region)'),
    { flags: '--snapshot <id>', description: 'the snapshot (default: the newest committed)' },
  ],
  needsAws: true,
  run: ({ config, options }) => verifyVerb(config, options),
};
