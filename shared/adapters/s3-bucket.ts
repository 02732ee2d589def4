import type { S3Client } from '@aws-sdk/client-s3';

/** One S3 bucket in one region, named in messages as `s3://<bucket> (<region>)`. */
export abstract class S3Bucket {
  readonly location: string;

  constructor(
    protected readonly client: S3Client,
    protected readonly bucket: string,
    region: string,
  ) {
    this.location = `s3://${bucket} (${region})`;
  }
}
