import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ConfigError, UnknownInstanceError, UnknownRegionError } from '../errors.ts';
import { firstProblem, formatPath } from '../validation.ts';
import {
  ConfigSchema,
  type InstanceConfig,
  type LifeboatConfig,
  type RegionConfig,
} from './schema.ts';

/**
 * The config that ships in the repository and drives the local world. Inside a Lambda bundle
 * (CommonJS, no `import.meta.url`) it is the packaged file in the working directory.
 */
export const DEFAULT_CONFIG_PATH =
  typeof import.meta.url === 'string' && import.meta.url.startsWith('file:')
    ? fileURLToPath(new URL('../../lifeboat.config.yml', import.meta.url))
    : resolve('lifeboat.config.yml');

/**
 * Where the document has an own "__proto__" key, if anywhere. zod's records drop such a key
 * without a word (their guard against prototype pollution), which would silently lose what
 * the author wrote. Iterative with a visited set: deep or aliased YAML cannot overflow it.
 */
function protoKeyPath(document: unknown): (string | number)[] | undefined {
  const parents = new Map<object, { parent: object; key: string | number } | undefined>();
  const pending: object[] = [];
  if (document !== null && typeof document === 'object') {
    parents.set(document, undefined);
    pending.push(document);
  }
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (!Array.isArray(node) && Object.hasOwn(node, '__proto__')) {
      const path: (string | number)[] = ['__proto__'];
      for (let at = parents.get(node); at; at = parents.get(at.parent)) path.unshift(at.key);
      return path;
    }
    for (const [key, child] of Object.entries(node)) {
      if (child === null || typeof child !== 'object' || parents.has(child)) continue;
      parents.set(child, { parent: node, key: Array.isArray(node) ? Number(key) : key });
      pending.push(child);
    }
  }
  return undefined;
}

/** Validates an already-parsed config document; `file` only labels errors. */
export function parseConfig(document: unknown, file: string): LifeboatConfig {
  const protoKey = protoKeyPath(document);
  if (protoKey)
    throw new ConfigError(file, formatPath(protoKey), 'a key named "__proto__" is not allowed');
  const result = ConfigSchema.safeParse(document);
  if (!result.success) {
    const { field, message } = firstProblem(result.error);
    throw new ConfigError(file, field, message);
  }
  return result.data;
}

/** Reads and validates a YAML or JSON config file. */
export function loadConfig(path: string): LifeboatConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(file, '', `cannot read the config file (${(cause as Error).message})`, {
      cause,
    });
  }
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (cause) {
    throw new ConfigError(
      file,
      '',
      `not valid YAML/JSON: ${(cause as Error).message.split('\n')[0]}`,
      {
        cause,
      },
    );
  }
  return parseConfig(document, file);
}

/** The config named by LIFEBOAT_CONFIG, or the embedded default. */
export function loadConfigFromEnv(env: NodeJS.ProcessEnv = process.env): LifeboatConfig {
  return loadConfig(env.LIFEBOAT_CONFIG ?? DEFAULT_CONFIG_PATH);
}

/** Looks a region up by name. */
export function findRegion(config: LifeboatConfig, name: string): RegionConfig {
  const region = config.regions.find((r) => r.name === name);
  if (!region) throw new UnknownRegionError(name);
  return region;
}

/** Looks an instance up by id. */
export function findInstance(config: LifeboatConfig, id: string): InstanceConfig {
  const instance = config.instances.find((i) => i.id === id);
  if (!instance) throw new UnknownInstanceError(id);
  return instance;
}

/** Bucket names of one region, defaults derived from the naming prefix. */
export interface RegionBuckets {
  backup: string;
  instanceStore: string;
  control: string;
}

/** The three buckets lifeboat uses in a region. */
export function regionBuckets(config: LifeboatConfig, region: RegionConfig): RegionBuckets {
  const prefix = config.naming.bucketPrefix;
  return {
    backup: region.backupBucket ?? `${prefix}-backup-${region.name}`,
    instanceStore: region.instanceStoreBucket ?? `${prefix}-store-${region.name}`,
    control: region.controlBucket ?? `${prefix}-control-${region.name}`,
  };
}

/** Replica regions that must hold a snapshot for it to count: configured, or a majority. */
export function snapshotQuorum(instance: InstanceConfig): number {
  return instance.snapshot.quorum ?? Math.floor(instance.replicaRegions.length / 2) + 1;
}
