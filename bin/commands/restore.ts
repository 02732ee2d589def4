import { backupVault, instanceStore } from '../../shared/composition.ts';
import { findRegion } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { restoreSnapshot } from '../../shared/domain/snapshot/restore.ts';
import { oneInstance, requiredRegion } from '../cli/args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { OPTION, type SnapshotVerbOptions, type Verb } from '../cli/verb.ts';

/** `lifeboat restore --instance ID --to R [--from R] [--snapshot S] [--fallback]`. */
export async function restoreVerb(
  config: LifeboatConfig,
  options: SnapshotVerbOptions,
): Promise<number> {
  const instance = oneInstance(config, options.instance, 'restore');
  const to = requiredRegion(config, 'restore', 'to', options.to);
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
  return EXIT.ok;
}

/** The `restore` verb of the command line. */
export const restore: Verb = {
  name: 'restore',
  summary: "restore a snapshot into a region's instance store (verifies it first)",
  details:
    'A snapshot that fails verification leaves the target untouched and exits 1 (with --fallback: the newest older one that verifies).',
  options: [
    OPTION.oneInstance,
    { flags: '--to <region>', description: 'the region to restore into (required)' },
    { flags: '--from <region>', description: 'the backup region (default: --to)' },
    { flags: '--snapshot <id>', description: 'the snapshot (default: the newest committed)' },
    { flags: '--fallback', description: 'on a failed verification, use the newest older one' },
  ],
  needsAws: true,
  run: ({ config, options }) => restoreVerb(config, options),
};
