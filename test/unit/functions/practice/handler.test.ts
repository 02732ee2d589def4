import { describe, expect, it } from 'vitest';
import {
  buildPracticeHandler,
  parsePracticeEvent,
} from '../../../../functions/practice/handler.ts';
import {
  practiceView,
  ReadOnlyDns,
  StoreReadbackControl,
} from '../../../../shared/adapters/practice-identity.ts';
import { parseConfig } from '../../../../shared/config/load.ts';
import { DetailType } from '../../../../shared/domain/events.ts';
import {
  type PracticeDeps,
  type PracticeReport,
  practiceIdFor,
} from '../../../../shared/domain/recovery/practice.ts';
import { EventValidationError, UnknownInstanceError } from '../../../../shared/errors.ts';
import { MINUTE } from '../../../fakes/clock.ts';
import { lambdaContext } from '../../../fakes/lambda-context.ts';
import { recoveryWorld, worldConfig } from '../../../worlds/recovery.ts';

/** The test world's config with petstore practised weekly. */
function practisedConfig() {
  const raw = JSON.parse(JSON.stringify(worldConfig())) as { instances: object[] };
  Object.assign(raw.instances[0] as object, { practice: { schedule: 'rate(7 days)' } });
  return parseConfig(raw, 'practice test');
}

describe('parsePracticeEvent', () => {
  it('names the field when the scheduled input has no instance id', () => {
    const error = (() => {
      try {
        parsePracticeEvent({}, practisedConfig());
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as Error).message).toContain('instanceId');
  });

  it('refuses an instance without practice.schedule when the rule names it', () => {
    expect(() => parsePracticeEvent({ instanceId: 'petstore' }, worldConfig())).toThrow(
      /petstore has no practice.schedule/,
    );
  });

  it('refuses an instance the config does not have', () => {
    expect(() => parsePracticeEvent({ instanceId: 'nope' }, practisedConfig())).toThrow(
      UnknownInstanceError,
    );
  });
});

describe('the practice handler', () => {
  it('practises the scheduled instance and publishes "Practice Completed" when it passes', async () => {
    const config = practisedConfig();
    const w = recoveryWorld();
    await w.seed();
    await w.snapshot();
    w.clock.advance(MINUTE);
    const id = practiceIdFor('petstore');
    const deps: PracticeDeps = {
      ...w.deps,
      config,
      practiceId: id,
      practiceStore: (region) => practiceView(w.store(region), id),
      instances: new StoreReadbackControl(w.store),
      dns: new ReadOnlyDns(w.dns),
      discard: async (region) => {
        const keys = (await w.store(region).list(id)).map((e) => e.key);
        if (keys.length) await w.store(region).delete(id, keys);
      },
    };
    const handler = buildPracticeHandler(
      () => config,
      () => deps,
    );
    const report = (await handler(
      { instanceId: 'petstore' },
      lambdaContext('practice'),
    )) as PracticeReport;
    expect(report).toMatchObject({ practice: true, passed: true, claimant: 'practice:schedule' });
    expect(w.bus.events.map((e) => e.detailType)).toEqual([DetailType.PracticeCompleted]);
  });
});
