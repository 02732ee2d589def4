import { setTimeout as delay } from 'node:timers/promises';
import {
  ChangeResourceRecordSetsCommand,
  type ChangeResourceRecordSetsCommandOutput,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import type {
  DnsChangeResult,
  DnsRecordSpec,
  DnsRouting,
  Weights,
} from '../domain/recovery/ports.ts';
import { weightsProblem } from '../domain/recovery/weights.ts';
import { DnsChangeError, DnsChangeRejectedError, InvalidWeightsError } from '../errors.ts';
import { clientCache, clientOptions } from './aws-clients.ts';

/** Route 53's control plane is global and lives in us-east-1. */
export const ROUTE53_REGION = 'us-east-1';
/** Route 53 caps a change batch comment at 256 characters. */
const MAX_COMMENT = 256;

const route53Clients = clientCache(
  'AWS_ENDPOINT_URL_ROUTE_53',
  (region, endpoint) =>
    new Route53Client({
      ...clientOptions(region, endpoint, 1),
      // Short timeouts: a control plane that hangs must turn into a retry, not a stuck recovery.
      requestHandler: {
        connectionTimeout: 2_000,
        requestTimeout: 10_000,
        throwOnRequestTimeout: true,
      },
    }),
);

/**
 * The Route 53 client, built once per endpoint (module scope). The SDK does not retry
 * (`maxAttempts: 1`): the adapter retries itself so it can count attempts and report them.
 *
 * Why not the SDK's `retryStrategy` (issue 14 asked): the retry middleware sleeps on real
 * timers and cannot take the adapter's injected `sleep`/`random`, so the unit tests that pin
 * the backoff schedule and the attempt counts (`DnsChangeResult.attempts`,
 * `DnsChangeError.attempts`) would wait for real; and `aws-sdk-client-mock` replaces
 * `client.send`, which bypasses the middleware, so those tests could not exercise it at all.
 * `isRetryableDnsError` also retries network codes and `PriorRequestNotComplete` on any status,
 * where the SDK's classifier goes by its own lists. The behaviour the tests pin is kept.
 */
export function route53ClientFor(
  endpointUrl?: string,
  env: NodeJS.ProcessEnv = process.env,
): Route53Client {
  return route53Clients({ region: ROUTE53_REGION, endpointUrl }, env);
}

/** Retry and polling knobs of {@link Route53Dns}; every one has a production default. */
export interface Route53DnsOptions {
  /** Attempts per request, the first included. */
  maxAttempts?: number;
  /** Backoff cap of the first retry; doubles on each retry up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How long to wait for a change to reach INSYNC before reporting `insync: false`. */
  insyncTimeoutMs?: number;
  pollMs?: number;
  /** Injectable so tests do not wait. */
  sleep?: (ms: number) => Promise<unknown>;
  /** Injectable jitter source, [0, 1). */
  random?: () => number;
  /** Injectable clock (ms) for the INSYNC deadline. */
  now?: () => number;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
  messages?: string[];
}

const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'PriorRequestNotComplete',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
]);

const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailable',
  'InternalFailure',
  'InternalError',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * True for failures that say nothing about the request itself: throttling (Route 53 answers
 * 400 `Throttling` or `PriorRequestNotComplete`), 5xx, timeouts and broken connections.
 * Everything else (InvalidChangeBatch, InvalidInput, NoSuchHostedZone, access denied) is final.
 */
export function isRetryableDnsError(error: unknown): boolean {
  const e = error as SdkError | undefined;
  if (!e || typeof e !== 'object') return false;
  const status = e.$metadata?.httpStatusCode;
  if (e.name && THROTTLING_CODES.has(e.name)) return true;
  if (e.code && THROTTLING_CODES.has(e.code)) return true;
  if (e.$retryable?.throttling) return true;
  if (status === 429 || (status !== undefined && status >= 500)) return true;
  if (e.$fault === 'server') return true;
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  return false;
}

/** Names compare case-insensitively, with or without the root's trailing dot. */
function sameName(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const norm = (n: string) => n.toLowerCase().replace(/\.$/, '');
  // Route 53 escapes some characters in names it returns (`*` as \052); the records lifeboat
  // manages never contain them, so no unescaping is needed here.
  return norm(a) === norm(b);
}

function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/**
 * Route 53 weighted records, one per region, each optionally tied to a health check (static
 * stability: the records exist before any outage, so failover also works by health checks when
 * the control plane is down). Every control-plane call is retried with full-jitter backoff.
 */
export class Route53Dns implements DnsRouting {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly insyncTimeoutMs: number;
  private readonly pollMs: number;
  private readonly sleep: (ms: number) => Promise<unknown>;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(
    private readonly client: Route53Client = route53ClientFor(),
    options: Route53DnsOptions = {},
  ) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 8);
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
    this.insyncTimeoutMs = options.insyncTimeoutMs ?? 120_000;
    this.pollMs = options.pollMs ?? 2_000;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  async readWeights(spec: DnsRecordSpec): Promise<Weights> {
    const weights: Weights = {};
    const seen = new Set<string>();
    let start: { name: string; identifier?: string } = { name: fqdn(spec.recordName) };
    for (;;) {
      const { value: page } = await this.withRetries(spec, 'ListResourceRecordSets', () =>
        this.client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: spec.hostedZoneId,
            StartRecordName: start.name,
            StartRecordType: 'CNAME',
            StartRecordIdentifier: start.identifier,
          }),
        ),
      );
      let pastRecord = false;
      let progressed = false;
      for (const record of page.ResourceRecordSets ?? []) {
        if (!sameName(record.Name, spec.recordName) || record.Type !== 'CNAME') {
          pastRecord = true;
          break;
        }
        const id = record.SetIdentifier;
        if (id === undefined || seen.has(id)) continue;
        seen.add(id);
        progressed = true;
        if (Object.hasOwn(spec.targets, id) && record.Weight !== undefined) {
          weights[id] = record.Weight;
        }
      }
      // A page that brought nothing new would repeat forever (moto ignores StartRecordIdentifier).
      if (pastRecord || !page.IsTruncated || !progressed) break;
      if (!sameName(page.NextRecordName, spec.recordName) || page.NextRecordType !== 'CNAME') break;
      start = { name: page.NextRecordName ?? start.name, identifier: page.NextRecordIdentifier };
    }
    return weights;
  }

  async applyWeights(spec: DnsRecordSpec, weights: Weights): Promise<DnsChangeResult> {
    const regions = validateWeights(spec, weights);
    const { value: submitted, attempts } = await this.withRetries(
      spec,
      'ChangeResourceRecordSets',
      () =>
        this.client.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: spec.hostedZoneId,
            ChangeBatch: {
              Comment: changeComment(spec, regions, weights),
              Changes: regions.map((region) => ({
                Action: 'UPSERT',
                ResourceRecordSet: recordFor(spec, region, weights[region] ?? 0),
              })),
            },
          }),
        ),
    );
    const changeId = submitted.ChangeInfo?.Id ?? '';
    const insync =
      submitted.ChangeInfo?.Status === 'INSYNC' || (await this.waitInsync(spec, submitted));
    return { changeId, attempts, insync };
  }

  /** Static stability: every region's record exists (with its health check) before any outage. */
  async precreate(spec: DnsRecordSpec, weights: Weights): Promise<DnsChangeResult> {
    return this.applyWeights(spec, weights);
  }

  /**
   * Polls GetChange until INSYNC or the deadline. The change is already accepted by then, so a
   * control plane that stops answering gives `false`, not an error: UPSERTs are idempotent and
   * the caller can read the weights back or apply them again.
   *
   * Why not `waitUntilResourceRecordSetsChanged`: the waiter counts in whole seconds (30 s
   * minimum delay by default) on real timers with its own jitter, and cannot take the injected
   * `sleep` and `now` the tests use to pin the poll schedule and the deadline; and it retries
   * every GetChange error alike until it times out, where this loop raises a final one (access
   * denied, no such change) at once.
   */
  private async waitInsync(
    spec: DnsRecordSpec,
    submitted: ChangeResourceRecordSetsCommandOutput,
  ): Promise<boolean> {
    const id = submitted.ChangeInfo?.Id;
    if (!id) return false;
    const deadline = this.now() + this.insyncTimeoutMs;
    for (;;) {
      const remaining = deadline - this.now();
      if (remaining <= 0) return false;
      await this.sleep(Math.min(this.pollMs, remaining));
      try {
        const { value } = await this.withRetries(spec, 'GetChange', () =>
          this.client.send(new GetChangeCommand({ Id: id })),
        );
        if (value.ChangeInfo?.Status === 'INSYNC') return true;
      } catch (error) {
        if (error instanceof DnsChangeError) return false;
        throw error;
      }
    }
  }

  /** Runs `call` until it succeeds, a final error, or `maxAttempts`; full-jitter backoff between. */
  private async withRetries<T>(
    spec: DnsRecordSpec,
    operation: string,
    call: () => Promise<T>,
  ): Promise<{ value: T; attempts: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return { value: await call(), attempts: attempt };
      } catch (error) {
        if (!isRetryableDnsError(error)) throw rejected(spec, operation, error);
        if (attempt >= this.maxAttempts) {
          throw new DnsChangeError(spec.instanceId, operation, attempt, { cause: error });
        }
        const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        await this.sleep(Math.floor(this.random() * cap));
      }
    }
  }
}

function rejected(spec: DnsRecordSpec, operation: string, error: unknown): DnsChangeRejectedError {
  const e = (error ?? {}) as SdkError;
  const detail = e.messages?.length ? e.messages.join('; ') : (e.message ?? String(error));
  return new DnsChangeRejectedError(spec.instanceId, operation, e.name ?? 'Error', detail, {
    cause: error,
  });
}

/**
 * Checks weights against the spec before any request (the domain's weight rule, over the whole
 * change batch); returns the spec's regions in order.
 */
function validateWeights(spec: DnsRecordSpec, weights: Weights): string[] {
  const regions = Object.keys(spec.targets);
  if (regions.length === 0) {
    throw new InvalidWeightsError(spec.instanceId, undefined, 'the record spec has no targets');
  }
  const problem = weightsProblem(weights, regions, { complete: true });
  if (problem) throw new InvalidWeightsError(spec.instanceId, problem.region, problem.detail);
  return regions;
}

function recordFor(spec: DnsRecordSpec, region: string, weight: number): ResourceRecordSet {
  const healthCheckId = spec.healthChecks?.[region];
  return {
    Name: fqdn(spec.recordName),
    Type: 'CNAME',
    SetIdentifier: region,
    Weight: weight,
    TTL: spec.ttl,
    ResourceRecords: [{ Value: spec.targets[region] ?? '' }],
    ...(healthCheckId ? { HealthCheckId: healthCheckId } : {}),
  };
}

function changeComment(spec: DnsRecordSpec, regions: string[], weights: Weights): string {
  const text = `lifeboat: weights of ${spec.instanceId}: ${regions.map((r) => `${r}=${weights[r]}`).join(', ')}`;
  return text.slice(0, MAX_COMMENT);
}
