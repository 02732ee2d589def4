import { describe, expect, it } from 'vitest';
import { readInstanceObjects } from '../../../../shared/domain/store-contents.ts';
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
