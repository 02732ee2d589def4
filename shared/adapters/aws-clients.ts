import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';

/** Where a region's API calls go: AWS itself, or a local endpoint (moto, a per-region proxy). */
export interface RegionEndpoint {
  region: string;
  /** Per-region override, else AWS_ENDPOINT_URL, else the real AWS endpoint. */
  endpointUrl?: string;
}

// Timeouts are short on purpose: a region that does not answer must fail fast so the other
// regions of a snapshot or a recovery carry on without it. Without `throwOnRequestTimeout` the
// SDK only logs a warning when `requestTimeout` passes and the call hangs on (fault suite).
const requestHandler = {
  connectionTimeout: 2_000,
  requestTimeout: 30_000,
  throwOnRequestTimeout: true,
};

/**
 * A client factory for one service: one client per region and endpoint, built once per
 * container (module scope), so warm invocations reuse connections. The endpoint is the
 * region's own override, else the service's `AWS_ENDPOINT_URL_<SERVICE>`, else AWS_ENDPOINT_URL.
 */
export function clientCache<C>(
  serviceEnv: string,
  build: (region: string, endpoint: string | undefined) => C,
): (target: RegionEndpoint, env?: NodeJS.ProcessEnv) => C {
  const clients = new Map<string, C>();
  return (target, env = process.env) => {
    const endpoint = target.endpointUrl ?? env[serviceEnv] ?? env.AWS_ENDPOINT_URL;
    const cacheKey = `${target.region}|${endpoint ?? ''}`;
    let client = clients.get(cacheKey);
    if (!client) {
      client = build(target.region, endpoint);
      clients.set(cacheKey, client);
    }
    return client;
  };
}

/**
 * What every client shares: the short timeouts above, and three attempts (a control plane's
 * client passes 1: its adapter retries, with its own backoff).
 */
export function clientOptions(region: string, endpoint: string | undefined, maxAttempts = 3) {
  return { region, maxAttempts, requestHandler, ...(endpoint ? { endpoint } : {}) };
}

/** `clientCache` for a service whose client needs nothing beyond `clientOptions`. */
function dataPlaneClients<C>(
  serviceEnv: string,
  Client: new (config: ReturnType<typeof clientOptions>) => C,
) {
  return clientCache(serviceEnv, (region, endpoint) => new Client(clientOptions(region, endpoint)));
}

/** The S3 client of a region (see `clientCache`). */
export const s3ClientFor = clientCache(
  'AWS_ENDPOINT_URL_S3',
  (region, endpoint) =>
    // Local emulators serve buckets by path; virtual-host names would not resolve on loopback.
    new S3Client({
      ...clientOptions(region, endpoint),
      ...(endpoint ? { forcePathStyle: true } : {}),
    }),
);

/** The EventBridge client of a region, built once. */
export const eventBridgeClientFor = dataPlaneClients(
  'AWS_ENDPOINT_URL_EVENTBRIDGE',
  EventBridgeClient,
);

/** The KMS client of a region, built once (the API Gateway kind's key ring uses it). */
export const kmsClientFor = dataPlaneClients('AWS_ENDPOINT_URL_KMS', KMSClient);

/** The SNS client of a region, built once (the notify function publishes with it). */
export const snsClientFor = dataPlaneClients('AWS_ENDPOINT_URL_SNS', SNSClient);

/** The SQS client of a region, built once (the local world's notification subscriber). */
export const sqsClientFor = dataPlaneClients('AWS_ENDPOINT_URL_SQS', SQSClient);

/** The CloudWatch client of a region, built once (the local world creates the stack's alarms). */
export const cloudWatchClientFor = dataPlaneClients(
  'AWS_ENDPOINT_URL_CLOUDWATCH',
  CloudWatchClient,
);
