import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { useLocalEndpoint } from '../../bin/commands/local.ts';
import { provisionWorld } from '../../local/provision.ts';
import { RegionProxy } from '../../local/tcp-proxy.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';

/** A provisioned multi-region world on the shared moto_server, with one TCP proxy per region. */
export interface TestWorld {
  config: LifeboatConfig;
  endpoint: string;
  proxies: Map<string, RegionProxy>;
  close(): Promise<void>;
}

export const TEST_REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1'] as const;

/**
 * Builds a fresh world: unique bucket names (so test files can share one moto_server), one
 * instance homed in us-east-1 and replicated to three regions.
 */
export async function createTestWorld(
  overrides: { instances?: unknown[]; failback?: unknown } = {},
): Promise<TestWorld> {
  const endpoint = inject('motoEndpoint');
  useLocalEndpoint(endpoint);
  const port = Number(new URL(endpoint).port);
  const proxies = new Map(TEST_REGIONS.map((r) => [r, new RegionProxy(r, port)] as const));
  for (const proxy of proxies.values()) await proxy.up();
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const locations: Record<string, { lat: number; lon: number }> = {
    'us-east-1': { lat: 38.9, lon: -77.4 },
    'us-east-2': { lat: 40.0, lon: -83.0 },
    'us-west-2': { lat: 45.8, lon: -119.7 },
    'eu-west-1': { lat: 53.3, lon: -6.3 },
  };
  const config = parseConfig(
    {
      version: 1,
      naming: { bucketPrefix: prefix, eventBusName: `${prefix}-bus` },
      regions: TEST_REGIONS.map((name) => ({
        name,
        location: locations[name],
        capacity: 2,
        zones: [`${name}a`, `${name}b`],
        endpointUrl: proxies.get(name)?.url,
      })),
      ...(overrides.failback ? { failback: overrides.failback } : {}),
      instances: overrides.instances ?? [
        {
          id: 'petstore',
          homeRegion: 'us-east-1',
          replicaRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
          dns: { hostedZoneId: 'Z1', recordName: 'petstore.example.com' },
          endpoints: { 'us-east-1': { url: 'http://127.0.0.1:1/' } },
        },
      ],
    },
    'test world',
  );
  await provisionWorld(config);
  return {
    config,
    endpoint,
    proxies,
    close: async () => {
      for (const proxy of proxies.values()) await proxy.down();
    },
  };
}
