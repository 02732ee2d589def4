import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildRoutes, configKeyProblem, InstanceRuntime } from '../../../local/instance-runtime.ts';
import { configDigest } from '../../../shared/domain/snapshot/format.ts';
import { InMemoryInstanceStore } from '../../fakes/instance-store.ts';

const ID = 'petstore';

function digestOf(objects: Record<string, string>): string {
  return configDigest(
    Object.entries(objects).map(([key, body]) => ({
      key,
      sha256: createHash('sha256').update(body).digest('hex'),
    })),
  );
}

function openapi(paths: Record<string, Record<string, unknown>>): string {
  return JSON.stringify({ openapi: '3.0.3', info: { title: 't', version: '1' }, paths });
}

function runtimeOver(objects: Record<string, string>) {
  const store = new InMemoryInstanceStore({ region: 'us-east-1' });
  for (const [key, body] of Object.entries(objects)) store.seed(ID, key, body);
  // Never started: reload() and status() work without listeners, so no socket is opened.
  const runtime = new InstanceRuntime({ instanceId: ID, region: 'us-east-1', zones: ['a'], store });
  return { store, runtime };
}

describe('configKeyProblem', () => {
  it.each([
    ['apis/petstore.json'],
    ['products/p-1.json'],
    ['exports/v1..2.bin'],
    ['k'.repeat(1024)],
  ])('accepts %s when it is a plain relative key', (key) => {
    expect(configKeyProblem(key)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['/etc/passwd', /must not start with "\/"/],
    ['apis/../../etc/passwd', /"\.\." segment/],
    ['..', /"\.\." segment/],
    ['apis/./x.json', /"\." segment/],
    ['apis//x.json', /empty segment/],
    ['apis/', /empty segment/],
    ['apis/\u0000.json', /control character/],
    ['k'.repeat(1025), /1025 bytes long; the limit is 1024/],
    ['é'.repeat(513), /1026 bytes long/],
  ])('names the problem when the key is %j', (key, problem) => {
    expect(configKeyProblem(key)).toMatch(problem);
  });
});

describe('buildRoutes', () => {
  it('indexes every path and method of every document when the documents are valid', () => {
    const { routes, problems } = buildRoutes(
      new Map([
        ['a', Buffer.from(openapi({ '/a': { get: {}, POST: {} }, '/b': { parameters: [] } }))],
        ['b', Buffer.from(openapi({ '/c': { delete: {} } }))],
      ]),
    );

    expect(problems).toEqual([]);
    expect([...routes.keys()].sort()).toEqual(['/a', '/c']);
    expect(routes.get('/a')).toEqual({ api: 'a', methods: new Set(['get', 'post']) });
  });

  it('keeps the first owner and reports the clash when two documents claim one path', () => {
    const { routes, problems } = buildRoutes(
      new Map([
        ['z', Buffer.from(openapi({ '/same': { get: {} } }))],
        ['m', Buffer.from(openapi({ '/same': { put: {} } }))],
      ]),
    );

    expect(routes.get('/same')?.api).toBe('m');
    expect(problems).toEqual(['apis/z.json: path /same is already served by m']);
  });

  it('reports a document and serves the rest when one is not JSON or has no paths', () => {
    const { routes, problems } = buildRoutes(
      new Map([
        ['broken', Buffer.from('{not json')],
        ['empty', Buffer.from('{"openapi":"3.0.3"}')],
        ['ok', Buffer.from(openapi({ '/ok': { get: {} } }))],
      ]),
    );

    expect(problems).toEqual([
      'apis/broken.json: not valid JSON',
      'apis/empty.json: no "paths" object',
    ]);
    expect([...routes.keys()]).toEqual(['/ok']);
  });
});

describe('InstanceRuntime', () => {
  it('computes the snapshot config digest over every object when it reloads', async () => {
    const objects = {
      'apis/a.json': openapi({ '/a': { get: {} } }),
      'plans/p.json': '{"rate":"100/minute"}',
      'subscriptions/s.json': '{"app":"x"}',
    };
    const { runtime } = runtimeOver(objects);

    const result = await runtime.reload();

    expect(result).toEqual({ ok: true, configDigest: digestOf(objects), objects: 3 });
    expect(runtime.status()).toMatchObject({
      configDigest: digestOf(objects),
      objects: 3,
      apis: 1,
      storeReachable: true,
      fenced: false,
    });
  });

  it('reads only the objects whose ETag changed when it reloads again', async () => {
    const objects = { 'apis/a.json': openapi({ '/a': { get: {} } }), 'plans/p.json': '{}' };
    const { runtime, store } = runtimeOver(objects);
    await runtime.reload();
    store.seed(ID, 'plans/p.json', '{"changed":true}');
    store.resetCalls();

    const result = await runtime.reload();

    expect(store.readKeys()).toEqual(['plans/p.json']);
    expect(result.configDigest).toBe(digestOf({ ...objects, 'plans/p.json': '{"changed":true}' }));
  });

  it('keeps the last good config and reports the store unreachable when a reload fails', async () => {
    const objects = { 'plans/p.json': '{}' };
    const { runtime, store } = runtimeOver(objects);
    await runtime.reload();
    store.unreachable = true;

    const result = await runtime.reload();

    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/ECONNREFUSED/);
    expect(runtime.status()).toMatchObject({
      configDigest: digestOf(objects),
      objects: 1,
      storeReachable: false,
      lastError: expect.stringMatching(/ECONNREFUSED/),
    });
    store.unreachable = false;
    expect((await runtime.reload()).ok).toBe(true);
    expect(runtime.status().storeReachable).toBe(true);
    expect(runtime.status().lastError).toBeUndefined();
  });

  it('reports no digest and no load time when the store was never readable', async () => {
    const { runtime, store } = runtimeOver({ 'plans/p.json': '{}' });
    store.unreachable = true;

    await runtime.reload();

    expect(runtime.status()).toMatchObject({
      configDigest: null,
      loadedAt: null,
      objects: 0,
      storeReachable: false,
    });
  });

  it('joins a reload that is queued but not started when asked again', async () => {
    const { runtime, store } = runtimeOver({ 'plans/p.json': '{}' });

    const first = runtime.reload();
    const joined = runtime.reload();
    await null; // `first` leaves the queue and starts reading
    const second = runtime.reload();
    const third = runtime.reload();
    await Promise.all([first, second, third]);

    expect(joined).toBe(first);
    expect(third).toBe(second);
    expect(second).not.toBe(first);
    expect(store.count('list')).toBe(2);
  });

  it('refuses options that cannot describe a runtime when constructed', () => {
    const store = new InMemoryInstanceStore();
    const base = { instanceId: ID, region: 'us-east-1', store };

    expect(() => new InstanceRuntime({ ...base, zones: [] })).toThrow(/no zones/);
    expect(() => new InstanceRuntime({ ...base, zones: ['a', 'a'] })).toThrow(/zones repeat/);
    expect(() => new InstanceRuntime({ ...base, zones: ['a'], ports: { b: 1 } })).toThrow(
      /unknown zone "b"/,
    );
  });
});
