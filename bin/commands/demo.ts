import { startMoto } from '../../local/moto.ts';
import { provisionWorld } from '../../local/provision.ts';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { RegionProxy } from '../../local/tcp-proxy.ts';
import { backupVault, eventBus, instanceStore, snapshotJob } from '../../shared/composition.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { systemClock } from '../../shared/domain/ports.ts';
import { restoreSnapshot, verifySnapshot } from '../../shared/domain/snapshot/restore.ts';
import { runSnapshots, type SnapshotOutcome } from '../../shared/domain/snapshot/run.ts';
import type { SnapshotResult } from '../../shared/domain/snapshot/take-snapshot.ts';
import { readInstanceObjects } from '../../shared/domain/store-contents.ts';
import { wholeNumber } from '../cli/args.ts';
import type { Verb } from '../cli/verb.ts';
import { useLocalEndpoint } from './local.ts';

interface Check {
  name: string;
  held: boolean;
  detail: string;
}

const readAll = (config: LifeboatConfig, region: string, instanceId: string) =>
  readInstanceObjects(instanceStore(config, region), instanceId);

function committed(outcome: SnapshotOutcome | undefined): SnapshotResult {
  if (outcome?.status !== 'committed') {
    throw new Error(
      `snapshot did not commit: ${outcome && 'reason' in outcome ? outcome.reason : 'no outcome'}`,
    );
  }
  return outcome.result;
}

/**
 * The snapshot round trip on a local multi-region world: every region's S3 sits behind its own
 * TCP proxy in front of one moto_server, so "a region is down" is a closed port.
 */
export async function demoCommand(
  baseConfig: LifeboatConfig,
  options: { apis: number },
): Promise<number> {
  const t0 = Date.now();
  const phase = (name: string) =>
    console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${name}`);
  const ownMoto = process.env.AWS_ENDPOINT_URL ? undefined : await startMoto();
  const endpoint = process.env.AWS_ENDPOINT_URL ?? (ownMoto?.endpoint as string);
  useLocalEndpoint(endpoint);
  const motoPort = Number(new URL(endpoint).port);
  const proxies = new Map(
    baseConfig.regions.map((r) => [r.name, new RegionProxy(r.name, motoPort)]),
  );
  const checks: Check[] = [];
  const check = (name: string, held: boolean, detail: string) => {
    checks.push({ name, held, detail });
    console.log(`        ${held ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
  };
  try {
    for (const proxy of proxies.values()) await proxy.up();
    const config: LifeboatConfig = {
      ...baseConfig,
      regions: baseConfig.regions.map((r) => ({ ...r, endpointUrl: proxies.get(r.name)?.url })),
    };
    phase(
      `local AWS at ${endpoint}; one proxy per region: ${[...proxies.values()].map((p) => `${p.name}=:${p.port}`).join(' ')}`,
    );
    await provisionWorld(config);
    const instance = config.instances[0];
    if (!instance) throw new Error('the config has no instance to demonstrate with');
    const source = instanceStore(config, instance.homeRegion);
    const objects = sampleInstanceObjects({ apis: options.apis, seed: 7 });
    await seedInstance(source, instance.id, objects);
    phase(`seeded ${instance.id} in ${instance.homeRegion}: ${objects.size} config objects`);

    const bus = eventBus(config, instance.homeRegion);
    const job = snapshotJob(config, instance);
    const snap = async (at: Date) =>
      committed(
        (await runSnapshots({ jobs: [job], triggerTime: at, force: true, bus, clock: systemClock }))
          .outcomes[0],
      );

    const full = await snap(new Date(Date.now() - 120_000));
    phase(
      `full snapshot ${full.snapshotId}: ${full.objectCount} objects, ${full.packsUploaded} pack PUT(s), ${full.bytesUploaded} B uploaded, ${full.durationMs} ms`,
    );
    check(
      'full snapshot committed in every replica',
      full.regionsCommitted.length === instance.replicaRegions.length,
      full.regionsCommitted.join(', '),
    );

    const changed = [...objects.keys()].filter((_, i) => i % 100 === 0);
    for (const key of changed)
      await source.write(
        instance.id,
        key,
        Buffer.from(`{"changed":"${key}","at":${Date.now()}}\n`),
      );
    const incremental = await snap(new Date(Date.now() - 60_000));
    phase(
      `incremental snapshot ${incremental.snapshotId} after changing ${changed.length} object(s): ${incremental.bytesRead} B read, ${incremental.bytesUploaded} B uploaded in ${incremental.packsUploaded} pack(s)`,
    );
    check(
      'incremental reads only what changed',
      incremental.objectsUnchanged === objects.size - changed.length,
      `${incremental.objectsUnchanged} of ${objects.size} objects not read`,
    );

    const downRegion = instance.replicaRegions.find((r) => r !== instance.homeRegion) as string;
    await proxies.get(downRegion)?.down();
    await source.write(
      instance.id,
      'apis/added-during-outage.json',
      Buffer.from('{"added":true}\n'),
    );
    const degraded = await snap(new Date());
    await proxies.get(downRegion)?.up();
    phase(
      `snapshot ${degraded.snapshotId} with ${downRegion} unreachable: committed in ${degraded.regionsCommitted.join(', ')}`,
    );
    check(
      'an unreachable replica region does not block the quorum',
      degraded.committed && degraded.regionsFailed.some((f) => f.region === downRegion),
      degraded.regionsFailed.map((f) => `${f.region}: ${f.reason.slice(0, 80)}`).join('; '),
    );

    const target =
      config.regions.find((r) => !instance.replicaRegions.includes(r.name))?.name ?? downRegion;
    const from = instance.replicaRegions.find(
      (r) => r !== instance.homeRegion && r !== downRegion,
    ) as string;
    const verified = await verifySnapshot({
      vault: backupVault(config, from),
      instanceId: instance.id,
    });
    check(
      'verify checks every hash without restoring',
      verified.ok,
      `${verified.snapshotId}: ${verified.objects} objects, ${verified.packs} pack(s)`,
    );
    const restored = await restoreSnapshot({
      vault: backupVault(config, from),
      target: instanceStore(config, target),
      instanceId: instance.id,
    });
    phase(
      `restored ${restored.snapshotId} from ${from} into ${target}: ${restored.objectsWritten} objects`,
    );
    const [original, copy] = await Promise.all([
      readAll(config, instance.homeRegion, instance.id),
      readAll(config, target, instance.id),
    ]);
    const mismatched = [...original]
      .filter(([key, body]) => !copy.get(key)?.equals(body))
      .map(([k]) => k);
    check(
      'restore matches the source byte for byte',
      mismatched.length === 0 && original.size === copy.size,
      `${copy.size}/${original.size} objects equal${mismatched.length ? `; differ: ${mismatched.slice(0, 3).join(', ')}` : ''}`,
    );
    const passed = checks.every((c) => c.held);
    phase(
      `snapshot round trip ${passed ? 'PASSED' : 'FAILED'} (${checks.filter((c) => c.held).length}/${checks.length} checks)`,
    );
    return passed ? 0 : 1;
  } finally {
    for (const proxy of proxies.values()) await proxy.down();
    await ownMoto?.stop();
  }
}

/** The `demo` verb of the command line. */
export const demo: Verb = {
  name: 'demo',
  summary: 'the snapshot round trip on a local multi-region world (starts its own moto_server)',
  options: [{ flags: '--apis <n>', description: 'API definitions to seed (default 100)' }],
  needsAws: false,
  run: ({ config, options }) =>
    demoCommand(config, {
      apis: wholeNumber('apis', options.apis as string | undefined, 100, 1, 100_000),
    }),
};
