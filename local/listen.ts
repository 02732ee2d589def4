import type { Server, Socket } from 'node:net';
import { LocalWorldError } from '../shared/errors.ts';

/**
 * Listens on `host:port` (port 0: any free one) and resolves with the port bound. A failure to
 * listen becomes a LocalWorldError that says `what` could not listen where.
 */
export async function listenOn(
  server: Server,
  port: number,
  what: string,
  host = '127.0.0.1',
): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) =>
      reject(new LocalWorldError(`${what} cannot listen on ${host}:${port}`, { cause })),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return address && typeof address === 'object' ? address.port : port;
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
