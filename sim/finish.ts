import { sha256Hex } from '../shared/domain/snapshot/format.ts';
import type { SimFunctions } from './functions.ts';
import type { SeedContext } from './seed-context.ts';
import type { EndEntry } from './trace.ts';

/**
 * The end of a seed: an operator resumes every run still marked running (nothing alerted
 * anyone; `lifeboat status` finds it), then the last trace entry says what each instance
 * serves. Returns how many runs were silently stuck.
 */
export async function finishSeed(ctx: SeedContext, functions: SimFunctions): Promise<number> {
  const { config, sched, world, record } = ctx;
  const finalRuns: EndEntry['runs'] = [];
  let silentlyStuck = 0;
  for (const run of [...world.runs.values()].sort((a, b) => (a.runId < b.runId ? -1 : 1))) {
    const entry: EndEntry['runs'][number] = {
      runId: run.runId,
      runKind: run.kind,
      status: run.status,
      ...(run.reason ? { reason: run.reason } : {}),
      ...(run.failedStep ? { failedStep: run.failedStep } : {}),
    };
    if (run.status === 'running') {
      // Nothing alerted anyone (no "Recovery Failed"): an operator finds it with `lifeboat status`.
      silentlyStuck += 1;
      functions.forgetTries(run.runId);
      const resumed = functions.operatorResume(run.runId);
      await sched.runUntil(sched.now + 30 * 60_000, () => undefined);
      const returned = await resumed;
      // What the record says once everything settled, as `lifeboat status` would show it: a
      // resume that another invocation overtook (the chain's own retry, say) returns the run as
      // it was when it stepped aside, not how the other one ended it.
      const settled = world.runs.get(run.runId)?.status;
      const outcome = settled === 'completed' || settled === 'failed' ? settled : returned;
      entry.operatorResume =
        outcome === 'completed' || outcome === 'failed'
          ? outcome
          : outcome === 'running'
            ? 'still-running'
            : 'error';
    }
    finalRuns.push(entry);
  }
  const serving: EndEntry['serving'] = config.instances.map((instance) => {
    const weights = world.dnsRecords.get(instance.id) ?? {};
    const region = Object.entries(weights).sort((a, b) => b[1] - a[1])[0]?.[0];
    const contents: Record<string, string> = {};
    if (region)
      for (const [key, body] of world.objectsOf(region, instance.id))
        contents[key] = sha256Hex(body);
    return { instanceId: instance.id, ...(region ? { region } : {}), contents };
  });
  const snapshots = config.instances.flatMap((instance) =>
    config.regions.flatMap((region) =>
      world
        .committedSnapshots(region.name, instance.id)
        .map((s) => ({ instanceId: instance.id, region: region.name, ...s })),
    ),
  );
  record({ kind: 'end', t: sched.now, runs: finalRuns, serving, snapshots });
  return silentlyStuck;
}
