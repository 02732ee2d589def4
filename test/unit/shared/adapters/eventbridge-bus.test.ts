import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeBus } from '../../../../shared/adapters/eventbridge-bus.ts';
import { EVENT_SOURCE } from '../../../../shared/domain/events.ts';
import { EventPublishError } from '../../../../shared/errors.ts';

const eventBridge = mockClient(EventBridgeClient);
const bus = () =>
  new EventBridgeBus(new EventBridgeClient({ region: 'us-east-1' }), 'lifeboat-bus');

beforeEach(() => {
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
});

describe('EventBridgeBus', () => {
  it('sends source lifeboat, the bus name, the detail-type and JSON detail when publishing an event', async () => {
    const time = new Date('2026-11-25T06:00:05Z');
    await bus().publish([
      { detailType: 'Snapshot Completed', detail: { instanceId: 'petstore', bytes: 3 }, time },
    ]);
    const entries = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries;
    expect(EVENT_SOURCE).toBe('lifeboat');
    expect(entries).toEqual([
      {
        EventBusName: 'lifeboat-bus',
        Source: 'lifeboat',
        DetailType: 'Snapshot Completed',
        Detail: '{"instanceId":"petstore","bytes":3}',
        Time: time,
      },
    ]);
  });

  it('sends at most 10 entries per call, in order, when publishing many events', async () => {
    const events = Array.from({ length: 23 }, (_, i) => ({
      detailType: 'Health Observed',
      detail: { i },
    }));
    await bus().publish(events);
    const calls = eventBridge
      .commandCalls(PutEventsCommand)
      .map((c) => c.args[0].input.Entries ?? []);
    expect(calls.map((entries) => entries.length)).toEqual([10, 10, 3]);
    expect(calls.flat().map((e) => JSON.parse(e.Detail ?? '{}').i)).toEqual(
      events.map((_, i) => i),
    );
  });

  it('sends nothing when there is no event', async () => {
    await bus().publish([]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('raises EventPublishError with the count and first error when entries fail', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });
    const caught = await bus()
      .publish([
        { detailType: 'x', detail: {} },
        { detailType: 'y', detail: {} },
      ])
      .catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(EventPublishError);
    expect((caught as EventPublishError).failed).toBe(1);
    expect((caught as Error).message).toContain('InternalFailure: try again');
  });

  it('stops at the failing batch when an early batch has failures', async () => {
    eventBridge.on(PutEventsCommand).resolvesOnce({ FailedEntryCount: 2, Entries: [] });
    await expect(
      bus().publish(Array.from({ length: 15 }, () => ({ detailType: 'x', detail: {} }))),
    ).rejects.toBeInstanceOf(EventPublishError);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
  });
});
