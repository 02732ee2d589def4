import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { practiceTags, practiceView } from '../../../../shared/adapters/practice-identity.ts';
import { InMemoryInstanceStore } from '../../../fakes/instance-store.ts';

const doc = (instance: string) =>
  Buffer.from(
    canonicalize({
      kind: 'rest-api',
      name: 'orders',
      tags: { 'lifeboat:instance': instance, team: 'a' },
      stages: { prod: { tags: { 'lifeboat:instance': instance } } },
    }) as string,
  );

async function read(
  store: InMemoryInstanceStore | ReturnType<typeof practiceTags>,
  id: string,
  key: string,
) {
  const parts: Uint8Array[] = [];
  for await (const part of store.read(id, key)) parts.push(part);
  return Buffer.concat(parts).toString('utf8');
}

describe('practiceTags', () => {
  it('writes the practice id into every instance tag and reads the real id back when a document passes through', async () => {
    const inner = new InMemoryInstanceStore();
    const store = practiceView(practiceTags(inner, 'shop', 'shop--practice'), 'shop--practice');
    await store.write('shop', 'apis/orders.json', doc('shop'));
    // Stored as the practice copy's: nothing tags it as the real instance.
    expect(await read(inner, 'shop--practice', 'apis/orders.json')).toBe(
      doc('shop--practice').toString('utf8'),
    );
    expect(inner.contents('shop').size).toBe(0);
    // Read back as the snapshot had it, so its digest is the snapshot's.
    expect(await read(store, 'shop', 'apis/orders.json')).toBe(doc('shop').toString('utf8'));
  });

  it("leaves another instance's tags alone when a document names it", async () => {
    const inner = new InMemoryInstanceStore();
    const store = practiceTags(inner, 'shop', 'shop--practice');
    await store.write('shop--practice', 'apis/orders.json', doc('other'));
    expect(await read(inner, 'shop--practice', 'apis/orders.json')).toBe(
      doc('other').toString('utf8'),
    );
  });
});
