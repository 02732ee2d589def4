import { openSync } from 'node:fs';
import { startMoto, waitForMoto } from '../../local/moto.ts';
import { provisionWorld } from '../../local/provision.ts';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import {
  clearWorldState,
  isAlive,
  readWorldState,
  STATE_FILE,
  writeWorldState,
} from '../../local/world-state.ts';
import { instanceStore } from '../../shared/composition.ts';
import { DEFAULT_CONFIG_PATH } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import { UsageError } from '../../shared/errors.ts';
import type { Verb } from '../cli/verb.ts';

/** Fake credentials: moto accepts anything, and real ones must never reach a local world. */
export const LOCAL_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
};

/** Points this process's SDK clients at a local endpoint. */
export function useLocalEndpoint(endpoint: string): void {
  Object.assign(process.env, LOCAL_CREDENTIALS, { AWS_ENDPOINT_URL: endpoint });
}

/** Creates buckets and buses, and seeds each instance's home store with sample config. */
export async function provisionAndSeed(
  config: LifeboatConfig,
  apisPerInstance = 20,
): Promise<void> {
  await provisionWorld(config);
  for (const [index, instance] of config.instances.entries()) {
    const store = instanceStore(config, instance.homeRegion);
    if ((await store.list(instance.id)).length > 0) continue;
    await seedInstance(
      store,
      instance.id,
      sampleInstanceObjects({ apis: apisPerInstance, seed: index + 1 }),
    );
  }
}

function exportLines(endpoint: string): string {
  const env = { ...LOCAL_CREDENTIALS, AWS_ENDPOINT_URL: endpoint };
  return Object.entries(env)
    .map(([k, v]) => `export ${k}=${v}`)
    .join('\n');
}

/** `lifeboat local up|down|status`. */
export async function localCommand(
  args: string[],
  config: LifeboatConfig,
  configPath: string,
): Promise<number> {
  const [action] = args;
  const existing = readWorldState();
  switch (action) {
    case 'up': {
      if (existing && isAlive(existing.pid)) {
        await waitForMoto(existing.endpoint);
        console.log(`local AWS already running at ${existing.endpoint} (pid ${existing.pid})\n`);
        console.log(exportLines(existing.endpoint));
        return 0;
      }
      const log = openSync('.lifeboat-moto.log', 'a');
      const moto = await startMoto({ detached: true, logFile: log });
      useLocalEndpoint(moto.endpoint);
      writeWorldState({
        pid: moto.pid,
        endpoint: moto.endpoint,
        startedAt: new Date().toISOString(),
        configPath: configPath ?? DEFAULT_CONFIG_PATH,
      });
      await provisionAndSeed(config);
      console.log(
        `local AWS (moto_server) at ${moto.endpoint}, pid ${moto.pid}; state in ${STATE_FILE}`,
      );
      console.log(
        `regions: ${config.regions.map((r) => r.name).join(', ')}; instances seeded: ${config.instances.map((i) => i.id).join(', ')}\n`,
      );
      console.log('# paste into your shell:');
      console.log(exportLines(moto.endpoint));
      return 0;
    }
    case 'down': {
      if (!existing) {
        console.log('no local AWS recorded; nothing to stop');
        return 0;
      }
      if (isAlive(existing.pid)) process.kill(existing.pid, 'SIGTERM');
      clearWorldState();
      console.log(`stopped local AWS at ${existing.endpoint} (pid ${existing.pid})`);
      return 0;
    }
    case 'status': {
      if (!existing || !isAlive(existing.pid)) {
        console.log('local AWS is not running');
        return 1;
      }
      console.log(
        `local AWS running at ${existing.endpoint} (pid ${existing.pid}) since ${existing.startedAt}`,
      );
      return 0;
    }
    default:
      throw new UsageError(`local: expected up, down or status, got ${action ?? 'nothing'}`);
  }
}

/** The endpoint of the running local world, for verbs that need one. */
export function runningLocalEndpoint(): string {
  const state = readWorldState();
  if (!state || !isAlive(state.pid)) {
    // Nothing was attempted: the invocation did not say which AWS to use (exit 2).
    throw new UsageError(
      'no local AWS is running: start one with `npm run local:up`, or set AWS_ENDPOINT_URL',
    );
  }
  return state.endpoint;
}

/** The `local` verb of the command line. */
export const local: Verb = {
  name: 'local',
  args: '[action]',
  summary: 'up|down|status: a local AWS (moto_server) provisioned from the config',
  details: 'up prints the exports that point a shell at it; the other verbs find it on their own.',
  options: [],
  needsAws: false,
  run: ({ config, configPath, args }) => localCommand(args, config, configPath),
};
