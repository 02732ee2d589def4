/**
 * One lifeboat operation in a process of its own, so its peak RSS is lifeboat's and not the
 * benchmark harness's. run.ts bundles this file with esbuild (CommonJS, like the Lambda
 * bundles) and runs it with plain Node. The endpoint and fake credentials come from the
 * environment; the last stdout line is the JSON result.
 */
import { s3ClientFor } from '../../shared/adapters/aws-clients.ts';
import { backupVault, eventBus, instanceStore, snapshotJob } from '../../shared/composition.ts';
import { findInstance, loadConfig } from '../../shared/config/load.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { restoreSnapshot } from '../../shared/domain/snapshot/restore.ts';
import { runSnapshots } from '../../shared/domain/snapshot/run.ts';
import { type PhaseReport, type PhaseRequest, RESULT_PREFIX } from './phase-protocol.ts';
import { SdkMeter } from './sdk-meter.ts';

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '{}') as PhaseRequest;
  const config = loadConfig(request.configPath);
  const instance = findInstance(config, request.instanceId);
  const meter = new SdkMeter();
  for (const region of config.regions)
    meter.attach(s3ClientFor({ region: region.name }), region.name);
  const startRssKiB = process.memoryUsage.rss() / 1024;
  meter.start();
  const MiB = 1024 * 1024;
  const memory = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    memory.rss = Math.max(memory.rss, m.rss / MiB);
    memory.heapUsed = Math.max(memory.heapUsed, m.heapUsed / MiB);
    memory.external = Math.max(memory.external, m.external / MiB);
    memory.arrayBuffers = Math.max(memory.arrayBuffers, m.arrayBuffers / MiB);
  };
  const sampler = setInterval(sample, 50);
  const t0 = performance.now();
  let result: unknown;
  if (request.mode === 'snapshot') {
    const summary = await runSnapshots({
      jobs: [snapshotJob(config, instance)],
      triggerTime: new Date(),
      force: true,
      bus: eventBus(config, instance.homeRegion),
      clock: systemClock,
    });
    result = summary.outcomes[0];
  } else {
    result = await restoreSnapshot({
      vault: backupVault(config, request.from),
      target: instanceStore(config, request.into),
      instanceId: instance.id,
    });
  }
  const phaseMs = performance.now() - t0;
  clearInterval(sampler);
  sample();
  const report: PhaseReport = { phaseMs, startRssKiB, tally: meter.stop(), memory, result };
  // Pipes are asynchronous: exit only once the line is out.
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(report)}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
