import type { InstanceStore } from '../shared/domain/ports.ts';

/**
 * A deterministic, realistic-looking API-management configuration: API definitions, products,
 * plans and subscriptions, one object each. Same seed, same bytes.
 */
export function sampleInstanceObjects(
  options: { apis?: number; seed?: number } = {},
): Map<string, Buffer> {
  const apis = options.apis ?? 20;
  let state = (options.seed ?? 1) >>> 0 || 1;
  const random = () => {
    // xorshift32: tiny and deterministic; cryptographic quality is irrelevant here.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  const objects = new Map<string, Buffer>();
  const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  for (let i = 0; i < apis; i += 1) {
    const name = `api-${String(i).padStart(4, '0')}`;
    const paths: Record<string, unknown> = {};
    const operations = 3 + Math.floor(random() * 8);
    for (let op = 0; op < operations; op += 1) {
      paths[`/v1/${name}/resource-${op}`] = {
        get: { operationId: `get${op}`, responses: { 200: { description: 'ok' } } },
        post: { operationId: `post${op}`, 'x-rate-limit': Math.floor(random() * 1000) },
      };
    }
    objects.set(
      `apis/${name}.json`,
      json({ openapi: '3.0.3', info: { title: name, version: '1.0.0' }, paths }),
    );
  }
  for (let p = 0; p < Math.max(1, Math.floor(apis / 5)); p += 1) {
    const members = [...objects.keys()]
      .filter((_, i) => i % 5 === p % 5)
      .map((k) => k.slice(5, -5));
    objects.set(`products/product-${p}.json`, json({ name: `product-${p}`, apis: members }));
    objects.set(
      `plans/plan-${p}.json`,
      json({ name: `plan-${p}`, rateLimit: `${100 * (p + 1)}/minute` }),
    );
    objects.set(
      `subscriptions/sub-${p}.json`,
      json({ app: `app-${Math.floor(random() * 1e6)}`, plan: `plan-${p}`, state: 'enabled' }),
    );
  }
  return objects;
}

/** Writes objects into an instance store. */
export async function seedInstance(
  store: InstanceStore,
  instanceId: string,
  objects: ReadonlyMap<string, Uint8Array>,
): Promise<void> {
  const entries = [...objects];
  for (let i = 0; i < entries.length; i += 16) {
    await Promise.all(
      entries.slice(i, i + 16).map(([key, body]) => store.write(instanceId, key, body)),
    );
  }
}
