import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE } from '../domain/events.ts';
import type { EventBus, LifeboatEvent } from '../domain/ports.ts';
import { EventPublishError } from '../errors.ts';

/** PutEvents accepts at most 10 entries per call. */
const PUT_EVENTS_BATCH = 10;

/** Lifeboat's custom EventBridge bus. */
export class EventBridgeBus implements EventBus {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(events: readonly LifeboatEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += PUT_EVENTS_BATCH) {
      const batch = events.slice(i, i + PUT_EVENTS_BATCH);
      const response = await this.client.send(
        new PutEventsCommand({
          Entries: batch.map((event) => ({
            EventBusName: this.busName,
            Source: EVENT_SOURCE,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
            Time: event.time,
          })),
        }),
      );
      if (response.FailedEntryCount) {
        const failed = response.Entries?.find((e) => e.ErrorCode);
        throw new EventPublishError(
          response.FailedEntryCount,
          `${failed?.ErrorCode}: ${failed?.ErrorMessage}`,
        );
      }
    }
  }
}
