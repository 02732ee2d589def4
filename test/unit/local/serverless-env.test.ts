import { afterEach, describe, expect, it, vi } from 'vitest';
import { serverlessEnv } from '../../../local/serverless-env.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('serverlessEnv', () => {
  it("drops the machine's config, profile and session token and adds dummy keys", () => {
    vi.stubEnv('LIFEBOAT_CONFIG', '/home/me/lifeboat.yml');
    vi.stubEnv('AWS_PROFILE', 'prod');
    vi.stubEnv('AWS_SESSION_TOKEN', 'secret');
    const env = serverlessEnv({ AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' });
    expect(env).toMatchObject({
      AWS_ACCESS_KEY_ID: 'test',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:5000',
      SLS_TELEMETRY_DISABLED: '1',
    });
    for (const name of ['LIFEBOAT_CONFIG', 'AWS_PROFILE', 'AWS_SESSION_TOKEN'])
      expect(env, name).not.toHaveProperty(name);
    expect(process.env.AWS_PROFILE).toBe('prod');
  });
});
