import { AlreadyExistsError, StorageUnavailableError } from '../errors.ts';

interface S3ServiceError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

/** True when S3 says the key (or bucket) does not exist. */
export function isNotFound(error: unknown): boolean {
  const e = error as S3ServiceError;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/**
 * Maps an SDK failure to a domain error. 412 is a lost `If-None-Match` race; 409 is S3 saying a
 * concurrent conditional write is in flight, which for a write-once key means the same thing.
 */
export function toDomainError(error: unknown, location: string, key: string): Error {
  const e = error as S3ServiceError;
  const status = e?.$metadata?.httpStatusCode;
  if (
    e?.name === 'PreconditionFailed' ||
    status === 412 ||
    e?.name === 'ConditionalRequestConflict' ||
    status === 409
  ) {
    return new AlreadyExistsError(key, { cause: error });
  }
  return new StorageUnavailableError(
    `${location} ${key}: ${(error as Error)?.message ?? String(error)}`,
    {
      cause: error,
    },
  );
}
