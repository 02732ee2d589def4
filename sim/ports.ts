import { SimulatedCrash } from '../shared/adapters/memory/crash.ts';
import type { HealthProbe, ProbeResponse } from '../shared/domain/detection/probe.ts';
import type {
  BlobStore,
  DocumentStore,
  EventBus,
  InstanceStore,
  LifeboatEvent,
  PutOptions,
} from '../shared/domain/ports.ts';
import type { DnsRouting, InstanceControl } from '../shared/domain/recovery/ports.ts';
import { StorageUnavailableError } from '../shared/errors.ts';
import type { Invocation, SimWorld } from './world.ts';

/**
 * The ports the code under test gets in the simulator, bound to one invocation: each call is
 * the ground truth's effect (truth.ts) behind the world's gate (world.ts `call`).
 */

/** The ports one invocation sees. */
export function portsFor(world: SimWorld, inv: Invocation) {
  const mutates = { mutates: true };
  const documents = (region: string): DocumentStore => ({
    location: `sim://control (${region})`,
    load: (key) => world.call(inv, 's3', region, `GET ${key}`, () => world.loadDoc(region, key)),
    save: (key, value, expected) =>
      world.call(
        inv,
        's3',
        region,
        `PUT ${key}`,
        () => world.saveDoc(region, key, value, expected),
        mutates,
      ),
    list: (prefix) =>
      world.call(inv, 's3', region, `LIST ${prefix}`, () => world.listDocs(region, prefix)),
  });
  const deleteControlKey = (region: string, key: string) =>
    world.call(inv, 's3', region, `DELETE ${key}`, () => world.deleteDoc(region, key), mutates);
  const vault = (region: string): BlobStore => vaultPort(world, inv, region);
  const instanceStore = (region: string): InstanceStore => storePort(world, inv, region);
  const dns: DnsRouting = {
    readWeights: (spec) =>
      world.call(inv, 'route53', 'us-east-1', 'ListResourceRecordSets', () =>
        world.readWeights(spec),
      ),
    applyWeights: (spec, weights) =>
      world.call(
        inv,
        'route53',
        'us-east-1',
        'ChangeResourceRecordSets',
        () => world.applyWeights(spec, weights),
        mutates,
      ),
  };
  const instances: InstanceControl = {
    activate: (id, region) =>
      world.call(
        inv,
        'runtime',
        region,
        `activate ${id}`,
        () => world.activate(id, region),
        mutates,
      ),
    health: async (id, region) => {
      try {
        return await world.call(inv, 'runtime', region, `health ${id}`, () =>
          world.health(id, region),
        );
      } catch (error) {
        if (error instanceof SimulatedCrash) throw error;
        return { ok: false, error: (error as Error).message };
      }
    },
    fence: (id, region) => fenceCall(world, inv, id, region, true),
    unfence: (id, region) => fenceCall(world, inv, id, region, false),
  };
  return { documents, deleteControlKey, vault, instanceStore, dns, instances };
}

function fenceCall(world: SimWorld, inv: Invocation, id: string, region: string, fenced: boolean) {
  const what = `${fenced ? 'fence' : 'unfence'} ${id}`;
  return world.call(inv, 'runtime', region, what, () => world.setFence(id, region, fenced), {
    mutates: true,
  });
}

function vaultPort(world: SimWorld, inv: Invocation, region: string): BlobStore {
  const mutates = { mutates: true };
  return {
    location: `sim://backup (${region})`,
    put: (key: string, body: Uint8Array, options: PutOptions = {}) =>
      world.call(
        inv,
        's3',
        region,
        `PUT ${key}`,
        () => world.vaultPut(region, key, body, options),
        mutates,
      ),
    get: (key: string) =>
      world.call(inv, 's3', region, `GET ${key}`, () => world.vaultGet(region, key)),
    list: (prefix: string) =>
      world.call(inv, 's3', region, `LIST ${prefix}`, () => world.vaultList(region, prefix)),
    delete: (keys: readonly string[]) =>
      world.call(
        inv,
        's3',
        region,
        `DELETE ${keys[0] ?? ''}`,
        () => world.vaultDelete(region, keys),
        mutates,
      ),
  };
}

function storePort(world: SimWorld, inv: Invocation, region: string): InstanceStore {
  const mutates = { mutates: true };
  return {
    location: `sim://store (${region})`,
    list: (id: string) =>
      world.call(inv, 's3', region, `LIST ${id}/`, () => world.storeList(region, id)),
    read(id: string, key: string): AsyncIterable<Uint8Array> {
      return (async function* () {
        const body = await world.call(inv, 's3', region, `GET ${id}/${key}`, () =>
          world.objectsOf(region, id).get(key),
        );
        if (!body) throw new StorageUnavailableError(`${region} ${id}/${key}: NoSuchKey`);
        yield new Uint8Array(body);
      })();
    },
    write: (id: string, key: string, body: Uint8Array) =>
      world.call(
        inv,
        's3',
        region,
        `PUT ${id}/${key}`,
        () => world.storeWrite(region, id, key, body),
        mutates,
      ),
    delete: (id: string, keys: readonly string[]) =>
      world.call(
        inv,
        's3',
        region,
        `DELETE ${id}/${keys[0] ?? ''}`,
        () => world.storeDelete(region, id, keys),
        mutates,
      ),
  };
}

/** The HTTP health probe of a vantage region, answered from the ground truth. */
export function probeFrom(world: SimWorld, inv: Invocation): HealthProbe {
  return {
    check: async (url: string, timeoutMs: number): Promise<ProbeResponse> => {
      const endpoint = world.endpointOf.get(url);
      if (!endpoint) return { error: `no such endpoint ${url}`, latencyMs: 0 };
      const { instanceId, region, zone } = endpoint;
      const latencyMs = world.rng.int(5, 120);
      if (
        world.regionDown.has(region) ||
        world.zoneDown.has(`${region}/${zone}`) ||
        world.cut.has(`${inv.region}>${region}`)
      ) {
        await world.sched.sleep(timeoutMs);
        return { error: `timeout after ${timeoutMs} ms`, latencyMs: timeoutMs };
      }
      await world.sched.sleep(latencyMs);
      const state = world.rt(instanceId, region);
      return {
        status: 200,
        body: {
          instanceId,
          region,
          configDigest: state.activated ? (state.digest ?? null) : null,
          fenced: state.fenced,
        },
        latencyMs,
      };
    },
  };
}

/** An event bus bound to an invocation: publishing is a port call, delivery is `deliver`'s. */
export function busFor(
  world: SimWorld,
  inv: Invocation,
  deliver: (from: string, events: readonly LifeboatEvent[]) => void,
): EventBus {
  return {
    publish: (events) =>
      world.call(inv, 'events', inv.region, 'PutEvents', () => deliver(inv.region, events), {
        mutates: true,
      }),
  };
}
