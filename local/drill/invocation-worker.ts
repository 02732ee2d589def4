import { parentPort, workerData } from 'node:worker_threads';
import { Route53Client } from '@aws-sdk/client-route-53';
import type { Context } from 'aws-lambda';
import { useLocalEndpoint } from '../../bin/commands/local.ts';
import { Route53Dns } from '../../shared/adapters/route53-dns.ts';
import { recoveryDeps } from '../../shared/composition.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { StepFunction } from '../../shared/domain/events.ts';
import { buildStepHandler } from '../../shared/runtime/recovery-handler.ts';

/**
 * One Lambda invocation of a recovery step in a thread of its own, so that the drill can kill
 * it for real (Worker.terminate) while it is halfway through its step: the process dies, not a
 * flag the code reads. It builds its ports from the drill's config, as a cold Lambda would.
 */

/** What the drill hands the thread. */
export interface InvocationInput {
  fn: StepFunction;
  config: unknown;
  controlRegion: string;
  endpoint: string;
  event: unknown;
}

const input = workerData as InvocationInput;
useLocalEndpoint(input.endpoint);
const config = parseConfig(input.config, 'drill world (invocation thread)');
const deps = {
  ...recoveryDeps(config, input.controlRegion),
  dns: new Route53Dns(new Route53Client({ region: 'us-east-1', endpoint: input.endpoint }), {
    baseDelayMs: 20,
    pollMs: 20,
  }),
  verifyAttempts: 20,
};
const handler = buildStepHandler(input.fn, () => deps);
parentPort?.postMessage({ kind: 'started' });
handler(input.event, { functionName: input.fn, awsRequestId: 'drill-thread' } as Context).then(
  (result) => parentPort?.postMessage({ kind: 'done', result }),
  (error: unknown) =>
    parentPort?.postMessage({ kind: 'threw', message: (error as Error).message ?? String(error) }),
);
