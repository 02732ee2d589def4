import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterEach, describe, expect, it } from 'vitest';
import { dnsVerb } from '../../bin/commands/dns.ts';
import { Route53Dns } from '../../shared/adapters/route53-dns.ts';
import { parseConfig } from '../../shared/config/load.ts';
import { dnsSpecFor } from '../../shared/domain/recovery/run-store.ts';
import { createMotoWorld, type MotoWorld } from '../worlds/moto.ts';

let world: MotoWorld;
afterEach(async () => {
  await world?.close();
});

async function setUp() {
  world = await createMotoWorld();
  const prefix = world.config.naming.bucketPrefix;
  const route53 = new Route53Client({ region: 'us-east-1', endpoint: world.endpoint });
  const zone = await route53.send(
    new CreateHostedZoneCommand({
      Name: `${prefix}.lifeboat.test`,
      CallerReference: `${prefix}-dns`,
    }),
  );
  const raw = JSON.parse(JSON.stringify(world.config));
  raw.instances[0].dns = {
    hostedZoneId: (zone.HostedZone?.Id ?? '').replace('/hostedzone/', ''),
    recordName: `petstore.${prefix}.lifeboat.test`,
  };
  raw.instances[0].endpoints = {
    'us-east-1': { url: 'https://petstore.use1.example.com' },
    'us-east-2': { url: 'https://petstore.use2.example.com' },
  };
  const config = parseConfig(raw, 'dns test');
  return { config, dns: new Route53Dns(route53, { baseDelayMs: 5, pollMs: 5 }) };
}

describe('lifeboat dns precreate', () => {
  it('shows the records it would create and changes nothing without --approve', async () => {
    const { config, dns } = await setUp();
    const lines: string[] = [];

    const code = await dnsVerb(config, ['precreate'], {}, { dns, out: (l) => lines.push(l) });

    expect(code).toBe(3);
    expect(lines.join('\n')).toMatch(
      /petstore: .* lacks us-east-1, us-east-2; would create us-east-1=100 us-east-2=0/,
    );
    expect(
      await dns.readWeights(dnsSpecFor(config.instances[0] as (typeof config.instances)[number])),
    ).toEqual({});
  });

  it('creates one weighted record per region, home at full weight, when approved', async () => {
    const { config, dns } = await setUp();

    const code = await dnsVerb(
      config,
      ['precreate'],
      { approve: true },
      { dns, out: () => undefined },
    );
    const again = await dnsVerb(config, ['precreate'], {}, { dns, out: () => undefined });

    expect(code).toBe(0);
    expect(again).toBe(0);
    expect(
      await dns.readWeights(dnsSpecFor(config.instances[0] as (typeof config.instances)[number])),
    ).toEqual({
      'us-east-1': 100,
      'us-east-2': 0,
    });
  });
});
