import { describe, expect, it } from 'vitest';
import {
  awaitFenceSettled,
  DEFAULT_API_GATEWAY_SETTLE_SECONDS,
  fenceIsAdvisory,
  fenceSettleMs,
} from '../../../../../shared/domain/recovery/fence-settle.ts';
import { worldConfig } from '../../../../worlds/recovery.ts';

const instanceOfKind = (kind: 'object-store' | 'apigateway', fenceSettleSeconds?: number) => {
  const instance = structuredClone(worldConfig().instances[0]);
  if (!instance) throw new Error('test: no instance');
  instance.kind = kind;
  if (fenceSettleSeconds !== undefined)
    instance.apigateway = { references: {}, fenceSettleSeconds };
  return instance;
};

const at = (iso: string) => ({ now: () => new Date(iso) });

describe('fenceSettleMs', () => {
  it('is 0 for the reference runtime, whose fence refuses writes at once', () => {
    expect(fenceSettleMs(instanceOfKind('object-store'))).toBe(0);
    expect(fenceIsAdvisory(instanceOfKind('object-store'))).toBe(false);
  });

  it("is API Gateway's default when the config says nothing, and the config's value when it does", () => {
    expect(fenceSettleMs(instanceOfKind('apigateway'))).toBe(
      DEFAULT_API_GATEWAY_SETTLE_SECONDS * 1000,
    );
    expect(fenceSettleMs(instanceOfKind('apigateway', 12))).toBe(12_000);
    expect(fenceIsAdvisory(instanceOfKind('apigateway', 0))).toBe(true);
  });
});

describe('awaitFenceSettled', () => {
  it('sleeps what is left of the settle time since the fence', async () => {
    const slept: number[] = [];
    await awaitFenceSettled(
      instanceOfKind('apigateway', 30),
      '2026-11-25T06:00:00.000Z',
      at('2026-11-25T06:00:10.000Z'),
      async (ms) => {
        slept.push(ms);
      },
    );
    expect(slept).toEqual([20_000]);
  });

  it('does not sleep once the settle time has passed, or for a kind whose fence holds at once', async () => {
    const slept: number[] = [];
    const sleep = async (ms: number) => {
      slept.push(ms);
    };
    const later = at('2026-11-25T06:01:00.000Z');
    await awaitFenceSettled(instanceOfKind('apigateway', 30), '2026-11-25T06:00:00Z', later, sleep);
    await awaitFenceSettled(instanceOfKind('object-store'), undefined, later, sleep);
    expect(slept).toEqual([]);
  });

  it('waits the whole settle time when the fence time is unknown', async () => {
    const slept: number[] = [];
    await awaitFenceSettled(
      instanceOfKind('apigateway', 5),
      undefined,
      at('2026-11-25T06:00:00Z'),
      async (ms) => {
        slept.push(ms);
      },
    );
    expect(slept).toEqual([5_000]);
  });
});
