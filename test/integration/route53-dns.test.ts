import { randomBytes } from 'node:crypto';
import {
  ChangeResourceRecordSetsCommand,
  CreateHealthCheckCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { useLocalEndpoint } from '../../bin/commands/local.ts';
import { freePort } from '../../local/moto.ts';
import { Route53Dns, route53ClientFor } from '../../shared/adapters/route53-dns.ts';
import type { DnsRecordSpec } from '../../shared/domain/recovery/ports.ts';
import { DnsChangeError, DnsChangeRejectedError } from '../../shared/errors.ts';

const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2'] as const;
// Retries must not slow the suite down; the backoff itself is covered by unit tests.
const FAST = { baseDelayMs: 5, maxDelayMs: 20 };

let endpoint: string;
let client: Route53Client;
let spec: DnsRecordSpec;

beforeAll(() => {
  endpoint = inject('motoEndpoint');
  useLocalEndpoint(endpoint);
  client = route53ClientFor(endpoint);
});

/** A fresh hosted zone per test, so tests share one moto_server without seeing each other. */
beforeEach(async () => {
  const zoneName = `t${randomBytes(4).toString('hex')}.example.com.`;
  const zone = await client.send(
    new CreateHostedZoneCommand({ Name: zoneName, CallerReference: zoneName }),
  );
  const zoneId = zone.HostedZone?.Id?.replace('/hostedzone/', '') ?? '';
  spec = {
    instanceId: 'petstore',
    hostedZoneId: zoneId,
    recordName: `petstore.${zoneName.slice(0, -1)}`,
    ttl: 30,
    targets: Object.fromEntries(REGIONS.map((r) => [r, `petstore.${r}.example.net`])),
  };
});

async function listRecords(zoneId: string): Promise<ResourceRecordSet[]> {
  const page = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return page.ResourceRecordSets ?? [];
}

describe('Route53Dns against moto', () => {
  it('reads back exactly the weights it applied when records are created', async () => {
    const dns = new Route53Dns(client, FAST);
    const result = await dns.applyWeights(spec, {
      'us-east-1': 80,
      'us-east-2': 15,
      'us-west-2': 5,
    });
    expect(result.attempts).toBe(1);
    expect(result.changeId).not.toBe('');
    expect(await dns.readWeights(spec)).toEqual({
      'us-east-1': 80,
      'us-east-2': 15,
      'us-west-2': 5,
    });
    const cnames = (await listRecords(spec.hostedZoneId)).filter((r) => r.Type === 'CNAME');
    expect(cnames.map((r) => [r.SetIdentifier, r.TTL, r.ResourceRecords?.[0]?.Value])).toEqual(
      expect.arrayContaining(REGIONS.map((r) => [r, 30, `petstore.${r}.example.net`])),
    );
  });

  it('replaces the weights in place when a failover plan is applied over existing records', async () => {
    const dns = new Route53Dns(client, FAST);
    await dns.precreate(spec, { 'us-east-1': 100, 'us-east-2': 0, 'us-west-2': 0 });
    await dns.applyWeights(spec, { 'us-east-1': 0, 'us-east-2': 100, 'us-west-2': 0 });
    expect(await dns.readWeights(spec)).toEqual({
      'us-east-1': 0,
      'us-east-2': 100,
      'us-west-2': 0,
    });
    // UPSERT, not CREATE: still one record per region.
    const cnames = (await listRecords(spec.hostedZoneId)).filter((r) => r.Type === 'CNAME');
    expect(cnames).toHaveLength(REGIONS.length);
  });

  it('ties a region record to its health check when the spec names one', async () => {
    const created = await client.send(
      new CreateHealthCheckCommand({
        CallerReference: `hc-${randomBytes(6).toString('hex')}`,
        HealthCheckConfig: {
          Type: 'HTTPS',
          FullyQualifiedDomainName: 'petstore.us-west-2.example.net',
          Port: 443,
          ResourcePath: '/health',
          RequestInterval: 10,
          FailureThreshold: 3,
        },
      }),
    );
    const healthCheckId = created.HealthCheck?.Id ?? '';
    expect(healthCheckId).not.toBe('');
    const dns = new Route53Dns(client, FAST);
    await dns.applyWeights(
      { ...spec, healthChecks: { 'us-west-2': healthCheckId } },
      { 'us-east-1': 50, 'us-east-2': 50, 'us-west-2': 50 },
    );
    const bySetId = new Map(
      (await listRecords(spec.hostedZoneId)).map((r) => [r.SetIdentifier, r.HealthCheckId]),
    );
    expect(bySetId.get('us-west-2')).toBe(healthCheckId);
    expect(bySetId.get('us-east-1')).toBeUndefined();
    expect(bySetId.get('us-east-2')).toBeUndefined();
  });

  it('ignores other set identifiers and neighbouring names when reading weights', async () => {
    const dns = new Route53Dns(client, FAST);
    await dns.applyWeights(spec, { 'us-east-1': 1, 'us-east-2': 2, 'us-west-2': 3 });
    const foreign = (name: string, setId: string, weight: number) => ({
      Action: 'UPSERT' as const,
      ResourceRecordSet: {
        Name: name,
        Type: 'CNAME' as const,
        SetIdentifier: setId,
        Weight: weight,
        TTL: 60,
        ResourceRecords: [{ Value: 'elsewhere.example.net' }],
      },
    });
    const zone = spec.recordName.slice('petstore.'.length);
    await client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: spec.hostedZoneId,
        ChangeBatch: {
          Changes: [
            foreign(spec.recordName, 'legacy-blue', 200),
            foreign(`api.${spec.recordName}`, 'us-east-1', 250),
            foreign(`zz.${zone}`, 'us-east-2', 250),
            foreign(`a.${zone}`, 'us-west-2', 250),
          ],
        },
      }),
    );
    expect(await dns.readWeights(spec)).toEqual({ 'us-east-1': 1, 'us-east-2': 2, 'us-west-2': 3 });
    // The same record, named with its trailing dot.
    expect(await dns.readWeights({ ...spec, recordName: `${spec.recordName}.` })).toEqual({
      'us-east-1': 1,
      'us-east-2': 2,
      'us-west-2': 3,
    });
  });

  it('returns no weights when no record exists yet', async () => {
    expect(await new Route53Dns(client, FAST).readWeights(spec)).toEqual({});
  });

  it('retries and reports 2 attempts when the first change batch is throttled', async () => {
    // A client of its own: the middleware must not leak into the shared, cached one.
    const faulty = new Route53Client({ region: 'us-east-1', endpoint, maxAttempts: 1 });
    let changeCalls = 0;
    faulty.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ChangeResourceRecordSetsCommand' && changeCalls++ === 0) {
          throw Object.assign(new Error('Rate exceeded'), {
            name: 'Throttling',
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
            $retryable: { throttling: true },
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'throttleFirstChange' },
    );
    const dns = new Route53Dns(faulty, FAST);
    const result = await dns.applyWeights(spec, {
      'us-east-1': 0,
      'us-east-2': 0,
      'us-west-2': 255,
    });
    expect(result.attempts).toBe(2);
    expect(changeCalls).toBe(2);
    expect(await dns.readWeights(spec)).toEqual({
      'us-east-1': 0,
      'us-east-2': 0,
      'us-west-2': 255,
    });
  });

  it('gives up with DnsChangeError after maxAttempts when the control plane refuses connections', async () => {
    const deadPort = await freePort();
    const unreachable = new Route53Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${deadPort}`,
      maxAttempts: 1,
    });
    const dns = new Route53Dns(unreachable, { ...FAST, maxAttempts: 3 });
    const caught = await dns
      .applyWeights(spec, { 'us-east-1': 100, 'us-east-2': 0, 'us-west-2': 0 })
      .catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(DnsChangeError);
    expect((caught as DnsChangeError).attempts).toBe(3);
  });

  it('fails at once with DnsChangeRejectedError when the hosted zone does not exist', async () => {
    const dns = new Route53Dns(client, FAST);
    const caught = await dns
      .applyWeights(
        { ...spec, hostedZoneId: 'ZNOSUCHZONE0000' },
        { 'us-east-1': 100, 'us-east-2': 0, 'us-west-2': 0 },
      )
      .catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(DnsChangeRejectedError);
    expect((caught as DnsChangeRejectedError).code).toBe('NoSuchHostedZone');
  });
});
