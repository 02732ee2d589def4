import { describe, expect, it } from 'vitest';
import { eventBridgeClientFor, s3ClientFor } from '../../../../shared/adapters/aws-clients.ts';

describe('s3ClientFor', () => {
  it('returns the same client when asked twice for the same region and endpoint', () => {
    const a = s3ClientFor({ region: 'eu-west-1' }, {});
    expect(s3ClientFor({ region: 'eu-west-1' }, {})).toBe(a);
    expect(s3ClientFor({ region: 'us-west-2' }, {})).not.toBe(a);
  });

  it('uses path-style addressing when an endpoint is given', async () => {
    const local = s3ClientFor({ region: 'us-east-1', endpointUrl: 'http://127.0.0.1:45001' }, {});
    expect(local.config.forcePathStyle).toBe(true);
    expect(await local.config.region()).toBe('us-east-1');
    const fromEnv = s3ClientFor(
      { region: 'us-east-1' },
      { AWS_ENDPOINT_URL: 'http://127.0.0.1:45002' },
    );
    expect(fromEnv).not.toBe(local);
    expect(fromEnv.config.forcePathStyle).toBe(true);
  });

  it('uses virtual-host addressing when no endpoint is configured', () => {
    expect(s3ClientFor({ region: 'ap-southeast-2' }, {}).config.forcePathStyle).toBeFalsy();
  });
});

describe('eventBridgeClientFor', () => {
  it('returns one client per region and endpoint when asked repeatedly', async () => {
    const a = eventBridgeClientFor({ region: 'eu-west-1' }, {});
    expect(eventBridgeClientFor({ region: 'eu-west-1' }, {})).toBe(a);
    expect(await a.config.region()).toBe('eu-west-1');
    expect(
      eventBridgeClientFor({ region: 'eu-west-1', endpointUrl: 'http://127.0.0.1:1' }, {}),
    ).not.toBe(a);
  });
});
