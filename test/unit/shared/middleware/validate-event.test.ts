import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../../../shared/middleware/validate-event.ts';

describe('validateEvent', () => {
  it('replaces the raw event with the parsed one when the parser accepts it', async () => {
    const middleware = validateEvent((event) => ({ parsed: event }));
    const request = { event: { raw: true } } as unknown as Parameters<
      NonNullable<typeof middleware.before>
    >[0];
    await middleware.before?.(request);
    expect(request.event).toEqual({ parsed: { raw: true } });
  });

  it('lets the parser error through when the parser rejects the event', async () => {
    const middleware = validateEvent(() => {
      throw new RangeError('bad');
    });
    const request = { event: {} } as Parameters<NonNullable<typeof middleware.before>>[0];
    expect(() => middleware.before?.(request)).toThrow(RangeError);
  });
});
