import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { AWS_PACING, Pacer, type PacingPolicy, UNPACED } from '../../domain/apigateway/pacing.ts';
import { ApiGatewayCallError } from '../../errors.ts';
import { clientCache, clientOptions } from '../aws-clients.ts';

/*
 * One region's API Gateway control plane, as lifeboat calls it: every call paced, throttled
 * calls retried (a 429 was refused, so it cannot have taken effect), and nothing else retried.
 * The SDK's own retries are off: moto answers some creates with a 500 after it made them, and
 * the SDK's retry then makes a second one; AWS can lose a response the same way. An ambiguous
 * failure is raised instead, and the restore that made the call resumes from what it reads.
 */

const THROTTLE_RETRIES = 8;

/**
 * Any command of the API Gateway client. Typed loosely on purpose: callers name the output
 * type they read, and the SDK's per-command generics do not survive a shared wrapper.
 */
type SdkCommand = object;

/** Counts of one control plane's calls, by operation (benchmarks and reports read them). */
export type CallCounts = Map<string, number>;

function isThrottle(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'TooManyRequestsException' || e?.$metadata?.httpStatusCode === 429;
}

function isNotFound(error: unknown): boolean {
  return (error as { name?: string })?.name === 'NotFoundException';
}

function isClientError(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** Options of a control plane. */
export interface ControlPlaneOptions {
  pacing?: PacingPolicy;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** A region's API Gateway, paced and never blindly retried. */
export class ControlPlane {
  readonly pacer: Pacer;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly client: APIGatewayClient,
    readonly region: string,
    options: ControlPlaneOptions = {},
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.pacer = new Pacer(options.pacing ?? AWS_PACING, {
      now: options.now ?? Date.now,
      sleep: this.sleep,
    });
  }

  /** Calls made so far, by operation. */
  get calls(): CallCounts {
    return this.pacer.calls;
  }

  /** Sends one command; `undefined` for a NotFound when `missingOk`. */
  async send<Output>(
    operation: string,
    command: SdkCommand,
    options: { missingOk?: boolean } = {},
  ): Promise<Output | undefined> {
    for (let attempt = 0; ; attempt++) {
      await this.pacer.acquire(operation);
      try {
        // biome-ignore lint/suspicious/noExplicitAny: one client, many command types
        return (await this.client.send(command as any)) as Output;
      } catch (error) {
        if (options.missingOk && isNotFound(error)) return undefined;
        if (isThrottle(error) && attempt < THROTTLE_RETRIES) {
          await this.sleep(Math.min(10_000, 250 * 2 ** attempt));
          continue;
        }
        throw new ApiGatewayCallError(
          operation,
          this.region,
          !isClientError(error),
          (error as Error)?.message ?? String(error),
          { cause: error },
        );
      }
    }
  }

  /** Sends and insists on an answer (NotFound is an error). */
  async call<Output>(operation: string, command: SdkCommand): Promise<Output> {
    return (await this.send(operation, command)) as Output;
  }

  /**
   * Every page of a listing, following `position`. Written here rather than with the SDK's
   * paginators so each page is paced like any other call.
   */
  async all<Item>(
    operation: string,
    page: (position: string | undefined) => SdkCommand,
  ): Promise<Item[]> {
    const items: Item[] = [];
    let position: string | undefined;
    const seen = new Set<string>();
    do {
      const out = await this.call<{ items?: Item[]; position?: string }>(operation, page(position));
      items.push(...(out.items ?? []));
      position = out.position;
      // A server that hands back the same position would loop forever.
      if (position && seen.has(position)) break;
      if (position) seen.add(position);
    } while (position);
    return items;
  }
}

/** What writes into a region through a control plane, counting its writes for the result. */
export abstract class PlaneWriter {
  writes = 0;

  constructor(protected readonly plane: ControlPlane) {}

  protected async write<Output = unknown>(operation: string, command: object): Promise<Output> {
    this.writes += 1;
    return this.plane.call<Output>(operation, command);
  }
}

/** The API Gateway client of a region, built once per container, with SDK retries off. */
export const apiGatewayClientFor = clientCache(
  'AWS_ENDPOINT_URL_API_GATEWAY',
  (region, endpoint) => new APIGatewayClient(clientOptions(region, endpoint, 1)),
);

/** The pacing for an endpoint: AWS's limits, or none against a local emulator. */
export function pacingFor(endpointUrl: string | undefined, env: NodeJS.ProcessEnv = process.env) {
  const local = endpointUrl ?? env.AWS_ENDPOINT_URL;
  return local ? UNPACED : AWS_PACING;
}

export { isNotFound };
