import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseRestoreTestEvent, restoreTest } from '../../../../functions/restore-test/handler.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../../shared/config/load.ts';
import { DetailType } from '../../../../shared/domain/events.ts';
import { scratchIdFor } from '../../../../shared/domain/snapshot/restore-test.ts';
import { EventValidationError } from '../../../../shared/errors.ts';
import { RecordingEventBus } from '../../../fakes/event-bus.ts';
import { seedInstance } from '../../../fakes/fixtures.ts';
import { InMemoryInstanceStore } from '../../../fakes/instance-store.ts';
import { INSTANCE, snapshotWorld } from '../../../worlds/snapshot.ts';

const config = loadConfig(DEFAULT_CONFIG_PATH);
/** The rule's input, as the sample event for `serverless invoke local -f restoreTest` has it. */
const SAMPLE = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../../../events/restore-test.json', import.meta.url)),
    'utf8',
  ),
);

describe('parseRestoreTestEvent', () => {
  it('returns the instance id of the schedule rule input when the instance has restore tests', () => {
    expect(parseRestoreTestEvent(SAMPLE, config)).toBe('petstore');
  });

  it('names instanceId when the input has none', () => {
    expect(() => parseRestoreTestEvent({}, config)).toThrow(EventValidationError);
    expect(() => parseRestoreTestEvent({}, config)).toThrow(/instanceId/);
  });

  it('refuses an instance without snapshot.restoreTest, naming it', () => {
    const untested = config.instances.find((i) => !i.snapshot.restoreTest);
    expect(untested, 'the default config has an instance without restore tests').toBeDefined();
    expect(() => parseRestoreTestEvent({ instanceId: untested?.id }, config)).toThrow(
      new RegExp(`${untested?.id} has no snapshot.restoreTest schedule`),
    );
  });
});

describe('restoreTest', () => {
  it('runs the test with the ports built for the instance and reports it passed', async () => {
    const world = snapshotWorld();
    seedInstance(world.source, INSTANCE, { count: 5, size: 300, seed: 3 });
    const snap = await world.take();
    const store = new InMemoryInstanceStore({ region: 'scratch' });
    const bus = new RecordingEventBus();
    const asked: string[] = [];
    const result = await restoreTest(INSTANCE, (id) => {
      asked.push(id);
      return {
        instanceId: id,
        replicas: world.replicas,
        scratchStore: () => store,
        pick: () => 0,
        clock: world.clock,
        bus,
      };
    });
    expect(asked).toEqual([INSTANCE]);
    expect(result).toMatchObject({ passed: true, snapshotId: snap.snapshotId, objects: 5 });
    expect(bus.details(DetailType.RestoreTestPassed)).toHaveLength(1);
    expect(store.contents(scratchIdFor(INSTANCE)).size).toBe(0);
  });
});
