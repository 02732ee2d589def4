import { randomBytes } from 'node:crypto';
import { accessLogArn } from '../../local/apigateway-sample.ts';
import { createMotoWorld, type MotoWorld } from './moto.ts';

/** The certificate ARNs of the test domain, one per region. */
export const CERTIFICATES: Record<string, string> = {
  'us-east-1': 'arn:aws:acm:us-east-1:123456789012:certificate/aaaa-1111',
  'us-west-2': 'arn:aws:acm:us-west-2:123456789012:certificate/bbbb-2222',
  'us-east-2': 'arn:aws:acm:us-east-2:123456789012:certificate/cccc-3333',
};

/**
 * A test world with one API Gateway instance homed in us-east-1. Its id is unique, because
 * every test file shares one moto_server and API Gateway is account-wide, not per bucket.
 */
export async function createApiGatewayWorld(
  references: Record<string, Record<string, string>> = {
    'shop-cert': CERTIFICATES,
    'access-logs': Object.fromEntries(Object.keys(CERTIFICATES).map((r) => [r, accessLogArn(r)])),
  },
  options: { hostedZoneId?: string } = {},
): Promise<MotoWorld> {
  const id = `shop-${randomBytes(3).toString('hex')}`;
  return createMotoWorld({
    instances: [
      {
        id,
        kind: 'apigateway',
        // The tests are the only writers and they write before a failback, not during it.
        apigateway: { references, fenceSettleSeconds: 0 },
        homeRegion: 'us-east-1',
        replicaRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
        dns: { hostedZoneId: options.hostedZoneId ?? 'Z1', recordName: `${id}.example.com` },
        // The REGIONAL custom domain's host in each region: what the weighted records point at.
        endpoints: Object.fromEntries(
          Object.keys(CERTIFICATES).map((r) => [r, { url: `https://${id}.${r}.example.com/` }]),
        ),
      },
    ],
    failback: { canaryPercents: [10, 50, 100], stepSeconds: 0, healthChecksPerStep: 1 },
  });
}
