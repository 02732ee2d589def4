import { describe, expect, it } from 'vitest';
import { compareRegions } from '../../../../shared/domain/drift.ts';
import { InMemoryInstanceStore } from '../../../fakes/instance-store.ts';

function regions(...names: string[]) {
  return names.map((region) => ({ region, store: new InMemoryInstanceStore({ region }) }));
}

describe('compareRegions', () => {
  it('reports in sync when every region holds the same documents', async () => {
    const [a, b] = regions('us-east-1', 'us-west-2');
    for (const r of [a, b]) r?.store.seed('shop', 'apis/pets.json', '{"v":1}');
    const report = await compareRegions(
      'shop',
      [a, b].filter((r) => r !== undefined),
    );
    expect(report).toMatchObject({ reference: 'us-east-1', inSync: true, documents: [] });
  });

  it('names a document that differs, one that is missing and one that is extra when regions drift', async () => {
    const all = regions('us-east-1', 'us-west-2', 'eu-west-1');
    const [home, west, eu] = all as [(typeof all)[0], (typeof all)[0], (typeof all)[0]];
    home.store.seed('shop', 'apis/pets.json', '{"v":1}');
    home.store.seed('shop', 'apis/orders.json', '{"v":1}');
    west.store.seed('shop', 'apis/pets.json', '{"v":2}');
    west.store.seed('shop', 'apis/orders.json', '{"v":1}');
    eu.store.seed('shop', 'apis/pets.json', '{"v":1}');
    eu.store.seed('shop', 'apis/extra.json', '{}');
    const report = await compareRegions('shop', all);
    expect(report.inSync).toBe(false);
    expect(report.documents).toEqual([
      { key: 'apis/extra.json', differs: [], missing: [], extra: ['eu-west-1'] },
      { key: 'apis/orders.json', differs: [], missing: ['eu-west-1'], extra: [] },
      { key: 'apis/pets.json', differs: ['us-west-2'], missing: [], extra: [] },
    ]);
  });

  it('lists a region it cannot read and is not in sync when one region does not answer', async () => {
    const all = regions('us-east-1', 'us-west-2');
    all[0]?.store.seed('shop', 'apis/pets.json', '{}');
    all[1]?.store.seed('shop', 'apis/pets.json', '{}');
    if (all[1]) all[1].store.unreachable = true;
    const report = await compareRegions('shop', all);
    expect(report.inSync).toBe(false);
    expect(report.unreachable.map((u) => u.region)).toEqual(['us-west-2']);
    expect(report.documents).toEqual([]);
  });
});
