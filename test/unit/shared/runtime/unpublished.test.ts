import { describe, expect, it } from 'vitest';
import { EventPublishError } from '../../../../shared/errors.ts';
import { failOnUnpublished } from '../../../../shared/runtime/unpublished.ts';

describe('failOnUnpublished', () => {
  it('returns when every event was published', () => {
    expect(failOnUnpublished([], () => 'never')).toBeUndefined();
  });

  it('raises one EventPublishError naming each entry and its reason when some were not published', () => {
    let caught: unknown;
    try {
      failOnUnpublished(
        [
          { runId: 'a-g1', reason: 'throttled' },
          { runId: 'b-g2', reason: 'bus down' },
        ],
        (u) => u.runId,
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EventPublishError);
    expect((caught as EventPublishError).failed).toBe(2);
    expect((caught as EventPublishError).message).toBe(
      'event bus rejected 2 event(s): a-g1: throttled; b-g2: bus down',
    );
  });
});
