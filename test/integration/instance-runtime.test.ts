import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InstanceRuntime, MAX_BODY_BYTES } from '../../local/instance-runtime.ts';
import { sampleInstanceObjects, seedInstance } from '../../local/sample-instance.ts';
import { instanceStore } from '../../shared/composition.ts';
import type { InstanceStore } from '../../shared/domain/ports.ts';
import { configDigest } from '../../shared/domain/snapshot/format.ts';
import { readInstance } from '../support/s3.ts';
import { createMotoWorld, type MotoWorld } from '../worlds/moto.ts';

const REGION = 'us-east-1';
const ZONES = ['us-east-1a', 'us-east-1b'];

let world: MotoWorld;
let instanceId: string;
let seeded: Map<string, Buffer>;
let runtime: InstanceRuntime;
let serial = 0;

/** The digest computed here from raw bytes, independently of the runtime's loading code. */
function digestOf(objects: ReadonlyMap<string, Uint8Array>): string {
  return configDigest(
    [...objects].map(([key, body]) => ({
      key,
      sha256: createHash('sha256').update(body).digest('hex'),
    })),
  );
}

async function getJson(url: string, init?: RequestInit) {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The first operation of an OpenAPI document among the seeded objects. */
function firstOperation(): { api: string; path: string } {
  const [key, body] = [...seeded].find(([k]) => k.startsWith('apis/')) as [string, Buffer];
  const doc = JSON.parse(body.toString()) as { paths: Record<string, unknown> };
  return { api: key.slice('apis/'.length, -'.json'.length), path: Object.keys(doc.paths)[0] ?? '' };
}

/** A request with the path exactly as given: fetch would resolve `..` segments away. */
function rawRequest(url: string, method: string, path: string, body = '') {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const req = request({ hostname, port, method, path }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (p: Buffer) => parts.push(p));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString()) }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  world = await createMotoWorld();
});

afterAll(async () => {
  await world.close();
});

describe('InstanceRuntime', () => {
  describe('in this process', () => {
    beforeEach(async () => {
      serial += 1;
      instanceId = `petstore-${serial}`;
      seeded = sampleInstanceObjects({ apis: 12, seed: serial });
      await seedInstance(instanceStore(world.config, REGION), instanceId, seeded);
      runtime = new InstanceRuntime({
        instanceId,
        region: REGION,
        zones: ZONES,
        store: instanceStore(world.config, REGION),
      });
      await runtime.start();
    });

    afterEach(async () => {
      await runtime.stop();
      await world.proxies.get(REGION)?.up();
    });

    it('reports the digest of the seeded config on /health of every zone when it starts', async () => {
      const expected = digestOf(seeded);

      for (const zone of ZONES) {
        const { status, body } = await getJson(`${runtime.urls()[zone]}/health`);
        expect(status).toBe(200);
        expect(body).toMatchObject({
          status: 'ok',
          instanceId,
          region: REGION,
          zone,
          configDigest: expected,
          objects: seeded.size,
          fenced: false,
          storeReachable: true,
        });
        expect(Date.parse(body.loadedAt as string)).not.toBeNaN();
      }
    });

    it('answers /ready with 200 while it serves the config and 503 as an empty standby', async () => {
      const zone = ZONES[0] as string;
      const ready = await getJson(`${runtime.urls()[zone]}/ready`);
      expect(ready).toMatchObject({
        status: 200,
        body: { ready: true, instanceId, configDigest: digestOf(seeded), zone },
      });
      const standby = new InstanceRuntime({
        instanceId: `${instanceId}-standby`,
        region: REGION,
        zones: ['z'],
        store: instanceStore(world.config, REGION),
      });
      await standby.start();
      try {
        const { status, body } = await getJson(`${standby.urls().z}/ready`);
        expect(status).toBe(503);
        expect(body).toMatchObject({ ready: false, instanceId: `${instanceId}-standby` });
        // Alive all the same: the region answers, so the detector sees no outage.
        expect((await getJson(`${standby.urls().z}/health`)).status).toBe(200);
      } finally {
        await standby.stop();
      }
    });

    it('serves an operation of an OpenAPI document when its path and method are defined', async () => {
      const url = runtime.urls()[ZONES[1] as string] as string;
      const { api, path } = firstOperation();

      const served = await getJson(`${url}${path}?q=1`);
      const posted = await getJson(`${url}${path}`, { method: 'POST' });
      const wrongMethod = await getJson(`${url}${path}`, { method: 'DELETE' });
      const unknown = await getJson(`${url}/v1/nowhere`);
      const list = await getJson(`${url}/apis`);
      const definition = await fetch(`${url}/apis/${api}`);

      expect(served.status).toBe(200);
      expect(served.body).toEqual({
        api,
        path,
        method: 'GET',
        servedBy: { instanceId, region: REGION, zone: ZONES[1] },
        configDigest: digestOf(seeded),
      });
      expect(posted.status).toBe(200);
      expect(wrongMethod.status).toBe(405);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toMatch(/no API/);
      expect(list.body.apis).toHaveLength(12);
      expect(list.body.apis).toContain(api);
      expect(
        Buffer.from(await definition.arrayBuffer()).equals(
          seeded.get(`apis/${api}.json`) as Buffer,
        ),
      ).toBe(true);
    });

    it('writes the object to the instance store and serves the new digest when an admin PUT arrives', async () => {
      const url = runtime.urls()[ZONES[0] as string] as string;
      const key = 'apis/added.json';
      const doc = Buffer.from(
        JSON.stringify({
          openapi: '3.0.3',
          info: { title: 'added' },
          paths: { '/v2/added': { get: {} } },
        }),
      );
      const after = new Map(seeded).set(key, doc);

      const put = await getJson(`${url}/admin/config/${key}`, { method: 'PUT', body: doc });
      const health = await getJson(`${runtime.urls()[ZONES[1] as string]}/health`);
      const route = await getJson(`${url}/v2/added`);
      const listing = await getJson(`${url}/admin/config`);
      const stored = await readInstance(world.config, REGION, instanceId);

      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ key, configDigest: digestOf(after) });
      expect(digestOf(after)).not.toBe(digestOf(seeded));
      expect(health.body.configDigest).toBe(digestOf(after));
      expect(route.status).toBe(200);
      expect(route.body.api).toBe('added');
      expect(listing.body.keys).toContain(key);
      expect(stored.get(key)?.equals(doc)).toBe(true);

      const removed = await getJson(`${url}/admin/config/${key}`, { method: 'DELETE' });
      expect(removed.status).toBe(200);
      expect(removed.body.configDigest).toBe(digestOf(seeded));
      expect((await readInstance(world.config, REGION, instanceId)).has(key)).toBe(false);
    });

    it('refuses admin writes with 409 when fenced and takes them again when unfenced', async () => {
      const url = runtime.urls()[ZONES[0] as string] as string;

      const fence = await getJson(`${url}/admin/fence`, { method: 'POST' });
      const refused = await getJson(`${url}/admin/config/plans/late.json`, {
        method: 'PUT',
        body: '{}',
      });
      const health = await getJson(`${url}/health`);
      const storedWhileFenced = await readInstance(world.config, REGION, instanceId);
      await getJson(`${url}/admin/unfence`, { method: 'POST' });
      const accepted = await getJson(`${url}/admin/config/plans/late.json`, {
        method: 'PUT',
        body: '{}',
      });

      expect(fence.body.fenced).toBe(true);
      expect(refused.status).toBe(409);
      expect(refused.body.error).toBe('fenced');
      expect(health.body.fenced).toBe(true);
      expect(storedWhileFenced.has('plans/late.json')).toBe(false);
      expect(accepted.status).toBe(200);
    });

    it('answers a fence only once a write already accepted has landed in the store', async () => {
      const s3 = instanceStore(world.config, REGION);
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let writing = () => {};
      const writeStarted = new Promise<void>((resolve) => {
        writing = resolve;
      });
      const slow: InstanceStore = {
        location: s3.location,
        list: (id) => s3.list(id),
        read: (id, key) => s3.read(id, key),
        delete: (id, keys) => s3.delete(id, keys),
        write: async (id, key, body) => {
          writing();
          await gate;
          await s3.write(id, key, body);
        },
      };
      const gated = new InstanceRuntime({ instanceId, region: REGION, zones: ['z'], store: slow });
      await gated.start();
      try {
        const url = gated.urls().z as string;
        const put = getJson(`${url}/admin/config/plans/in-flight.json`, {
          method: 'PUT',
          body: '{}',
        });
        await writeStarted;
        let fenceAnswered = false;
        const fence = getJson(`${url}/admin/fence`, { method: 'POST' }).then((r) => {
          fenceAnswered = true;
          return r;
        });
        await new Promise((r) => setTimeout(r, 200));
        const answeredBeforeWriteLanded = fenceAnswered;
        release();

        expect(answeredBeforeWriteLanded).toBe(false);
        expect((await fence).status).toBe(200);
        expect(
          (await readInstance(world.config, REGION, instanceId)).has('plans/in-flight.json'),
        ).toBe(true);
        expect((await put).status).toBe(200);
      } finally {
        await gated.stop();
      }
    });

    it('refuses connections on a stopped zone while the other zone answers, then answers again on the same URL', async () => {
      const [down, up] = ZONES as [string, string];
      const downUrl = runtime.urls()[down] as string;
      // A kept-alive connection exists before the fault, so the reset is exercised too.
      expect((await fetch(`${downUrl}/health`)).status).toBe(200);

      await runtime.stopZone(down);

      const codeOf = () =>
        fetch(`${downUrl}/health`).then(
          () => 'answered',
          (error: Error) => (error.cause as { code?: string } | undefined)?.code,
        );
      // The first try may still pick the pooled connection the fault reset; a new one is refused.
      expect(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET']).toContain(await codeOf());
      expect(await codeOf()).toBe('ECONNREFUSED');
      expect((await fetch(`${runtime.urls()[up]}/health`)).status).toBe(200);

      await runtime.startZone(down);

      expect(runtime.urls()[down]).toBe(downUrl);
      const again = await getJson(`${downUrl}/health`);
      expect(again.status).toBe(200);
      expect(again.body.zone).toBe(down);
    });

    it('rejects a bad key with 400 naming the problem and an oversized body with 413', async () => {
      const url = runtime.urls()[ZONES[0] as string] as string;

      const dotDot = await rawRequest(url, 'PUT', '/admin/config/apis/../../etc/passwd', '{}');
      const encodedDotDot = await rawRequest(url, 'PUT', '/admin/config/apis/%2E%2E/x.json', '{}');
      const leadingSlash = await rawRequest(url, 'PUT', '/admin/config//etc/passwd', '{}');
      const tooLong = await rawRequest(url, 'PUT', `/admin/config/${'k'.repeat(1025)}`, '{}');
      const tooLarge = await getJson(`${url}/admin/config/exports/big.bin`, {
        method: 'PUT',
        body: Buffer.alloc(MAX_BODY_BYTES + 1),
      });

      expect(dotDot.status).toBe(400);
      expect(dotDot.body.error).toMatch(/"\.\." segment/);
      expect(encodedDotDot.status).toBe(400);
      expect(encodedDotDot.body.error).toMatch(/"\.\." segment/);
      expect(leadingSlash.status).toBe(400);
      expect(leadingSlash.body.error).toMatch(/must not start with "\/"/);
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.error).toMatch(/1025 bytes.*limit is 1024/);
      expect(tooLarge.status).toBe(413);
      const stored = await readInstance(world.config, REGION, instanceId);
      expect([...stored.keys()].sort()).toEqual([...seeded.keys()].sort());
    });

    it('keeps serving the last good config and reports the store unreachable when the region store goes away', async () => {
      const url = runtime.urls()[ZONES[0] as string] as string;
      const { path } = firstOperation();
      await world.proxies.get(REGION)?.down();

      const reload = await runtime.reload();
      const health = await getJson(`${url}/health`);
      const served = await getJson(`${url}${path}`);
      const write = await getJson(`${url}/admin/config/plans/x.json`, {
        method: 'PUT',
        body: '{}',
      });

      expect(reload.ok).toBe(false);
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ storeReachable: false, configDigest: digestOf(seeded) });
      expect(served.status).toBe(200);
      expect(write.status).toBe(503);

      await world.proxies.get(REGION)?.up();
      expect((await runtime.reload()).ok).toBe(true);
      expect((await getJson(`${url}/health`)).body.storeReachable).toBe(true);
    });
  });

  describe('as its own process', () => {
    let dir: string;
    let child: ChildProcess | undefined;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'lifeboat-runtime-'));
    });

    afterAll(() => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    function spawnMain(args: string[]) {
      const proc = spawn('npx', ['tsx', 'local/instance-runtime-main.ts', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      proc.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<number | null>((resolve) =>
        proc.once('exit', (code) => resolve(code)),
      );
      return { proc, exited, stderr: () => stderr };
    }

    it('prints a ready line, serves /health and exits cleanly when sent SIGTERM', async () => {
      const configFile = join(dir, 'world.json');
      writeFileSync(configFile, JSON.stringify(world.config));
      const objects = sampleInstanceObjects({ apis: 5, seed: 99 });
      await seedInstance(instanceStore(world.config, 'us-east-2'), 'petstore', objects);
      const run = spawnMain([
        '--config',
        configFile,
        '--instance',
        'petstore',
        '--region',
        'us-east-2',
        '--endpoint-url',
        world.endpoint,
      ]);
      child = run.proc;
      const lines = createInterface({ input: run.proc.stdout as NodeJS.ReadableStream });
      const first = await Promise.race([
        new Promise<string>((resolve) => lines.once('line', resolve)),
        run.exited.then((code) => {
          throw new Error(`runtime exited with ${code} before it was ready: ${run.stderr()}`);
        }),
      ]);
      const ready = JSON.parse(first) as {
        ready: boolean;
        pid: number;
        urls: Record<string, string>;
      };

      expect(ready.ready).toBe(true);
      expect(Object.keys(ready.urls).sort()).toEqual(['us-east-2a', 'us-east-2b']);
      const health = await getJson(`${ready.urls['us-east-2b']}/health`);
      expect(health.body).toMatchObject({
        instanceId: 'petstore',
        region: 'us-east-2',
        zone: 'us-east-2b',
        objects: objects.size,
        configDigest: digestOf(objects),
        storeReachable: true,
      });

      // The ready line names the runtime's own pid, below npx and tsx.
      process.kill(ready.pid, 'SIGTERM');

      expect(await run.exited).toBe(0);
      await expect(fetch(`${ready.urls['us-east-2a']}/health`)).rejects.toThrow();
    });

    it('exits with 2 and names the missing option when --region is absent', async () => {
      const run = spawnMain(['--config', 'lifeboat.config.yml', '--instance', 'petstore']);

      expect(await run.exited).toBe(2);
      expect(run.stderr()).toMatch(/--region is required/);
    });
  });
});
