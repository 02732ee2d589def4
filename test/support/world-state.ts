import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { bucketVersionLines } from '../../local/bucket-versions.ts';
import { regionBuckets } from '../../shared/config/load.ts';
import type { RecoveryWorld } from '../worlds/moto-recovery.ts';

/**
 * What a test compares byte for byte to prove something was left alone: every version and
 * delete marker of a region's buckets (all versioned, so even an identical overwrite shows),
 * and the raw record sets of the world's hosted zones. Read straight from moto, past the proxies.
 */
export async function bucketVersions(
  rw: RecoveryWorld,
  region: string,
  which: readonly ('control' | 'backup' | 'instanceStore')[] = [
    'control',
    'backup',
    'instanceStore',
  ],
): Promise<string[]> {
  const s3 = new S3Client({ region, endpoint: rw.world.endpoint, forcePathStyle: true });
  const configured = rw.config.regions.find((r) => r.name === region);
  if (!configured) throw new Error(`test: no region ${region}`);
  const buckets = regionBuckets(rw.config, configured);
  const out: string[] = [];
  for (const name of which) {
    const bucket = buckets[name];
    out.push(...(await bucketVersionLines(s3, bucket)));
  }
  return out.sort();
}

/** Every record set of every instance's hosted zone, as Route 53 returns them (JSON). */
export async function recordSets(rw: RecoveryWorld): Promise<string> {
  const zones = [...new Set(rw.config.instances.map((i) => i.dns.hostedZoneId))].sort();
  const out: unknown[] = [];
  for (const zone of zones) {
    const page = await rw.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone }));
    out.push(page.ResourceRecordSets);
  }
  return JSON.stringify(out);
}
