import { backupVault, instanceStore } from '../../shared/composition.ts';
import { findRegion } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { apiNames, partialRestoreKeys } from '../../shared/domain/apigateway/partial.ts';
import { readSnapshotObjects, restoreSnapshot } from '../../shared/domain/snapshot/restore.ts';
import { UsageError } from '../../shared/errors.ts';
import { oneInstance, requiredRegion } from '../cli/args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { OPTION, type SnapshotVerbOptions, type Verb } from '../cli/verb.ts';

/** `lifeboat restore --instance ID --to R [--from R] [--snapshot S] [--fallback] [--api NAME]`. */
export async function restoreVerb(
  config: LifeboatConfig,
  options: SnapshotVerbOptions,
): Promise<number> {
  const instance = oneInstance(config, options.instance, 'restore');
  const to = requiredRegion(config, 'restore', 'to', options.to);
  const from = findRegion(config, options.from ?? to).name;
  const vault = backupVault(config, from);
  let only: Set<string> | undefined;
  let snapshotId = options.snapshot;
  if (options.api !== undefined) {
    if (instance.kind !== 'apigateway') {
      throw new UsageError(
        `restore: --api is for apigateway instances; ${instance.id} is ${instance.kind}`,
      );
    }
    if (options.fallback) throw new UsageError('restore: --api and --fallback do not go together');
    const snapshot = await readSnapshotObjects({ vault, instanceId: instance.id, snapshotId });
    only = partialRestoreKeys(snapshot.objects, options.api);
    if (only.size === 0) {
      throw new UsageError(
        `restore: --api: snapshot ${snapshot.snapshotId} of ${instance.id} has no REST API "${options.api}" (it has: ${apiNames(snapshot.objects).join(', ') || 'none'})`,
      );
    }
    snapshotId = snapshot.snapshotId;
  }
  const result = await restoreSnapshot({
    vault,
    target: instanceStore(config, to),
    instanceId: instance.id,
    snapshotId,
    fallbackToPrevious: options.fallback,
    ...(only ? { only } : {}),
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
    {
      flags: '--api <name>',
      description: 'apigateway instances: restore this REST API and what refers only to it',
    },
  ],
  needsAws: true,
  run: ({ config, options }) => restoreVerb(config, options),
};
