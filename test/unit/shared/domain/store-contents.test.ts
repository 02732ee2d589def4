import { describe, expect, it } from 'vitest';
import { readInstanceObjects, storeSeenAs } from '../../../../shared/domain/store-contents.ts';
import { InMemoryInstanceStore } from '../../../fakes/instance-store.ts';

describe('readInstanceObjects', () => {
  it('reads every object of the instance whole, and none of another instance', async () => {
    const store = new InMemoryInstanceStore({ pieceSize: 3 });
    store.seed('petstore', 'apis/a.json', '{"a":1}');
    store.seed('petstore', 'plans/p.json', '{}');
    store.seed('orders', 'apis/o.json', '{"o":1}');

    const objects = await readInstanceObjects(store, 'petstore');

    expect([...objects].map(([key, body]) => [key, body.toString('utf8')])).toEqual([
      ['apis/a.json', '{"a":1}'],
      ['plans/p.json', '{}'],
    ]);
  });
});

describe('storeSeenAs', () => {
  it('reads and writes only the fixed id, whatever id it is asked for', async () => {
    const store = new InMemoryInstanceStore();
    store.seed('scratch-1', 'apis/a.json', 'A');
    store.seed('petstore', 'apis/p.json', 'P');
    const view = storeSeenAs(store, 'scratch-1');

    await view.write('petstore', 'plans/new.json', Buffer.from('N'));
    await view.delete('petstore', ['apis/a.json']);

    expect(view.location).toBe(`${store.location} scratch-1/`);
    expect((await view.list('petstore')).map((e) => e.key)).toEqual(['plans/new.json']);
    expect([...(await readInstanceObjects(store, 'petstore')).keys()]).toEqual(['apis/p.json']);
  });
});
