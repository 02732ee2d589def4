import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3InstanceStore } from '../../../../shared/adapters/s3-instance-store.ts';
import { StorageUnavailableError } from '../../../../shared/errors.ts';
import { collect } from '../../../fakes/fixtures.ts';
import { brokenS3Body, s3Body } from '../../../fakes/s3-body.ts';

const s3 = mockClient(S3Client);
const store = () =>
  new S3InstanceStore(
    new S3Client({ region: 'us-east-1' }),
    'lifeboat-store-us-east-1',
    'us-east-1',
  );

beforeEach(() => {
  s3.reset();
});

describe('S3InstanceStore', () => {
  it('strips the instance prefix from the keys when listing', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [
          { Key: 'petstore/apis/a.json', ETag: '"0cc175b9c0f1b6a831c399e269772661"', Size: 1 },
        ],
        IsTruncated: true,
        NextContinuationToken: 't',
      })
      .resolvesOnce({ Contents: [{ Key: 'petstore/plans/gold.json', ETag: '"abc"', Size: 10 }] });
    expect(await store().list('petstore')).toEqual([
      { key: 'apis/a.json', etag: '"0cc175b9c0f1b6a831c399e269772661"', size: 1 },
      { key: 'plans/gold.json', etag: '"abc"', size: 10 },
    ]);
    const inputs = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(inputs[0]).toMatchObject({ Bucket: 'lifeboat-store-us-east-1', Prefix: 'petstore/' });
    expect(inputs[1]).toMatchObject({ Prefix: 'petstore/', ContinuationToken: 't' });
  });

  it('streams the body piece by piece when reading an object', async () => {
    const body = Buffer.from('x'.repeat(10_000));
    s3.on(GetObjectCommand).resolves({ Body: s3Body(body, 1024) });
    const pieces: Uint8Array[] = [];
    for await (const piece of store().read('petstore', 'apis/a.json')) pieces.push(piece);
    expect(pieces.length).toBe(10);
    expect(Buffer.concat(pieces).equals(body)).toBe(true);
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'lifeboat-store-us-east-1',
      Key: 'petstore/apis/a.json',
    });
  });

  it('sends no request until the body is iterated when read is called', async () => {
    s3.on(GetObjectCommand).resolves({ Body: s3Body(Buffer.from('x')) });
    const body = store().read('petstore', 'k');
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    await collect(body);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it('raises StorageUnavailableError when the GET fails', async () => {
    s3.on(GetObjectCommand).rejects(
      new S3ServiceException({
        name: 'InternalError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
        message: 'boom',
      }),
    );
    await expect(collect(store().read('petstore', 'k'))).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );
  });

  it('raises StorageUnavailableError when the body breaks midway', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: brokenS3Body(Buffer.from('part'), new Error('socket hang up')),
    });
    const caught = await collect(store().read('petstore', 'k')).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(StorageUnavailableError);
    expect((caught as Error).message).toContain('petstore/k');
  });

  it('puts the instance prefix and the content length on the request when writing', async () => {
    s3.on(PutObjectCommand).resolves({});
    const body = Buffer.from('{"api":1}');
    await store().write('petstore', 'apis/a.json', body);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Bucket: 'lifeboat-store-us-east-1',
      Key: 'petstore/apis/a.json',
      ContentLength: body.length,
    });
  });

  it('deletes prefixed keys in batches of 1000 when given many keys', async () => {
    s3.on(DeleteObjectsCommand).resolves({});
    await store().delete(
      'petstore',
      Array.from({ length: 1001 }, (_, i) => `k${i}`),
    );
    const calls = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Delete?.Objects?.length)).toEqual([1000, 1]);
    expect(calls[1]?.Delete?.Objects).toEqual([{ Key: 'petstore/k1000' }]);
  });

  it('raises StorageUnavailableError when S3 reports failed deletes', async () => {
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'petstore/k', Code: 'AccessDenied' }] });
    await expect(store().delete('petstore', ['k'])).rejects.toThrow(/1 delete\(s\) failed/);
  });
});
