import { readFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { LocalWorldError } from '../shared/errors.ts';

/**
 * Listens on `host:port` and resolves with the port bound. Port 0 means any free port outside
 * the kernel's ephemeral range (see `stablePortCandidates`). A failure to listen becomes a
 * LocalWorldError that says `what` could not listen where.
 */
export async function listenOn(
  server: Server,
  port: number,
  what: string,
  host = '127.0.0.1',
  candidates: Iterable<number> = stablePortCandidates(),
): Promise<number> {
  if (port !== 0) return listenExactly(server, port, what, host);
  let lastError: unknown;
  for (const candidate of candidates) {
    if (claimedPorts.has(candidate)) continue;
    try {
      const bound = await listenExactly(server, candidate, what, host);
      claimedPorts.add(bound);
      return bound;
    } catch (error) {
      if (!isAddressInUse(error)) throw error;
      lastError = error;
    }
  }
  throw new LocalWorldError(`${what} found no free port on ${host}`, { cause: lastError });
}

/**
 * Every port this process has bound for a port-0 listen. A listener taken down keeps its claim,
 * so a listener started meanwhile (a restored instance's, while the home region is down) never
 * takes the port the region comes back on.
 */
const claimedPorts = new Set<number>();

async function listenExactly(
  server: Server,
  port: number,
  what: string,
  host: string,
): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (cause: Error) =>
      reject(new LocalWorldError(`${what} cannot listen on ${host}:${port}`, { cause }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  return address && typeof address === 'object' ? address.port : port;
}

function isAddressInUse(error: unknown): boolean {
  return (
    error instanceof LocalWorldError &&
    (error.cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE'
  );
}

/**
 * Random ports below the kernel's ephemeral range. Why not port 0: the local world takes a
 * region or zone down by closing its listener and brings it back on the same port, and a port
 * the kernel handed out is also what it hands to outgoing connections (every SDK call to moto
 * takes one), so one of those can hold the port when the region returns (EADDRINUSE, seen in
 * CI). Ports below the range are only ever taken by explicit listens.
 */
export function* stablePortCandidates(attempts = 64): Generator<number> {
  const ephemeralStart = ephemeralRangeStart();
  const low = Math.max(1024, Math.min(20_000, ephemeralStart - 4096));
  for (let i = 0; i < attempts; i++) {
    yield low + Math.floor(Math.random() * (ephemeralStart - low));
  }
}

function ephemeralRangeStart(): number {
  try {
    const [start] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (start !== undefined && Number.isInteger(start) && start > 2048) return start;
  } catch {
    // Not Linux, or no procfs: use Linux's default range start.
  }
  return 32_768;
}

/**
 * A server on a loopback port that tracks the sockets it serves, so that closing it ends every
 * one of them: a proxy taken down must not leave a connection that still works.
 */
export class LoopbackServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;

  constructor(private readonly what: string) {}

  /** The port of the last listen (0 before the first). */
  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  get isListening(): boolean {
    return this.server !== undefined;
  }

  /** Listens with `server` on `port` (0: any free one). */
  async listen(server: Server, port: number): Promise<void> {
    this.boundPort = await listenOn(server, port, this.what);
    this.server = server;
  }

  /** Keeps a socket until it closes, so that `close` can end it. */
  track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Stops listening, ending every tracked socket with `end` at once (before the server closes). */
  async close(end: (socket: Socket) => void = (socket) => socket.destroy()): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) end(socket);
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
