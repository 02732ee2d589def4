import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
} from '@aws-sdk/client-s3';
import type { BlobStore, PutOptions, RetainUntil, StoredBlob } from '../domain/ports.ts';
import { StorageUnavailableError } from '../errors.ts';
import { S3Bucket } from './s3-bucket.ts';
import { isNotFound, toDomainError } from './s3-errors.ts';

/** S3's DeleteObjects limit. */
const DELETE_BATCH = 1000;

/** A backup or control bucket, through S3. */
export class S3BlobStore extends S3Bucket implements BlobStore {
  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: options.contentType,
          IfNoneMatch: options.ifNoneMatch ? '*' : undefined,
          ObjectLockMode: options.retainUntil?.mode,
          ObjectLockRetainUntilDate: options.retainUntil?.until,
        }),
      );
    } catch (error) {
      throw toDomainError(error, this.location, key);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      const length = response.ContentLength;
      if (!response.Body || length === undefined)
        return await response.Body?.transformToByteArray();
      // Straight into one buffer of the announced length: collecting the pieces and then
      // joining them held every pack twice during a restore.
      const out = Buffer.allocUnsafe(length);
      let at = 0;
      for await (const piece of response.Body as AsyncIterable<Uint8Array>) {
        if (at + piece.byteLength > length) break;
        out.set(piece, at);
        at += piece.byteLength;
      }
      if (at !== length)
        throw new StorageUnavailableError(
          `${this.location} ${key}: body ended at ${at} of ${length} bytes`,
        );
      return out;
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw error;
      if (isNotFound(error)) return undefined;
      throw toDomainError(error, this.location, key);
    }
  }

  list(prefix: string): Promise<StoredBlob[]> {
    return this.listUnder(prefix, (item) =>
      item.Key === undefined
        ? undefined
        : { key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0) },
    );
  }

  async retention(key: string): Promise<RetainUntil | undefined> {
    try {
      // HEAD reports the retention too (with s3:GetObjectRetention), as one cheap request.
      const response = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      const mode = response.ObjectLockMode;
      const until = response.ObjectLockRetainUntilDate;
      if ((mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') || !until) return undefined;
      return { mode, until: new Date(until) };
    } catch (error) {
      // No retention set on the object (or no object): nothing protects it.
      if (isNotFound(error) || isNoRetention(error)) return undefined;
      throw toDomainError(error, this.location, key);
    }
  }

  async extendRetention(key: string, retain: RetainUntil): Promise<void> {
    try {
      await this.client.send(
        new PutObjectRetentionCommand({
          Bucket: this.bucket,
          Key: key,
          Retention: { Mode: retain.mode, RetainUntilDate: retain.until },
        }),
      );
    } catch (error) {
      throw toDomainError(error, this.location, key);
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let errors: { Key?: string; Message?: string }[] = [];
      try {
        const response = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        errors = response.Errors ?? [];
      } catch (error) {
        throw toDomainError(error, this.location, batch[0] ?? '');
      }
      if (errors.length > 0) {
        const first = errors[0];
        throw new StorageUnavailableError(
          `${this.location}: ${errors.length} delete(s) failed, first ${first?.Key}: ${first?.Message}`,
        );
      }
    }
  }
}

/** S3 answers GetObjectRetention on an object without retention with this error. */
function isNoRetention(error: unknown): boolean {
  const name = (error as { name?: string; Code?: string } | undefined)?.name;
  return (
    name === 'NoSuchObjectLockConfiguration' || name === 'ObjectLockConfigurationNotFoundError'
  );
}
