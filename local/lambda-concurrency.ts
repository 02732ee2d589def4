import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { LocalWorldError } from '../shared/errors.ts';

/**
 * How the deployed stack lets each function run, read from serverless.yml, so the local pump
 * invokes functions as Lambda would: each event its own invocation, at most the function's
 * concurrency at once, and a failed invocation retried `maximumRetryAttempts` times.
 */

const SERVERLESS_YML = join(dirname(fileURLToPath(import.meta.url)), '..', 'serverless.yml');

/**
 * Lambda's default concurrency quota per account and region. A function without
 * `reservedConcurrency` draws on it (serverless.yml reserves none, so that is every function).
 */
export const LAMBDA_ACCOUNT_CONCURRENCY = 1000;

/** One function's invocation settings as deployed. */
export interface FunctionInvocation {
  /** `reservedConcurrency`, or Lambda's account quota when the function reserves none. */
  concurrency: number;
  /** `maximumRetryAttempts` of its asynchronous invocations (Lambda's default: 2). */
  retries: number;
}

let parsed: Record<string, { reservedConcurrency?: unknown; maximumRetryAttempts?: unknown }>;

function functions() {
  if (!parsed) {
    // CloudFormation's short tags (!Sub, !GetAtt) only warn here; the fields read have none.
    const doc = parseDocument(readFileSync(SERVERLESS_YML, 'utf8'));
    parsed = ((doc.toJS() as { functions?: typeof parsed }).functions ?? {}) as typeof parsed;
  }
  return parsed;
}

/** How serverless.yml deploys function `name` (its key under `functions:`). */
export function functionInvocation(name: string): FunctionInvocation {
  const fn = functions()[name];
  if (!fn) throw new LocalWorldError(`serverless.yml has no function ${name}`);
  const whole = (field: string, value: unknown, fallback: number) => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      throw new LocalWorldError(
        `serverless.yml: functions.${name}.${field}: expected a whole number, got ${JSON.stringify(value)}`,
      );
    return value;
  };
  return {
    concurrency: whole('reservedConcurrency', fn.reservedConcurrency, LAMBDA_ACCOUNT_CONCURRENCY),
    retries: whole('maximumRetryAttempts', fn.maximumRetryAttempts, 2),
  };
}
