import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { DocumentStore, VersionedDocument } from '../domain/ports.ts';
import { AlreadyExistsError, CorruptStateError, WriteConflictError } from '../errors.ts';
import { S3Bucket } from './s3-bucket.ts';
import { isNotFound, toDomainError } from './s3-errors.ts';

/** JSON documents in a control bucket, versioned by ETag, written with S3 conditional writes. */
export class S3DocumentStore extends S3Bucket implements DocumentStore {
  async load(key: string): Promise<VersionedDocument | undefined> {
    let text: string;
    let version: string;
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      text = (await response.Body?.transformToString()) ?? '';
      version = response.ETag ?? '';
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toDomainError(error, this.location, key);
    }
    try {
      return { value: JSON.parse(text), version };
    } catch (cause) {
      throw new CorruptStateError(`${this.location} ${key}`, 'not JSON', { cause });
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw toDomainError(error, this.location, prefix);
    }
    return keys.sort();
  }

  async save(key: string, value: unknown, expectedVersion: string | undefined): Promise<string> {
    const body = Buffer.from(JSON.stringify(value));
    try {
      const response = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          ...(expectedVersion === undefined ? { IfNoneMatch: '*' } : { IfMatch: expectedVersion }),
        }),
      );
      return response.ETag ?? '';
    } catch (error) {
      const mapped = toDomainError(error, this.location, key);
      // Both 412 (lost the race) and 409 (a concurrent conditional write in flight) mean
      // someone else's write won; the caller re-reads and tries again.
      if (mapped instanceof AlreadyExistsError) throw new WriteConflictError(key, { cause: error });
      throw mapped;
    }
  }
}
