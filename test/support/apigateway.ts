import { gunzipSync, inflateSync } from 'node:zlib';
import { GetObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { type ApiGatewaySample, seedApiGatewayInstance } from '../../local/apigateway-sample.ts';
import { apiGatewayPlane, instanceStore } from '../../shared/composition.ts';
import { findRegion, regionBuckets } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { instanceDigest } from '../../shared/domain/store-contents.ts';
import { CERTIFICATES } from '../worlds/apigateway.ts';
import type { MotoWorld } from '../worlds/moto.ts';
import { regionClient } from './s3.ts';

/** Seeds the rich sample into a region, with a unique domain name per world. */
export async function seedShop(
  world: MotoWorld,
  region = 'us-east-1',
  shape: { apis?: number; resourcesPerApi?: number; methodsPerResource?: number } = {},
): Promise<ApiGatewaySample> {
  return seedApiGatewayInstance(apiGatewayPlane(world.config, region), {
    instanceId: shopId(world),
    apis: shape.apis ?? 2,
    resourcesPerApi: shape.resourcesPerApi ?? 2,
    methodsPerResource: shape.methodsPerResource ?? 2,
    certificateArn: CERTIFICATES[region],
    domainName: `api-${world.config.naming.bucketPrefix}.example.com`,
    keyValue: (api) => `SECRETKEY${world.config.naming.bucketPrefix}${api}ZZZZ`,
  });
}

/** The id of the world's API Gateway instance. */
export function shopId(world: MotoWorld): string {
  return world.config.instances[0]?.id as string;
}

/** The config digest of what an instance store holds, computed as the runtime does. */
export const storeDigest = instanceDigest;

/** The digest of the instance in a region, read fresh through the composition root. */
export function regionDigest(
  config: LifeboatConfig,
  region: string,
  instanceId = config.instances[0]?.id as string,
) {
  return storeDigest(instanceStore(config, region), instanceId);
}

/**
 * Every backup object version in every region, as stored and decompressed where it is
 * compressed: what someone holding the buckets could read.
 */
export async function backupPlaintexts(
  config: LifeboatConfig,
): Promise<{ key: string; text: string }[]> {
  const out: { key: string; text: string }[] = [];
  for (const region of config.regions) {
    const client = regionClient(config, region.name);
    const Bucket = regionBuckets(config, findRegion(config, region.name)).backup;
    const versions = await client.send(new ListObjectVersionsCommand({ Bucket }));
    for (const v of versions.Versions ?? []) {
      const res = await client.send(
        new GetObjectCommand({ Bucket, Key: v.Key, VersionId: v.VersionId }),
      );
      const raw = Buffer.from(await (res.Body?.transformToByteArray() ?? new Uint8Array()));
      const forms = [raw];
      for (const decode of [gunzipSync, inflateSync]) {
        try {
          forms.push(decode(raw));
        } catch {
          // Not in that encoding.
        }
      }
      for (const form of forms)
        out.push({ key: `${region.name}:${v.Key}`, text: form.toString('latin1') });
    }
  }
  return out;
}

/** The forms a secret could take in the clear: as is, base64, JSON-escaped. */
export function clearForms(secret: string): string[] {
  return [secret, Buffer.from(secret).toString('base64'), JSON.stringify(secret).slice(1, -1)];
}
