/**
 * The environment of a credentials-free `serverless` run (package, deploy into moto): dummy
 * keys, no telemetry or notifications, and none of the machine's LIFEBOAT_CONFIG, AWS profile
 * or session token, so the run sees the repository's default config. `extra` goes on top.
 */
export function serverlessEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    ...extra,
  };
  for (const name of ['LIFEBOAT_CONFIG', 'AWS_PROFILE', 'AWS_SESSION_TOKEN']) delete env[name];
  return env;
}
