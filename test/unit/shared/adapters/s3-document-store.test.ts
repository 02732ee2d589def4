import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3DocumentStore } from '../../../../shared/adapters/s3-document-store.ts';
import {
  CorruptStateError,
  StorageUnavailableError,
  WriteConflictError,
} from '../../../../shared/errors.ts';
import { s3Body } from '../../../fakes/s3-body.ts';

const BUCKET = 'lifeboat-control-us-east-2';
const s3 = mockClient(S3Client);
const store = () => new S3DocumentStore(new S3Client({ region: 'us-east-2' }), BUCKET, 'us-east-2');
const failure = (name: string, status: number) =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });

beforeEach(() => {
  s3.reset();
});

describe('S3DocumentStore', () => {
  it('follows continuation tokens and returns every key under the prefix in key order when listing', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: 'capacity/us-east-2/slot-0003.json' }],
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      })
      .resolvesOnce({ Contents: [{ Key: 'capacity/us-east-2/slot-0001.json' }] });
    expect(await store().list('capacity/us-east-2/')).toEqual([
      'capacity/us-east-2/slot-0001.json',
      'capacity/us-east-2/slot-0003.json',
    ]);
    const calls = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { Bucket: BUCKET, Prefix: 'capacity/us-east-2/' },
      { Bucket: BUCKET, Prefix: 'capacity/us-east-2/', ContinuationToken: 'page-2' },
    ]);
  });

  it('returns no keys when nothing is under the prefix', async () => {
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
    expect(await store().list('capacity/eu-west-1/')).toEqual([]);
  });

  it('raises StorageUnavailableError naming the bucket when the listing fails', async () => {
    s3.on(ListObjectsV2Command).rejects(failure('InternalError', 500));
    const error = await store()
      .list('capacity/')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect((error as Error).message).toContain(BUCKET);
  });

  it('returns the parsed document with its ETag as version when loading', async () => {
    s3.on(GetObjectCommand).resolves({ Body: s3Body(Buffer.from('{"a":1}')), ETag: '"v1"' });
    expect(await store().load('runs/r.json')).toEqual({ value: { a: 1 }, version: '"v1"' });
  });

  it('raises CorruptStateError when the stored document is not JSON', async () => {
    s3.on(GetObjectCommand).resolves({ Body: s3Body(Buffer.from('{not json')), ETag: '"v1"' });
    await expect(store().load('runs/r.json')).rejects.toBeInstanceOf(CorruptStateError);
  });

  it('creates with If-None-Match and replaces with If-Match, and maps 412 to WriteConflictError', async () => {
    s3.on(PutObjectCommand)
      .resolvesOnce({ ETag: '"v1"' })
      .resolvesOnce({ ETag: '"v2"' })
      .rejectsOnce(failure('PreconditionFailed', 412));
    expect(await store().save('k.json', { a: 1 }, undefined)).toBe('"v1"');
    expect(await store().save('k.json', { a: 2 }, '"v1"')).toBe('"v2"');
    await expect(store().save('k.json', { a: 3 }, '"v1"')).rejects.toBeInstanceOf(
      WriteConflictError,
    );
    const inputs = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toMatchObject({ IfNoneMatch: '*' });
    expect(inputs[0]).not.toHaveProperty('IfMatch');
    expect(inputs[1]).toMatchObject({ IfMatch: '"v1"' });
  });
});
