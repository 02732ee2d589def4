import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { InstanceStore, ObjectEntry } from '../domain/ports.ts';
import { ObjectMissingError, StorageUnavailableError } from '../errors.ts';
import { S3Bucket } from './s3-bucket.ts';
import { isNotFound, toDomainError } from './s3-errors.ts';

/**
 * The default instance adapter: an instance's configuration is the set of objects under
 * `<instanceId>/` in its region's instance-store bucket.
 */
export class S3InstanceStore extends S3Bucket implements InstanceStore {
  private prefix(instanceId: string): string {
    return `${instanceId}/`;
  }

  list(instanceId: string): Promise<ObjectEntry[]> {
    const prefix = this.prefix(instanceId);
    // The instance prefix's own folder marker (`<id>/`) names the instance, not an object of
    // it. Other folder markers (`<id>/apis/`) are kept: empty objects like any other, so a
    // restore puts them back (docs/snapshot-format.md, "Folder markers").
    return this.listUnder(prefix, (item) =>
      !item.Key || item.Key === prefix
        ? undefined
        : { key: item.Key.slice(prefix.length), etag: item.ETag ?? '', size: item.Size ?? 0 },
    );
  }

  async *read(instanceId: string, key: string): AsyncIterable<Uint8Array> {
    const fullKey = this.prefix(instanceId) + key;
    let body: AsyncIterable<Uint8Array>;
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: fullKey }),
      );
      body = response.Body as AsyncIterable<Uint8Array>;
    } catch (error) {
      if (isNotFound(error)) throw new ObjectMissingError(fullKey, { cause: error });
      throw toDomainError(error, this.location, fullKey);
    }
    try {
      yield* body;
    } catch (error) {
      throw toDomainError(error, this.location, fullKey);
    }
  }

  async write(instanceId: string, key: string, body: Uint8Array): Promise<void> {
    const fullKey = this.prefix(instanceId) + key;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: fullKey,
          Body: body,
          ContentLength: body.byteLength,
        }),
      );
    } catch (error) {
      throw toDomainError(error, this.location, fullKey);
    }
  }

  async delete(instanceId: string, keys: readonly string[]): Promise<void> {
    const prefix = this.prefix(instanceId);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        const response = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: prefix + key })), Quiet: true },
          }),
        );
        if (response.Errors?.length) {
          throw new StorageUnavailableError(
            `${this.location}: ${response.Errors.length} delete(s) failed`,
          );
        }
      } catch (error) {
        if (error instanceof StorageUnavailableError) throw error;
        throw toDomainError(error, this.location, prefix);
      }
    }
  }
}
