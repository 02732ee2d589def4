import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { useLocalEndpoint } from '../../bin/commands/local.ts';
import { provisionWorld } from '../../local/provision.ts';
import { RegionProxy } from '../../local/tcp-proxy.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { REGIONS, regionEntries } from './regions.ts';

/** A provisioned multi-region world on the shared moto_server, with one TCP proxy per region. */
export interface MotoWorld {
  config: LifeboatConfig;
  endpoint: string;
  proxies: Map<string, RegionProxy>;
  close(): Promise<void>;
}

/**
 * Builds a fresh world: unique bucket names (so test files can share one moto_server), one
 * instance homed in us-east-1 and replicated to three regions.
 */
export async function createMotoWorld(
  overrides: { instances?: unknown[]; failback?: unknown } = {},
): Promise<MotoWorld> {
  const endpoint = inject('motoEndpoint');
  useLocalEndpoint(endpoint);
  const port = Number(new URL(endpoint).port);
  const proxies = new Map(REGIONS.map((r) => [r, new RegionProxy(r, port)] as const));
  for (const proxy of proxies.values()) await proxy.up();
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const config = parseConfig(
    {
      version: 1,
      naming: { bucketPrefix: prefix, eventBusName: `${prefix}-bus` },
      regions: regionEntries({ endpointUrl: (name) => proxies.get(name)?.url }),
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
