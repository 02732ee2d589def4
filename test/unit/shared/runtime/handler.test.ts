import { describe, expect, it } from 'vitest';
import { EventValidationError } from '../../../../shared/errors.ts';
import { logger } from '../../../../shared/observability.ts';
import { depsHandler } from '../../../../shared/runtime/handler.ts';
import { lambdaContext } from '../../../fakes/lambda-context.ts';

logger.setLogLevel('SILENT');

describe('depsHandler', () => {
  it('gives parse and run the ports of this invocation when it is invoked', async () => {
    let ports = { name: 'first', prefix: '>' };
    const seen: string[] = [];
    const handler = depsHandler(
      () => ports,
      (event, deps) => {
        seen.push(`parse:${deps.name}`);
        return `${deps.prefix}${String(event)}`;
      },
      async (parsed, deps) => {
        seen.push(`run:${deps.name}`);
        return { parsed, by: deps.name };
      },
    );
    const context = lambdaContext('lifeboat-dev-test', 128);
    expect(await handler('a', context)).toEqual({ parsed: '>a', by: 'first' });
    ports = { name: 'second', prefix: '#' };
    expect(await handler('b', context)).toEqual({ parsed: '#b', by: 'second' });
    expect(seen).toEqual(['parse:first', 'run:first', 'parse:second', 'run:second']);
  });

  it('runs nothing when parse rejects the event', async () => {
    let ran = false;
    const handler = depsHandler(
      () => ({}),
      () => {
        throw new EventValidationError('thing', 'field', 'is wrong');
      },
      async () => {
        ran = true;
      },
    );
    await expect(handler({}, lambdaContext('lifeboat-dev-test', 128))).rejects.toBeInstanceOf(
      EventValidationError,
    );
    expect(ran).toBe(false);
  });

  it("passes Lambda's context to run when the invocation has one", async () => {
    const handler = depsHandler(
      () => ({}),
      (event) => event,
      async (_event, _deps, context) => context?.functionName,
    );
    expect(await handler({}, lambdaContext('lifeboat-dev-probe', 128))).toBe('lifeboat-dev-probe');
  });
});
