import { randomBytes } from 'node:crypto';
import { gunzipSync, inflateSync } from 'node:zlib';
import { GetObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import {
  type ApiGatewaySample,
  accessLogArn,
  seedApiGatewayInstance,
} from '../../local/apigateway-sample.ts';
import { apiGatewayPlane, instanceStore } from '../../shared/composition.ts';
import { findRegion, regionBuckets } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { instanceDigest } from '../../shared/domain/store-contents.ts';
import { regionClient } from './s3.ts';
import { createTestWorld, type TestWorld } from './world.ts';

/** The certificate ARNs of the test domain, one per region. */
export const CERTIFICATES: Record<string, string> = {
  'us-east-1': 'arn:aws:acm:us-east-1:123456789012:certificate/aaaa-1111',
  'us-west-2': 'arn:aws:acm:us-west-2:123456789012:certificate/bbbb-2222',
  'us-east-2': 'arn:aws:acm:us-east-2:123456789012:certificate/cccc-3333',
};

/**
 * A test world with one API Gateway instance homed in us-east-1. Its id is unique, because
 * every test file shares one moto_server and API Gateway is account-wide, not per bucket.
 */
export async function createApiGatewayWorld(
  references: Record<string, Record<string, string>> = {
    'shop-cert': CERTIFICATES,
    'access-logs': Object.fromEntries(Object.keys(CERTIFICATES).map((r) => [r, accessLogArn(r)])),
  },
  options: { hostedZoneId?: string } = {},
): Promise<TestWorld> {
  const id = `shop-${randomBytes(3).toString('hex')}`;
  return createTestWorld({
    instances: [
      {
        id,
        kind: 'apigateway',
        // The tests are the only writers and they write before a failback, not during it.
        apigateway: { references, fenceSettleSeconds: 0 },
        homeRegion: 'us-east-1',
        replicaRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
        dns: { hostedZoneId: options.hostedZoneId ?? 'Z1', recordName: `${id}.example.com` },
        // The REGIONAL custom domain's host in each region: what the weighted records point at.
        endpoints: Object.fromEntries(
          Object.keys(CERTIFICATES).map((r) => [r, { url: `https://${id}.${r}.example.com/` }]),
        ),
      },
    ],
    failback: { canaryPercents: [10, 50, 100], stepSeconds: 0, healthChecksPerStep: 1 },
  });
}

/** Seeds the rich sample into a region, with a unique domain name per world. */
export async function seedShop(
  world: TestWorld,
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
export function shopId(world: TestWorld): string {
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
