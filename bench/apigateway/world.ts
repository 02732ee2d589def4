import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useLocalEndpoint } from '../../bin/commands/local.ts';
import { accessLogArn } from '../../local/apigateway-sample.ts';
import { type MotoServer, startMoto } from '../../local/moto.ts';
import { provisionWorld } from '../../local/provision.ts';
import {
  apiGatewayClientFor,
  ControlPlane,
} from '../../shared/adapters/apigateway/control-plane.ts';
import { kmsClientFor, s3ClientFor } from '../../shared/adapters/aws-clients.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import type { PacingPolicy } from '../../shared/domain/apigateway/pacing.ts';
import { DOCUMENTED_PACING } from './projection.ts';

/*
 * The benchmark's world: its own moto_server on 127.0.0.1, a config of three regions with one
 * API Gateway instance per measured shape, provisioned the way `lifeboat local up` does it.
 * Every control plane the benchmark builds is paced with AWS's documented limits on a virtual
 * clock: the calls go to moto at once, and the pacer's waits add up to what the same call
 * sequence would have waited on AWS (the "replayed" projection, see projection.ts).
 */

export const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2'] as const;
export const SOURCE = 'us-east-1';
export const TARGET = 'us-west-2';

/** ACM certificate ARNs of the sample's custom domain, one per region. */
export const CERTIFICATES: Record<string, string> = Object.fromEntries(
  REGIONS.map((r, i) => [r, `arn:aws:acm:${r}:123456789012:certificate/bench-${i}`]),
);

/** One measured shape of instance. */
export interface Shape {
  label: string;
  apis: number;
  /** The sample's `resourcesPerApi`: each makes `/itemsN` and `/itemsN/{id}`. */
  resourcesPerApi: number;
  methodsPerResource: number;
}

/** The world the benchmark runs in. */
export interface BenchWorld {
  config: LifeboatConfig;
  moto: MotoServer;
  prefix: string;
  meter: RequestMeter;
  /** moto's log so far (its tracebacks say why a 500 happened); `since` is a prior length. */
  motoLog(since?: number): string;
  instanceId(shape: Shape): string;
  close(): Promise<void>;
}

/** Requests as the SDK clients sent them (every HTTP attempt), by client and command. */
export class RequestMeter {
  private tally: Record<string, Record<string, number>> | undefined;

  attach(client: { middlewareStack: { add: (...args: never[]) => unknown } }, label: string) {
    (client.middlewareStack.add as (mw: unknown, options: unknown) => void)(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
        async (args: unknown) => {
          const t = this.tally;
          if (t) {
            const byCommand = t[label] ?? {};
            const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
            byCommand[name] = (byCommand[name] ?? 0) + 1;
            t[label] = byCommand;
          }
          return next(args);
        },
      { step: 'deserialize', name: `bench-apigateway-meter-${label}` },
    );
  }

  start(): void {
    this.tally = {};
  }

  stop(): Record<string, Record<string, number>> {
    const out = this.tally ?? {};
    this.tally = undefined;
    return out;
  }
}

/** A control plane paced by `policy` on a virtual clock (waits are counted, not slept). */
export function virtualPlane(
  config: LifeboatConfig,
  region: string,
  policy: PacingPolicy = DOCUMENTED_PACING,
): ControlPlane {
  const endpointUrl = config.regions.find((r) => r.name === region)?.endpointUrl;
  let offset = 0;
  return new ControlPlane(apiGatewayClientFor({ region, endpointUrl }), region, {
    pacing: policy,
    now: () => Date.now() + offset,
    sleep: async (ms) => {
      offset += ms;
    },
  });
}

/** Starts moto, builds and provisions the config, and meters every client lifeboat uses. */
export async function createBenchWorld(shapes: Shape[]): Promise<BenchWorld> {
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-bench-apigateway-'));
  const logPath = join(scratch, 'moto.log');
  const logFd = openSync(logPath, 'w');
  const moto = await startMoto({ logFile: logFd });
  const cleanup = async () => {
    await moto.stop();
    closeSync(logFd);
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    useLocalEndpoint(moto.endpoint);
    const prefix = `bench${randomBytes(3).toString('hex')}`;
    const id = (shape: Shape) => `${prefix}-${shape.label}`;
    const config = parseConfig(
      {
        version: 1,
        naming: { bucketPrefix: prefix, eventBusName: `${prefix}-bus` },
        regions: REGIONS.map((name, i) => ({
          name,
          location: { lat: 38 + i, lon: -77 - 20 * i },
          capacity: 4,
          zones: [`${name}a`, `${name}b`],
        })),
        instances: shapes.map((shape) => ({
          id: id(shape),
          kind: 'apigateway',
          apigateway: {
            references: {
              'shop-cert': CERTIFICATES,
              'access-logs': Object.fromEntries(REGIONS.map((r) => [r, accessLogArn(r)])),
            },
          },
          homeRegion: SOURCE,
          replicaRegions: [...REGIONS],
          dns: { hostedZoneId: 'Z1', recordName: `${shape.label}.example.com` },
          endpoints: { [SOURCE]: { url: 'http://127.0.0.1:1/' } },
        })),
      },
      'apigateway benchmark',
    );
    await provisionWorld(config);
    const meter = new RequestMeter();
    for (const region of REGIONS) {
      const target = { region };
      meter.attach(apiGatewayClientFor(target), 'apigateway');
      meter.attach(s3ClientFor(target), 's3');
      meter.attach(kmsClientFor(target), 'kms');
    }
    return {
      config,
      moto,
      prefix,
      meter,
      motoLog: (since = 0) => readFileSync(logPath, 'utf8').slice(since),
      instanceId: id,
      close: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
