import { createConnection, createServer, type Socket } from 'node:net';
import { LoopbackServer } from './listen.ts';

/**
 * A TCP proxy on loopback that stands for one region's network path. Taking it down closes the
 * listener and resets every open connection, so clients see a real "connection refused", not a
 * flag the code under test could read.
 */
export class RegionProxy {
  private readonly listener: LoopbackServer;

  constructor(
    readonly name: string,
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {
    this.listener = new LoopbackServer(`proxy ${name}`);
  }

  get port(): number {
    return this.listener.port;
  }

  get url(): string {
    return this.listener.url;
  }

  get isUp(): boolean {
    return this.listener.isListening;
  }

  /** Starts listening; after a `down()`, listens again on the same port. */
  async up(): Promise<void> {
    if (this.listener.isListening) return;
    await this.listener.listen(
      createServer((client) => this.pipe(client)),
      this.listener.port,
    );
  }

  /** Stops listening and resets every connection in flight. */
  async down(): Promise<void> {
    await this.listener.close((socket) => socket.resetAndDestroy());
  }

  private pipe(client: Socket): void {
    const upstream = createConnection({ port: this.targetPort, host: this.targetHost });
    this.listener.track(client);
    this.listener.track(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
