import { randomBytes } from 'node:crypto';
import { Route53Client } from '@aws-sdk/client-route-53';
import { expect, inject } from 'vitest';
import { useLocalEndpoint } from '../../../bin/commands/local.ts';
import {
  type AwsService,
  FAULT_KINDS,
  type FaultKind,
  type FaultPlan,
  FaultProxy,
  faultOnce,
  faultPersistently,
  type ProxiedCall,
} from '../../../local/fault-proxy.ts';
import { provisionWorld } from '../../../local/provision.ts';
import { RegionProxy } from '../../../local/tcp-proxy.ts';
import { eventBridgeClientFor, s3ClientFor } from '../../../shared/adapters/aws-clients.ts';
import { Route53Dns } from '../../../shared/adapters/route53-dns.ts';
import { recoveryDeps } from '../../../shared/composition.ts';
import { parseConfig } from '../../../shared/config/load.ts';
import type { LifeboatConfig } from '../../../shared/config/schema.ts';
import type { RecoveryDeps } from '../../../shared/domain/recovery/run-store.ts';

export const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1'] as const;
/** Where the recovery functions run in these tests. */
export const HERE = 'us-west-2';

/**
 * Short enough that a held request costs little, long enough that moto on two busy cores never
 * trips it on a real answer (its slowest calls here take tens of milliseconds).
 */
export const REQUEST_TIMEOUT_MS = 500;

const LOCATIONS: Record<string, { lat: number; lon: number }> = {
  'us-east-1': { lat: 38.9, lon: -77.4 },
  'us-east-2': { lat: 40.0, lon: -83.0 },
  'us-west-2': { lat: 45.8, lon: -119.7 },
  'eu-west-1': { lat: 53.3, lon: -6.3 },
};

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
    regions: REGIONS.map((name) => ({
      name,
      location: LOCATIONS[name],
      capacity: 2,
      zones: [`${name}a`, `${name}b`],
      endpointUrl: endpointOf(name),
    })),
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

/** One injected fault: which call of which service, how, and for how long. */
export interface FaultCase {
  service: AwsService;
  index: number;
  kind: FaultKind;
  mode: 'once' | 'persistent';
}

export function planOf(c: FaultCase): FaultPlan {
  return c.mode === 'once'
    ? faultOnce(c.service, c.index, c.kind)
    : faultPersistently(c.service, c.index, c.kind);
}

/** Every (kind, mode) pair; 5 kinds × 2 modes, so stepping through it by one covers all ten. */
const PAIRS = FAULT_KINDS.flatMap((kind) =>
  (['once', 'persistent'] as const).map((mode) => ({ kind, mode })),
);

/**
 * The cases to run for a clean run's call counts. `LIFEBOAT_FAULTS=full` runs the whole matrix
 * (every call × every kind × once and persistent). By default every call is broken once, the
 * (kind, mode) pairs stepping along the calls so each pair meets calls all along the run: the
 * full matrix takes over ten minutes of moto time, past what one `npm test` should spend.
 */
export function faultCases(
  counts: Record<AwsService, number>,
  services: readonly AwsService[],
  env: NodeJS.ProcessEnv = process.env,
): FaultCase[] {
  const full = env.LIFEBOAT_FAULTS === 'full';
  const cases: FaultCase[] = [];
  let position = 0;
  for (const service of services) {
    for (let index = 1; index <= counts[service]; index += 1) {
      const pairs = full ? PAIRS : [PAIRS[position % PAIRS.length] as (typeof PAIRS)[number]];
      position += 1;
      for (const { kind, mode } of pairs) cases.push({ service, index, kind, mode });
    }
  }
  return cases;
}

/**
 * Every case must have broken something, or it proved nothing. With LIFEBOAT_FAULT_REPORT set,
 * prints the clean run's calls and what each case hit (docs/fault-injection.md's counts).
 */
export function expectEveryCaseHit(
  clean: { counts: unknown; calls: readonly ProxiedCall[] },
  hits: readonly { hit: string }[],
): void {
  expect(hits.filter((h) => h.hit === 'none')).toEqual([]);
  if (!process.env.LIFEBOAT_FAULT_REPORT) return;
  const calls = clean.calls.map(
    (c) => `${c.service} ${c.operation} ${c.region} ${c.path.replace(/\?.*/, '')}`,
  );
  console.log(JSON.stringify({ counts: clean.counts, calls, hits }, null, 2));
}
