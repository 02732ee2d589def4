import { describe, expect, it } from 'vitest';
import {
  type InstanceCopy,
  MemoryInstances,
} from '../../../../../shared/adapters/memory/instances.ts';

const standby = (): InstanceCopy & { note?: string } => ({ activated: false, fenced: false });

describe('MemoryInstances', () => {
  it('hands out a standby copy the first time and the same copy after', () => {
    const instances = new MemoryInstances(standby);

    expect(instances.peek('petstore', 'us-east-1')).toBeUndefined();
    const copy = instances.copy('petstore', 'us-east-1');
    copy.note = 'kept';

    expect(copy).toMatchObject({ activated: false, fenced: false });
    expect(instances.copy('petstore', 'us-east-1').note).toBe('kept');
    expect(instances.peek('petstore', 'us-west-2')).toBeUndefined();
  });

  it('serves the given digest once activated', () => {
    const instances = new MemoryInstances(standby);

    instances.activate('petstore', 'us-west-2', 'd1');

    expect(instances.peek('petstore', 'us-west-2')).toMatchObject({
      activated: true,
      digest: 'd1',
    });
  });

  it('says whether a fence changed anything when raised or lowered', () => {
    const instances = new MemoryInstances(standby);

    expect(instances.setFence('petstore', 'us-east-1', true)).toBe(true);
    expect(instances.setFence('petstore', 'us-east-1', true)).toBe(false);
    expect(instances.setFence('petstore', 'us-east-1', false)).toBe(true);
    expect(instances.peek('petstore', 'us-east-1')?.fenced).toBe(false);
  });

  it('puts a standby copy in place when the copy is reset', () => {
    const instances = new MemoryInstances(standby);
    instances.activate('petstore', 'us-east-1', 'd1');
    instances.setFence('petstore', 'us-east-1', true);

    instances.reset('petstore', 'us-east-1');

    expect(instances.peek('petstore', 'us-east-1')).toEqual({ activated: false, fenced: false });
  });
});
