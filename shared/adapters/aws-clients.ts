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

function endpointFor(target: RegionEndpoint, env: NodeJS.ProcessEnv): string | undefined {
  return target.endpointUrl ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
}

const s3Clients = new Map<string, S3Client>();

/**
 * One S3 client per region and endpoint, built once per container (module scope), so warm
 * invocations reuse connections.
 */
export function s3ClientFor(
  target: RegionEndpoint,
  env: NodeJS.ProcessEnv = process.env,
): S3Client {
  const endpoint = endpointFor(target, env);
  const cacheKey = `${target.region}|${endpoint ?? ''}`;
  let client = s3Clients.get(cacheKey);
  if (!client) {
    client = new S3Client({
      region: target.region,
      maxAttempts: 3,
      requestHandler,
      // Local emulators serve buckets by path; virtual-host names would not resolve on loopback.
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    });
    s3Clients.set(cacheKey, client);
  }
  return client;
}

const eventClients = new Map<string, EventBridgeClient>();

/** The EventBridge client of a region, built once. */
export function eventBridgeClientFor(
  target: RegionEndpoint,
  env: NodeJS.ProcessEnv = process.env,
): EventBridgeClient {
  const endpoint = target.endpointUrl ?? env.AWS_ENDPOINT_URL_EVENTBRIDGE ?? env.AWS_ENDPOINT_URL;
  const cacheKey = `${target.region}|${endpoint ?? ''}`;
  let client = eventClients.get(cacheKey);
  if (!client) {
    client = new EventBridgeClient({
      region: target.region,
      maxAttempts: 3,
      requestHandler,
      ...(endpoint ? { endpoint } : {}),
    });
    eventClients.set(cacheKey, client);
  }
  return client;
}

const kmsClients = new Map<string, KMSClient>();

/** The KMS client of a region, built once (the API Gateway kind's key ring uses it). */
export function kmsClientFor(
  target: RegionEndpoint,
  env: NodeJS.ProcessEnv = process.env,
): KMSClient {
  const endpoint = target.endpointUrl ?? env.AWS_ENDPOINT_URL_KMS ?? env.AWS_ENDPOINT_URL;
  const cacheKey = `${target.region}|${endpoint ?? ''}`;
  let client = kmsClients.get(cacheKey);
  if (!client) {
    client = new KMSClient({
      region: target.region,
      maxAttempts: 3,
      requestHandler,
      ...(endpoint ? { endpoint } : {}),
    });
    kmsClients.set(cacheKey, client);
  }
  return client;
}

const snsClients = new Map<string, SNSClient>();

/** The SNS client of a region, built once (the notify function publishes with it). */
export function snsClientFor(
  target: RegionEndpoint,
  env: NodeJS.ProcessEnv = process.env,
): SNSClient {
  const endpoint = target.endpointUrl ?? env.AWS_ENDPOINT_URL_SNS ?? env.AWS_ENDPOINT_URL;
  const cacheKey = `${target.region}|${endpoint ?? ''}`;
  let client = snsClients.get(cacheKey);
  if (!client) {
    client = new SNSClient({
      region: target.region,
      maxAttempts: 3,
      requestHandler,
      ...(endpoint ? { endpoint } : {}),
    });
    snsClients.set(cacheKey, client);
  }
  return client;
}

const sqsClients = new Map<string, SQSClient>();

/** The SQS client of a region, built once (the local world's notification subscriber). */
export function sqsClientFor(
  target: RegionEndpoint,
  env: NodeJS.ProcessEnv = process.env,
): SQSClient {
  const endpoint = target.endpointUrl ?? env.AWS_ENDPOINT_URL_SQS ?? env.AWS_ENDPOINT_URL;
  const cacheKey = `${target.region}|${endpoint ?? ''}`;
  let client = sqsClients.get(cacheKey);
  if (!client) {
    client = new SQSClient({
      region: target.region,
      maxAttempts: 3,
      requestHandler,
      ...(endpoint ? { endpoint } : {}),
    });
    sqsClients.set(cacheKey, client);
  }
  return client;
}

const cloudWatchClients = new Map<string, CloudWatchClient>();

/** The CloudWatch client of a region, built once (the local world creates the stack's alarms). */
export function cloudWatchClientFor(
  target: RegionEndpoint,
  env: NodeJS.ProcessEnv = process.env,
): CloudWatchClient {
  const endpoint = target.endpointUrl ?? env.AWS_ENDPOINT_URL_CLOUDWATCH ?? env.AWS_ENDPOINT_URL;
  const cacheKey = `${target.region}|${endpoint ?? ''}`;
  let client = cloudWatchClients.get(cacheKey);
  if (!client) {
    client = new CloudWatchClient({
      region: target.region,
      maxAttempts: 3,
      requestHandler,
      ...(endpoint ? { endpoint } : {}),
    });
    cloudWatchClients.set(cacheKey, client);
  }
  return client;
}
