import { eventBus, snapshotJob } from '../../shared/composition.ts';
import { findInstance } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { runSnapshots } from '../../shared/domain/snapshot/run.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { OPTION, type SnapshotVerbOptions, type Verb } from '../cli/verb.ts';

/** `lifeboat snapshot [--instance ID]… [--due]`: snapshot now (or only what is due). */
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
  return failed === 0 ? EXIT.ok : EXIT.failed;
}

/** The `snapshot` verb of the command line. */
export const snapshot: Verb = {
  name: 'snapshot',
  summary: 'snapshot instances now (default: every instance)',
  options: [
    { ...OPTION.instance, description: 'an instance to snapshot (default: all)' },
    { flags: '--due', description: 'only instances whose schedule is due' },
  ],
  needsAws: true,
  run: ({ config, options }) => snapshotVerb(config, options),
};
