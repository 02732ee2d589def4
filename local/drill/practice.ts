import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { s3ClientFor } from '../../shared/adapters/aws-clients.ts';
import { ReadOnlyDns } from '../../shared/adapters/practice-identity.ts';
import { instanceStore, practiceDeps } from '../../shared/composition.ts';
import { regionBuckets } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { type PracticeReport, runPractice } from '../../shared/domain/recovery/practice.ts';
import { bucketVersionLines } from '../bucket-versions.ts';
import type { DrillSession } from './session.ts';

/** What the drill's practice found, for its report. */
export interface DrillPractice {
  runId: string;
  instanceId: string;
  target?: string;
  passed: boolean;
  rtoSeconds?: number;
  rpoSeconds?: number;
  dnsByteIdentical: boolean;
  homeByteIdentical: boolean;
  copyRemoved: boolean;
  reason?: string;
}

/**
 * Everything a practice must leave alone, read straight from moto (past the proxies): every
 * record set of the drill's hosted zones, every version of every object in the home region's
 * buckets, and the home instance as its kind's store lists it (API Gateway's documents).
 */
async function untouchable(
  s: DrillSession,
  endpoint: string,
): Promise<{ dns: string; home: string }> {
  const { config, homeRegion } = s.world;
  const route53 = new Route53Client({ region: 'us-east-1', endpoint });
  const zones = [...new Set(config.instances.map((i) => i.dns.hostedZoneId))].sort();
  const sets: unknown[] = [];
  for (const zone of zones)
    sets.push(
      (await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone })))
        .ResourceRecordSets,
    );
  const region = config.regions.find((r) => r.name === homeRegion);
  const home: string[] = [];
  if (region) {
    const s3 = s3ClientFor({ region: homeRegion, endpointUrl: endpoint });
    for (const bucket of Object.values(regionBuckets(config, region))) {
      home.push(...(await bucketVersionLines(s3, bucket)));
    }
  }
  const direct: LifeboatConfig = {
    ...config,
    regions: config.regions.map((r) => ({ ...r, endpointUrl: endpoint })),
  };
  for (const instance of config.instances)
    for (const entry of await instanceStore(direct, homeRegion).list(instance.id))
      home.push(`${instance.id}:${entry.key} ${entry.etag} ${entry.size}`);
  return { dns: JSON.stringify(sets), home: home.sort().join('\n') };
}

/**
 * One practice of the first instance, while home still serves: restored, verified and removed
 * in the region a recovery would choose, as `lifeboat practice` does. The drill checks it
 * passed, removed its copy, and left DNS and home byte-identical.
 */
export async function playPractice(
  s: DrillSession,
  endpoint: string,
): Promise<DrillPractice | undefined> {
  const instance = s.world.config.instances[0];
  if (!instance) return undefined;
  const before = await untouchable(s, endpoint);
  const started = new Date();
  const deps = {
    ...practiceDeps(s.world.config, instance, s.world.controlRegion),
    // The world's own Route 53 (recording every change), read-only.
    dns: new ReadOnlyDns(s.world.recovery.dns),
    verifyAttempts: 20,
  };
  let report: PracticeReport;
  try {
    report = await runPractice(deps, instance, { by: 'drill' });
  } catch (error) {
    s.hold('a practice run passes and removes its copy', false, (error as Error).message);
    return undefined;
  }
  s.mark(
    'practice',
    `${report.runId}: ${instance.id} practised as ${report.practiceId} in ${report.target ?? '?'}; a recovery now would take RTO ${report.rtoSeconds ?? '—'}s (before the DNS change), RPO ${report.rpoSeconds ?? '—'}s`,
    instance.id,
    started,
  );
  const after = await untouchable(s, endpoint);
  const copyLeft = report.target
    ? (await deps.instanceStore(report.target).list(deps.practiceId)).length
    : 0;
  const result: DrillPractice = {
    runId: report.runId,
    instanceId: instance.id,
    ...(report.target ? { target: report.target } : {}),
    passed: report.passed,
    ...(report.rtoSeconds !== undefined ? { rtoSeconds: report.rtoSeconds } : {}),
    ...(report.rpoSeconds !== undefined ? { rpoSeconds: report.rpoSeconds } : {}),
    dnsByteIdentical: after.dns === before.dns,
    homeByteIdentical: after.home === before.home,
    copyRemoved: copyLeft === 0,
    ...(report.reason ? { reason: report.reason } : {}),
  };
  s.hold(
    'a practice run passes and removes its copy',
    result.passed && result.copyRemoved,
    `${report.runId} in ${report.target ?? '?'}: ${report.passed ? 'passed' : `failed: ${report.reason}`}; ${copyLeft} object(s) of ${deps.practiceId} left`,
  );
  s.hold(
    'a practice leaves DNS and home byte-identical',
    result.dnsByteIdentical && result.homeByteIdentical,
    `record sets ${result.dnsByteIdentical ? 'identical' : 'CHANGED'}; ${s.world.homeRegion}'s buckets and instance ${result.homeByteIdentical ? 'identical' : 'CHANGED'}`,
  );
  return result;
}
