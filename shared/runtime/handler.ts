import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { validateEvent } from '../middleware/validate-event.ts';
import { logger } from '../observability.ts';

/**
 * Every lifeboat function's shape: log with the invocation's context, validate the raw event
 * with `parse`, and run `run` on the parsed event. The result takes any event (Lambda's, or a
 * test's), and `run` sees only what `parse` returned.
 */
export function eventHandler<TParsed, TResult>(
  parse: (event: unknown) => TParsed,
  run: (event: TParsed, context?: Partial<Context>) => Promise<TResult>,
) {
  return middy()
    .use(injectLambdaContext(logger))
    .use(validateEvent(parse))
    .handler<unknown, TResult>((event, context) => run(event, context));
}

/**
 * `eventHandler` for a function with ports: `parse` and `run` both see the ports `getDeps`
 * supplies per invocation (the Lambda's cached real ones, or a test's), so a handler only names
 * its parser and its domain call.
 */
export function depsHandler<TDeps, TParsed, TResult>(
  getDeps: () => TDeps,
  parse: (event: unknown, deps: TDeps) => TParsed,
  run: (event: TParsed, deps: TDeps, context?: Partial<Context>) => Promise<TResult>,
) {
  return eventHandler(
    (event) => parse(event, getDeps()),
    (parsed, context) => run(parsed, getDeps(), context),
  );
}
