import { EventPublishError } from '../errors.ts';

/**
 * Fails the invocation when some of its events were not published, naming each by `subject`:
 * the failure shows in the Errors metric, and the retry (or the next tick) publishes again.
 */
export function failOnUnpublished<T extends { reason: string }>(
  unpublished: readonly T[],
  subject: (entry: T) => string,
): void {
  if (unpublished.length === 0) return;
  throw new EventPublishError(
    unpublished.length,
    unpublished.map((u) => `${subject(u)}: ${u.reason}`).join('; '),
  );
}
