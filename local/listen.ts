import type { Server } from 'node:net';
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
