import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../../../shared/adapters/s3-blob-store.ts';
import { AlreadyExistsError, StorageUnavailableError } from '../../../../shared/errors.ts';
import { s3Body } from '../../../fakes/s3-body.ts';

const s3 = mockClient(S3Client);
const store = () =>
  new S3BlobStore(new S3Client({ region: 'us-east-2' }), 'lifeboat-backup-us-east-2', 'us-east-2');

function serviceError(name: string, status: number, message = name): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message,
  });
}

beforeEach(() => {
  s3.reset();
});

describe('S3BlobStore', () => {
  it('names its bucket and region when asked for its location', () => {
    expect(store().location).toBe('s3://lifeboat-backup-us-east-2 (us-east-2)');
  });

  it('sends IfNoneMatch * with the body and length when put asks for a conditional write', async () => {
    s3.on(PutObjectCommand).resolves({});
    const body = Buffer.from('{"manifest":true}');
    await store().put('instances/p/snapshots/20261125T060000Z.json', body, {
      ifNoneMatch: true,
      contentType: 'application/json',
    });
    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Bucket: 'lifeboat-backup-us-east-2',
      Key: 'instances/p/snapshots/20261125T060000Z.json',
      ContentLength: body.length,
      ContentType: 'application/json',
      IfNoneMatch: '*',
    });
    expect(input?.Body).toBe(body);
    expect(input?.ObjectLockMode).toBeUndefined();
  });

  it('sends no IfNoneMatch when put is unconditional', async () => {
    s3.on(PutObjectCommand).resolves({});
    await store().put('k', new Uint8Array([1]));
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.IfNoneMatch).toBeUndefined();
  });

  it('sends Object Lock mode and date when put asks for retention', async () => {
    s3.on(PutObjectCommand).resolves({});
    const until = new Date('2026-12-25T06:00:00Z');
    await store().put('k', new Uint8Array([1]), { retainUntil: { mode: 'COMPLIANCE', until } });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: until,
    });
  });

  it.each([
    ['a 412 PreconditionFailed', serviceError('PreconditionFailed', 412)],
    ['a 409 ConditionalRequestConflict', serviceError('ConditionalRequestConflict', 409)],
  ])('raises AlreadyExistsError with the cause when S3 answers %s', async (_case, error) => {
    s3.on(PutObjectCommand).rejects(error);
    const caught = await store()
      .put('instances/p/commits/x.json', new Uint8Array([1]), { ifNoneMatch: true })
      .catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(AlreadyExistsError);
    expect((caught as AlreadyExistsError).key).toBe('instances/p/commits/x.json');
    expect((caught as AlreadyExistsError).cause).toBe(error);
  });

  it('raises StorageUnavailableError naming the location and key when S3 fails otherwise', async () => {
    s3.on(PutObjectCommand).rejects(
      serviceError('InternalError', 500, 'We encountered an internal error'),
    );
    const caught = await store()
      .put('k1', new Uint8Array([1]))
      .catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(StorageUnavailableError);
    expect((caught as Error).message).toContain('s3://lifeboat-backup-us-east-2 (us-east-2) k1');
    expect((caught as Error).message).toContain('internal error');
  });

  it('returns the bytes when get finds the object', async () => {
    s3.on(GetObjectCommand, { Key: 'k' }).resolves({ Body: s3Body(Buffer.from('hello')) });
    const bytes = await store().get('k');
    expect(Buffer.from(bytes ?? []).toString()).toBe('hello');
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'lifeboat-backup-us-east-2',
      Key: 'k',
    });
  });

  it('reads the body piece by piece into one buffer of the announced length when S3 sends ContentLength', async () => {
    const bytes = Buffer.from('x'.repeat(1000));
    s3.on(GetObjectCommand).resolves({ Body: s3Body(bytes, 64), ContentLength: 1000 });
    expect(Buffer.from((await store().get('k')) ?? []).equals(bytes)).toBe(true);
  });

  it('raises StorageUnavailableError when the body ends before the announced length', async () => {
    s3.on(GetObjectCommand).resolves({ Body: s3Body(Buffer.from('short'), 2), ContentLength: 9 });
    await expect(store().get('k')).rejects.toThrow(/k: body ended at 5 of 9 bytes/);
    await expect(store().get('k')).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  it('returns undefined when get hits NoSuchKey', async () => {
    s3.on(GetObjectCommand).rejects(
      new NoSuchKey({
        $metadata: { httpStatusCode: 404 },
        message: 'The specified key does not exist.',
      }),
    );
    expect(await store().get('missing')).toBeUndefined();
  });

  it('raises StorageUnavailableError when get is throttled', async () => {
    s3.on(GetObjectCommand).rejects(serviceError('SlowDown', 503));
    await expect(store().get('k')).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  it('follows continuation tokens when the listing spans several pages', async () => {
    const at = new Date('2026-11-25T06:00:00Z');
    // The paginator reuses its input object, so copy each request as it is sent.
    const sent: Record<string, unknown>[] = [];
    const pages = [
      {
        Contents: [
          { Key: 'p/a', Size: 1, LastModified: at },
          { Key: 'p/b', Size: 2, LastModified: at },
        ],
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      },
      { Contents: [{ Key: 'p/c', Size: 3 }], IsTruncated: false },
    ];
    s3.on(ListObjectsV2Command).callsFake((input) => {
      sent.push({ ...input });
      return pages[sent.length - 1];
    });
    const listed = await store().list('p/');
    expect(listed).toEqual([
      { key: 'p/a', size: 1, lastModified: at },
      { key: 'p/b', size: 2, lastModified: at },
      { key: 'p/c', size: 3, lastModified: new Date(0) },
    ]);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatchObject({ Bucket: 'lifeboat-backup-us-east-2', Prefix: 'p/' });
    expect(sent[0]?.ContinuationToken).toBeUndefined();
    expect(sent[1]).toMatchObject({ Prefix: 'p/', ContinuationToken: 'page-2' });
  });

  it('returns an empty list when the prefix holds nothing', async () => {
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
    expect(await store().list('nothing/')).toEqual([]);
  });

  it('raises StorageUnavailableError when listing fails', async () => {
    s3.on(ListObjectsV2Command).rejects(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { name: 'Error' }),
    );
    await expect(store().list('p/')).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  it('deletes in batches of at most 1000 keys, quietly, when given many keys', async () => {
    s3.on(DeleteObjectsCommand).resolves({});
    const keys = Array.from({ length: 2500 }, (_, i) => `k/${i}`);
    await store().delete(keys);
    const calls = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Delete?.Objects?.length)).toEqual([1000, 1000, 500]);
    expect(
      calls.every((c) => c.Delete?.Quiet === true && c.Bucket === 'lifeboat-backup-us-east-2'),
    ).toBe(true);
    expect(calls.flatMap((c) => c.Delete?.Objects?.map((o) => o.Key))).toEqual(keys);
  });

  it('sends nothing when asked to delete no keys', async () => {
    await store().delete([]);
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
  });

  it('raises StorageUnavailableError naming the count and first key when some deletes fail', async () => {
    s3.on(DeleteObjectsCommand).resolves({
      Errors: [
        { Key: 'k/1', Code: 'AccessDenied', Message: 'Access Denied' },
        { Key: 'k/2', Code: 'AccessDenied', Message: 'Access Denied' },
      ],
    });
    const caught = await store()
      .delete(['k/0', 'k/1', 'k/2'])
      .catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(StorageUnavailableError);
    expect((caught as Error).message).toContain('2 delete(s) failed, first k/1: Access Denied');
  });

  it('stops at the first failing batch when a batch is rejected', async () => {
    s3.on(DeleteObjectsCommand).rejectsOnce(serviceError('InternalError', 500)).resolves({});
    await expect(
      store().delete(Array.from({ length: 1500 }, (_, i) => `k/${i}`)),
    ).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
  });
});
