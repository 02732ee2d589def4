import { type _Object, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { toDomainError } from './s3-errors.ts';

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

  /**
   * Every object under `prefix`, page by page, as `entry` maps it (undefined: not listed). A
   * failure is a domain error naming the prefix.
   */
  protected async listUnder<T>(
    prefix: string,
    entry: (item: _Object) => T | undefined,
  ): Promise<T[]> {
    const out: T[] = [];
    try {
      for await (const page of paginateListObjectsV2(
        { client: this.client },
        { Bucket: this.bucket, Prefix: prefix },
      )) {
        for (const item of page.Contents ?? []) {
          const mapped = entry(item);
          if (mapped !== undefined) out.push(mapped);
        }
      }
    } catch (error) {
      throw toDomainError(error, this.location, prefix);
    }
    return out;
  }
}
