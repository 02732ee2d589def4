import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config/load.ts';
import { LOCATIONS, REGIONS, regionEntries } from '../../worlds/regions.ts';

describe('regionEntries', () => {
  it('gives every world region two zones, its location and capacity 2 when nothing is given', () => {
    const entries = regionEntries();

    expect(entries.map((e) => e.name)).toEqual([...REGIONS]);
    expect(entries[0]).toEqual({
      name: 'us-east-1',
      location: LOCATIONS['us-east-1'],
      capacity: 2,
      zones: ['us-east-1a', 'us-east-1b'],
    });
  });

  it('takes each region’s capacity and endpoint when given', () => {
    const entries = regionEntries({
      capacity: (r) => (r === 'eu-west-1' ? 7 : 4),
      endpointUrl: (r) => `http://127.0.0.1:1/${r}`,
    });

    expect(entries.find((e) => e.name === 'eu-west-1')).toMatchObject({
      capacity: 7,
      endpointUrl: 'http://127.0.0.1:1/eu-west-1',
    });
  });

  it('makes regions the config schema accepts', () => {
    const config = parseConfig({ version: 1, regions: regionEntries(), instances: [] }, 'test');

    expect(config.regions.map((r) => r.name)).toEqual([...REGIONS]);
  });
});
