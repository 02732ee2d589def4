import { DEFAULT_CONFIG_PATH, loadConfig } from '../config/load.ts';
import type { LifeboatConfig } from '../config/schema.ts';

/**
 * The region this copy of a function runs in: LIFEBOAT_REGION (the stack sets it; local runs
 * and tests pick a region with it), then Lambda's AWS_REGION, then the config's first region.
 */
export function runtimeRegion(
  config: LifeboatConfig,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return env.LIFEBOAT_REGION ?? env.AWS_REGION ?? config.regions[0]?.name ?? 'us-east-1';
}

/**
 * A handler's real dependencies, built on first use and cached per config path. On first use,
 * not at import: a broken config then fails the invocation with a clear ConfigError in the logs
 * instead of an opaque init crash; cached, so warm starts reuse clients and connections.
 */
export function cachedDeps<TDeps>(
  build: (config: LifeboatConfig, env: NodeJS.ProcessEnv) => TDeps,
): (env?: NodeJS.ProcessEnv) => TDeps {
  const cache = new Map<string, TDeps>();
  return (env = process.env) => {
    const path = env.LIFEBOAT_CONFIG ?? DEFAULT_CONFIG_PATH;
    let deps = cache.get(path);
    if (deps === undefined) {
      deps = build(loadConfig(path), env);
      cache.set(path, deps);
    }
    return deps;
  };
}
