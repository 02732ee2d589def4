import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { isNotFound, toDomainError } from '../../../../shared/adapters/s3-errors.ts';
import { AlreadyExistsError, StorageUnavailableError } from '../../../../shared/errors.ts';

const sdkError = (name: string, status?: number) =>
  new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });

describe('isNotFound', () => {
  it.each([
    ['NoSuchKey', sdkError('NoSuchKey', 404), true],
    ['NotFound from a HEAD', sdkError('NotFound', 404), true],
    ['a bare 404', sdkError('Whatever', 404), true],
    ['AccessDenied', sdkError('AccessDenied', 403), false],
    ['a network error', new Error('ECONNRESET'), false],
    ['undefined', undefined, false],
  ])('says %s is %s', (_case, error, expected) => {
    expect(isNotFound(error)).toBe(expected);
  });
});

describe('toDomainError', () => {
  it.each([
    sdkError('PreconditionFailed', 412),
    sdkError('Unknown', 412),
    sdkError('ConditionalRequestConflict', 409),
  ])('maps a lost conditional write to AlreadyExistsError when S3 answers %s', (error) => {
    const mapped = toDomainError(error, 's3://b (r)', 'k');
    expect(mapped).toBeInstanceOf(AlreadyExistsError);
    expect(mapped.cause).toBe(error);
  });

  it('maps to StorageUnavailableError with location, key and message when the failure is anything else', () => {
    const mapped = toDomainError(new Error('getaddrinfo ENOTFOUND'), 's3://b (r)', 'k');
    expect(mapped).toBeInstanceOf(StorageUnavailableError);
    expect(mapped.message).toBe('storage unavailable: s3://b (r) k: getaddrinfo ENOTFOUND');
  });

  it('still produces a message when the thrown value is not an Error', () => {
    expect(toDomainError('plain string', 'loc', 'k').message).toContain('plain string');
  });
});
