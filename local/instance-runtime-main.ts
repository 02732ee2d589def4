import { parseArgs } from 'node:util';
import { useLocalEndpoint } from '../bin/commands/local.ts';
import { instanceStore } from '../shared/composition.ts';
import { findInstance, findRegion, loadConfig } from '../shared/config/load.ts';
import {
  ConfigError,
  UnknownInstanceError,
  UnknownRegionError,
  UsageError,
} from '../shared/errors.ts';
import { InstanceRuntime } from './instance-runtime.ts';

/*
 * One region's instance runtime as its own process, so the drill can kill a region for real.
 * stdout carries exactly one line, the JSON ready line; everything else goes to stderr.
 */

const USAGE = `usage: tsx local/instance-runtime-main.ts --config FILE --instance ID --region R [options]

  --config FILE              lifeboat config (YAML or JSON)
  --instance ID              the instance to serve (must be in the config)
  --region R                 the region whose instance store it is served from
  --endpoint-url URL         AWS endpoint (moto); sets fake credentials
  --port ZONE=PORT           listen on a fixed port for a zone (repeatable); default: a free port
  --reload-interval-ms N     also re-read the store every N ms (default 0: only on writes)
  --fenced                   start fenced: admin writes get 409

prints {"ready":true,"pid":…,"urls":{zone:url}} on stdout once listening. SIGTERM to that pid
stops it (under npx, npx does not pass SIGTERM on); it also stops when its parent process dies.`;

const SHUTDOWN_GRACE_MS = 5_000;
const PARENT_CHECK_MS = 1_000;

function parsePorts(values: string[] | undefined, zones: string[]): Record<string, number> {
  const ports: Record<string, number> = {};
  for (const value of values ?? []) {
    const match = /^([^=]+)=(\d+)$/.exec(value);
    if (!match) throw new UsageError(`--port: expected ZONE=PORT, got "${value}"`);
    const [, zone, text] = match as unknown as [string, string, string];
    const port = Number(text);
    if (!zones.includes(zone)) {
      throw new UsageError(
        `--port: unknown zone "${zone}"; this region's zones: ${zones.join(', ')}`,
      );
    }
    if (port < 1 || port > 65_535) throw new UsageError(`--port: ${port} is not a TCP port`);
    ports[zone] = port;
  }
  return ports;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: 'string' },
      instance: { type: 'string' },
      region: { type: 'string' },
      'endpoint-url': { type: 'string' },
      port: { type: 'string', multiple: true },
      'reload-interval-ms': { type: 'string' },
      fenced: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  for (const name of ['config', 'instance', 'region'] as const) {
    if (!values[name]) throw new UsageError(`--${name} is required\n${USAGE}`);
  }
  const endpoint = values['endpoint-url'];
  if (endpoint !== undefined) {
    if (!/^https?:\/\/[^\s]+$/.test(endpoint)) {
      throw new UsageError(`--endpoint-url: not an http(s) URL: ${endpoint}`);
    }
    useLocalEndpoint(endpoint);
  }
  const reloadText = values['reload-interval-ms'] ?? '0';
  const reloadIntervalMs = Number(reloadText);
  if (!/^\d+$/.test(reloadText) || reloadIntervalMs > 3_600_000) {
    throw new UsageError(
      `--reload-interval-ms: expected a whole number of ms up to 3600000, got "${reloadText}"`,
    );
  }

  const config = loadConfig(values.config as string);
  const instance = findInstance(config, values.instance as string);
  const region = findRegion(config, values.region as string);
  const ports = parsePorts(values.port, region.zones);

  const runtime = new InstanceRuntime({
    instanceId: instance.id,
    region: region.name,
    zones: region.zones,
    store: instanceStore(config, region.name),
    ports,
    reloadIntervalMs,
    fenced: values.fenced ?? false,
    log: (message) => process.stderr.write(`${message}\n`),
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`instance runtime ${instance.id} (${region.name}): ${signal}, stopping\n`);
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
    runtime.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`instance runtime: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Whatever started us (the drill, tsx) died without stopping us: do not linger holding ports.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) shutdown('parent process gone');
  }, PARENT_CHECK_MS).unref();

  await runtime.start();
  const status = runtime.status();
  if (!status.storeReachable) {
    process.stderr.write(
      `instance runtime ${instance.id} (${region.name}): serving without config: ${status.lastError}\n`,
    );
  }
  process.stdout.write(
    `${JSON.stringify({
      ready: true,
      pid: process.pid,
      instanceId: instance.id,
      region: region.name,
      urls: runtime.urls(),
      configDigest: status.configDigest,
      storeReachable: status.storeReachable,
    })}\n`,
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Exit 2: the command line or config is wrong, and trying again will not help.
  if (
    error instanceof UsageError ||
    error instanceof ConfigError ||
    error instanceof UnknownInstanceError ||
    error instanceof UnknownRegionError ||
    (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  ) {
    process.stderr.write(`instance-runtime: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const detail =
    error instanceof Error
      ? `${error.message}${error.cause ? ` (${String(error.cause)})` : ''}`
      : String(error);
  process.stderr.write(`instance-runtime: ${detail}\n`);
  process.exit(1);
});
