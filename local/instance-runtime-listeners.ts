import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listenOn } from './listen.ts';

/** The instance runtime's listeners: one HTTP server per zone, so a zone can go down alone. */

interface ZoneServer {
  zone: string;
  port: number;
  server: Server | undefined;
  sockets: Set<Socket>;
}

/**
 * One listener per zone. A zone outage closes the listener and resets the connections in flight
 * (clients see ECONNRESET / ECONNREFUSED, a real fault), then listens again on the same port.
 */
export class ZoneListeners {
  private readonly zoneServers: Map<string, ZoneServer>;

  constructor(
    zones: readonly string[],
    ports: Record<string, number> | undefined,
    private readonly host: string,
    private readonly name: string,
    private readonly handle: (zone: string, req: IncomingMessage, res: ServerResponse) => void,
  ) {
    this.zoneServers = new Map(
      zones.map((zone) => [
        zone,
        { zone, port: ports?.[zone] ?? 0, server: undefined, sockets: new Set() },
      ]),
    );
  }

  /** The zones, in the order given. */
  zones(): string[] {
    return [...this.zoneServers.keys()];
  }

  urls(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const z of this.zoneServers.values()) {
      if (z.port) out[z.zone] = `http://${this.host}:${z.port}`;
    }
    return out;
  }

  async stopZone(zone: string): Promise<void> {
    const z = this.zoneOf(zone);
    const server = z.server;
    if (!server) return;
    z.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of z.sockets) socket.resetAndDestroy();
    z.sockets.clear();
    await closed;
  }

  async startZone(zone: string): Promise<void> {
    const z = this.zoneOf(zone);
    if (z.server) return;
    const server = createServer((req, res) => this.handle(zone, req, res));
    server.on('connection', (socket) => {
      z.sockets.add(socket);
      socket.once('close', () => z.sockets.delete(socket));
    });
    z.port = await listenOn(server, z.port, `${this.name}: zone ${zone}`, this.host);
    z.server = server;
  }

  private zoneOf(zone: string): ZoneServer {
    const z = this.zoneServers.get(zone);
    if (!z) {
      throw new RangeError(
        `${this.name} has no zone "${zone}"; zones: ${[...this.zoneServers.keys()].join(', ')}`,
      );
    }
    return z;
  }
}
