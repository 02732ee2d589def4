import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { listenOn } from './listen.ts';

/**
 * A TCP proxy on loopback that stands for one region's network path. Taking it down closes the
 * listener and resets every open connection, so clients see a real "connection refused", not a
 * flag the code under test could read.
 */
export class RegionProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;

  constructor(
    readonly name: string,
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  get isUp(): boolean {
    return this.server !== undefined;
  }

  /** Starts listening; after a `down()`, listens again on the same port. */
  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.pipe(client));
    this.boundPort = await listenOn(server, this.boundPort, `proxy ${this.name}`);
    this.server = server;
  }

  /** Stops listening and resets every connection in flight. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private pipe(client: Socket): void {
    const upstream = createConnection({ port: this.targetPort, host: this.targetHost });
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
