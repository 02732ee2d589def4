import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LoopbackServer, listenOn, stablePortCandidates } from '../../../local/listen.ts';
import { LocalWorldError } from '../../../shared/errors.ts';

const open: LoopbackServer[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

function connected(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('LoopbackServer', () => {
  it('ends every tracked connection when closed', async () => {
    const loopback = new LoopbackServer('test server');
    open.push(loopback);
    const server = createServer((socket) => loopback.track(socket));
    await loopback.listen(server, 0);
    const client = await connected(loopback.port);
    const ended = new Promise<void>((resolve) => client.once('close', () => resolve()));
    // Give the server its side of the connection before closing.
    await new Promise((r) => setTimeout(r, 20));

    await loopback.close();

    await ended;
    expect(loopback.isListening).toBe(false);
    expect(client.destroyed).toBe(true);
  });

  it('listens again on the same port when asked for the last one', async () => {
    const loopback = new LoopbackServer('test server');
    open.push(loopback);
    await loopback.listen(createServer(), 0);
    const first = loopback.port;
    await loopback.close();

    await loopback.listen(createServer(), loopback.port);

    expect(loopback.port).toBe(first);
    expect(loopback.url).toBe(`http://127.0.0.1:${first}`);
  });

  it('does nothing when closed before it listens', async () => {
    const loopback = new LoopbackServer('test server');

    await loopback.close();

    expect(loopback.isListening).toBe(false);
    expect(loopback.port).toBe(0);
  });
});

describe('listenOn', () => {
  it('says what could not listen where when the port is taken', async () => {
    const taken = new LoopbackServer('taken');
    open.push(taken);
    await taken.listen(createServer(), 0);

    const second = createServer();
    await expect(listenOn(second, taken.port, 'proxy us-east-1')).rejects.toThrow(LocalWorldError);
    await expect(listenOn(createServer(), taken.port, 'proxy us-east-1')).rejects.toThrow(
      `proxy us-east-1 cannot listen on 127.0.0.1:${taken.port}`,
    );
  });

  it('binds port 0 below the ephemeral range, so an outgoing connection cannot hold it', async () => {
    const [ephemeralStart] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    const loopback = new LoopbackServer('test server');
    open.push(loopback);

    await loopback.listen(createServer(), 0);

    expect(loopback.port).toBeGreaterThanOrEqual(1024);
    expect(loopback.port).toBeLessThan(ephemeralStart ?? 32_768);
  });

  it('tries the next candidate when one is taken', async () => {
    const taken = new LoopbackServer('taken');
    open.push(taken);
    await taken.listen(createServer(), 0);
    const [free] = [...stablePortCandidates(50)].filter((port) => port !== taken.port);
    const server = createServer();

    const port = await listenOn(server, 0, 'second', '127.0.0.1', [taken.port, free ?? 0]);
    await new Promise((resolve) => server.close(resolve));

    expect(port).toBe(free);
  });

  it('says so when every candidate is taken', async () => {
    const taken = new LoopbackServer('taken');
    open.push(taken);
    await taken.listen(createServer(), 0);

    await expect(
      listenOn(createServer(), 0, 'proxy us-east-1', '127.0.0.1', [taken.port, taken.port]),
    ).rejects.toThrow('proxy us-east-1 found no free port on 127.0.0.1');
  });

  it('never hands a port to a new listener while the listener that had it is down', async () => {
    const first = new LoopbackServer('zone us-east-1a');
    await first.listen(createServer(), 0);
    const held = first.port;
    await first.close();
    const server = createServer();

    const port = await listenOn(server, 0, 'restored', '127.0.0.1', [held, held + 1, held - 1]);
    await new Promise((resolve) => server.close(resolve));

    expect(port).not.toBe(held);
    await first.listen(createServer(), held);
    open.push(first);
    expect(first.port).toBe(held);
  });
});
