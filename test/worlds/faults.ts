import { randomBytes } from 'node:crypto';
import { Route53Client } from '@aws-sdk/client-route-53';
import { inject } from 'vitest';
import { useLocalEndpoint } from '../../bin/commands/local.ts';
import { FaultProxy } from '../../local/fault-proxy.ts';
import { provisionWorld } from '../../local/provision.ts';
import { RegionProxy } from '../../local/tcp-proxy.ts';
import { eventBridgeClientFor, s3ClientFor } from '../../shared/adapters/aws-clients.ts';
import { Route53Dns } from '../../shared/adapters/route53-dns.ts';
import { recoveryDeps } from '../../shared/composition.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import type { RecoveryDeps } from '../../shared/domain/recovery/run-store.ts';
import { REGIONS, regionEntries } from './regions.ts';

/** Where the recovery functions run in these tests. */
export const HERE = 'us-west-2';

/**
 * Short enough that a held request costs little, long enough that moto on two busy cores never
 * trips it on a real answer (its slowest calls here take tens of milliseconds).
 */
export const REQUEST_TIMEOUT_MS = 500;

/**
 * The world of the fault suite: every lifeboat call goes region proxy → fault proxy → moto, so
 * a region can still go down as a whole (its TCP proxy closes) while single calls are broken.
 * `direct` is the same world seen straight through moto, for seeding and for checking what
 * really landed, untouched by any fault.
 */
export interface FaultWorld {
  proxy: FaultProxy;
  regionProxies: Map<string, RegionProxy>;
  prefix: string;
  motoEndpoint: string;
  hostedZoneId: string;
  /** A config for `instances`, its regions behind the fault proxy. */
  configFor(instances: unknown[]): LifeboatConfig;
  /** The same config, its regions straight on moto. */
  directConfigFor(instances: unknown[]): LifeboatConfig;
  /** Route 53 through the fault proxy, built like production's (no SDK retries). */
  route53: Route53Client;
  /** Route 53 straight on moto. */
  directRoute53: Route53Client;
  /** Recovery ports for a config, with the adapters' waits shortened. */
  depsFor(config: LifeboatConfig): RecoveryDeps;
  close(): Promise<void>;
}

function rawConfig(prefix: string, instances: unknown[], endpointOf: (region: string) => string) {
  return {
    version: 1,
    naming: { bucketPrefix: prefix, eventBusName: `${prefix}-bus` },
    regions: regionEntries({ endpointUrl: endpointOf }),
    failback: { canaryPercents: [10, 50, 100], stepSeconds: 0, healthChecksPerStep: 1 },
    instances,
  };
}

/**
 * The production clients (the same cached instances the adapters use) with the request timeout
 * shortened, so a 'timeout' fault costs under a second instead of thirty.
 */
function shortenTimeouts(config: LifeboatConfig): void {
  for (const region of config.regions) {
    const target = { region: region.name, endpointUrl: region.endpointUrl };
    for (const client of [s3ClientFor(target), eventBridgeClientFor(target)]) {
      const handler = client.config.requestHandler as {
        updateHttpClientConfig?: (key: string, value: unknown) => void;
      };
      handler.updateHttpClientConfig?.('requestTimeout', REQUEST_TIMEOUT_MS);
      handler.updateHttpClientConfig?.('throwOnRequestTimeout', true);
    }
  }
}

/** Builds the fault suite's world on the shared moto_server: unique names, proxies up, a hosted zone. */
export async function createFaultWorld(): Promise<FaultWorld> {
  const motoEndpoint = inject('motoEndpoint');
  useLocalEndpoint(motoEndpoint);
  const proxy = new FaultProxy(Number(new URL(motoEndpoint).port));
  await proxy.start();
  const regionProxies = new Map<string, RegionProxy>(
    REGIONS.map((r) => [r, new RegionProxy(r, proxy.port)] as const),
  );
  for (const regionProxy of regionProxies.values()) await regionProxy.up();
  const prefix = `f${randomBytes(4).toString('hex')}`;
  const configFor = (instances: unknown[]) =>
    parseConfig(
      rawConfig(prefix, instances, (r) => regionProxies.get(r)?.url ?? ''),
      'fault world',
    );
  const directConfigFor = (instances: unknown[]) =>
    parseConfig(
      rawConfig(prefix, instances, () => motoEndpoint),
      'fault world (direct)',
    );
  await provisionWorld(directConfigFor([]));
  shortenTimeouts(configFor([]));
  const route53 = new Route53Client({
    region: 'us-east-1',
    endpoint: proxy.url,
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: 2_000,
      requestTimeout: REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  });
  const directRoute53 = new Route53Client({ region: 'us-east-1', endpoint: motoEndpoint });
  const { CreateHostedZoneCommand } = await import('@aws-sdk/client-route-53');
  const zone = await directRoute53.send(
    new CreateHostedZoneCommand({ Name: `${prefix}.lifeboat.test`, CallerReference: prefix }),
  );
  const hostedZoneId = (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '');
  return {
    proxy,
    regionProxies,
    prefix,
    motoEndpoint,
    hostedZoneId,
    configFor,
    directConfigFor,
    route53,
    directRoute53,
    depsFor: (config) => ({
      ...recoveryDeps(config, HERE),
      // Three attempts, not eight: enough to ride out one fault, few enough that a persistent
      // one reaches the run's own failure handling quickly.
      dns: new Route53Dns(route53, { baseDelayMs: 10, pollMs: 10, maxAttempts: 3 }),
      sleep: async () => undefined,
      // One attempt per step: a persistent fault breaks the same request on every attempt, so
      // more attempts only repeat it (at up to nine held requests each); the step-retry loop
      // itself is covered by the unit suite.
      stepAttempts: 1,
    }),
    close: async () => {
      for (const regionProxy of regionProxies.values()) await regionProxy.down();
      await proxy.stop();
    },
  };
}
