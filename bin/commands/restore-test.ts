import { restoreTestInput } from '../../shared/composition.ts';
import { findRegion } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { runRestoreTest } from '../../shared/domain/snapshot/restore-test.ts';
import { UsageError } from '../../shared/errors.ts';
import { oneInstance } from '../cli/args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { OPTION, regionOption, type SnapshotVerbOptions, type Verb } from '../cli/verb.ts';

/**
 * `lifeboat restore-test --instance ID [--region R]`: one restore test now, as the scheduled
 * `restoreTest` function runs it (a random replica region unless one is given).
 */
export async function restoreTestVerb(
  config: LifeboatConfig,
  options: SnapshotVerbOptions,
): Promise<number> {
  const instance = oneInstance(config, options.instance, 'restore-test');
  const region = options.region ? findRegion(config, options.region).name : undefined;
  if (region && !instance.replicaRegions.includes(region)) {
    throw new UsageError(
      `restore-test: --region ${region} is not a replica region of ${instance.id} (${instance.replicaRegions.join(', ')})`,
    );
  }
  const result = await runRestoreTest(restoreTestInput(config, instance, { region }));
  const what = result.snapshotId ? `${result.snapshotId} from ${result.region}` : result.region;
  console.log(
    `${instance.id} restore test of ${what}: ${result.objects} objects, ${result.bytes} B, ${(result.durationMs / 1000).toFixed(1)} s: ${result.passed ? 'PASSED' : `FAILED: ${result.reason}`}`,
  );
  return result.passed ? EXIT.ok : EXIT.failed;
}

/** The `restore-test` verb of the command line. */
export const restoreTest: Verb = {
  name: 'restore-test',
  summary: 'restore the newest snapshot into a scratch prefix, check it, delete it',
  details:
    'Publishes "Restore Test Passed" or "Restore Test Failed" and records the result for `lifeboat status`. Exits 1 when the test fails.',
  options: [OPTION.oneInstance, regionOption('the replica region (default: one at random)')],
  needsAws: true,
  run: ({ config, options }) => restoreTestVerb(config, options),
};
