/**
 * The peer of every lifeboat function in the bundle and cold-start benchmarks: the smallest
 * useful Lambda handler with the AWS SDK v3, one S3 client and one call. Bundled with the same
 * esbuild options as lifeboat's functions, it is the floor that tree-shaken SDK clients allow.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

// Module scope, as in lifeboat's adapters: built once per container.
const s3 = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });

/** Lists at most one key of HELLO_BUCKET. */
export const handler = async (): Promise<{ keys: number }> => {
  const page = await s3.send(
    new ListObjectsV2Command({ Bucket: process.env.HELLO_BUCKET, MaxKeys: 1 }),
  );
  return { keys: page.KeyCount ?? 0 };
};
