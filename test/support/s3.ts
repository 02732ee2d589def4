import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3ClientFor } from '../../shared/adapters/aws-clients.ts';
import { instanceStore } from '../../shared/composition.ts';
import { findRegion, regionBuckets } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { readInstanceObjects } from '../../shared/domain/store-contents.ts';

/** The SDK client the adapters use for a region, so tests can count or break its requests. */
export function regionClient(config: LifeboatConfig, region: string): S3Client {
  const r = findRegion(config, region);
  return s3ClientFor({ region: r.name, endpointUrl: r.endpointUrl });
}

/** Every key in a bucket (direct SDK call, independent of the adapters). */
export async function allKeys(
  config: LifeboatConfig,
  region: string,
  kind: 'backup' | 'instanceStore' | 'control',
) {
  const bucket = regionBuckets(config, findRegion(config, region))[kind];
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await regionClient(config, region).send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
    token = page.NextContinuationToken;
  } while (token);
  return out.sort();
}

export async function getBytes(
  config: LifeboatConfig,
  region: string,
  kind: 'backup' | 'instanceStore',
  key: string,
) {
  const bucket = regionBuckets(config, findRegion(config, region))[kind];
  const res = await regionClient(config, region).send(
    new GetObjectCommand({ Bucket: bucket, Key: key }),
  );
  return Buffer.from(await (res.Body?.transformToByteArray() ?? new Uint8Array()));
}

export async function putBytes(
  config: LifeboatConfig,
  region: string,
  kind: 'backup' | 'instanceStore',
  key: string,
  body: Uint8Array,
) {
  const bucket = regionBuckets(config, findRegion(config, region))[kind];
  await regionClient(config, region).send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }),
  );
}

/** An instance's whole configuration in a region, key → bytes. */
export async function readInstance(config: LifeboatConfig, region: string, instanceId: string) {
  return readInstanceObjects(instanceStore(config, region), instanceId);
}

/** Counts requests by command name on a client until `stop()` is called. */
export function countRequests(client: S3Client) {
  const counts = new Map<string, number>();
  const name = `count-${Math.random().toString(36).slice(2)}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      counts.set(command, (counts.get(command) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name },
  );
  return {
    counts,
    get: (command: string) => counts.get(command) ?? 0,
    stop: () => client.middlewareStack.remove(name),
  };
}
