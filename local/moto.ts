import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalWorldError } from '../shared/errors.ts';

/** A running moto_server: one process that serves every AWS service and region. */
export interface MotoServer {
  endpoint: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new LocalWorldError('could not allocate a loopback port'));
      });
    });
  });
}

/** Polls moto's own API until it answers or the deadline passes. */
export async function waitForMoto(endpoint: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`, {
        signal: AbortSignal.timeout(2000),
      });
      if (response.ok) return;
      lastError = new Error(`HTTP ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new LocalWorldError(`moto_server at ${endpoint} did not answer within ${timeoutMs} ms`, {
    cause: lastError,
  });
}

/**
 * A folder with a `sitecustomize.py` that caches two results moto recomputes on every request
 * (a JSONPath parser per EventBridge delivery, its own module list per request): about two
 * thirds of its CPU under the drill. What moto answers does not change.
 */
const MOTO_SPEEDUPS = join(dirname(fileURLToPath(import.meta.url)), 'moto-python');

/**
 * Starts moto_server on a free loopback port. `detached` lets it outlive this process
 * (`npm run local:up`); otherwise it dies with us.
 */
export async function startMoto(
  options: { detached?: boolean; logFile?: number } = {},
): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  try {
    child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
      detached: options.detached ?? false,
      stdio: ['ignore', options.logFile ?? 'ignore', options.logFile ?? 'ignore'],
      env: {
        ...process.env,
        MOTO_ALLOW_NONEXISTENT_REGION: 'false',
        PYTHONPATH: [MOTO_SPEEDUPS, process.env.PYTHONPATH].filter(Boolean).join(delimiter),
      },
    });
  } catch (cause) {
    throw new LocalWorldError(
      'cannot start moto_server: is it installed (pip install "moto[server]")?',
      { cause },
    );
  }
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (cause) =>
      reject(
        new LocalWorldError(
          'cannot start moto_server: is it installed (pip install "moto[server]")?',
          { cause },
        ),
      ),
    );
    child.once('exit', (code) =>
      reject(new LocalWorldError(`moto_server exited early with code ${code}`)),
    );
  });
  exited.catch(() => undefined);
  await Promise.race([waitForMoto(endpoint), exited]);
  if (options.detached) child.unref();
  const pid = child.pid ?? -1;
  return {
    endpoint,
    port,
    pid,
    stop: () => stopProcess(child),
  };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(timer);
}

/** Wipes every resource moto holds. */
export async function resetMoto(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new LocalWorldError(`moto reset failed: HTTP ${response.status}`);
}
