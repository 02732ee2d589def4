import type { MiddlewareObj } from '@middy/core';

/**
 * Replaces the raw event with its parsed form before the handler runs, so the handler receives
 * a `TParsed`. Hand-rolled rather than Powertools' `parser` middleware because lifeboat's
 * parsers also check names against the config and raise one `EventValidationError` that names
 * the field.
 */
export function validateEvent<TParsed>(parse: (event: unknown) => TParsed): MiddlewareObj<TParsed> {
  return {
    before: (request) => {
      request.event = parse(request.event);
    },
  };
}
