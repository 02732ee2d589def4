import { SimulatedCrash } from '../../../shared/adapters/memory/crash.ts';
import type { EventBus, LifeboatEvent } from '../../../shared/domain/ports.ts';

/**
 * An event bus that records every accepted event, in order. `crashBeforeNextPublishes` makes the
 * next publishes die before anything is sent; `crashAfterNextPublishes` lets them through and
 * then dies (the event is out, the caller never learns it).
 */
export class RecordingEventBus implements EventBus {
  readonly events: LifeboatEvent[] = [];
  publishCalls = 0;
  crashBeforeNextPublishes = 0;
  crashAfterNextPublishes = 0;

  async publish(events: readonly LifeboatEvent[]): Promise<void> {
    this.publishCalls += 1;
    if (this.crashBeforeNextPublishes > 0) {
      this.crashBeforeNextPublishes -= 1;
      throw new SimulatedCrash('before publishing');
    }
    this.events.push(...structuredClone(events));
    if (this.crashAfterNextPublishes > 0) {
      this.crashAfterNextPublishes -= 1;
      throw new SimulatedCrash('after publishing');
    }
  }

  /** Details of the events of one detail-type, in publish order. */
  details<T = Record<string, unknown>>(detailType: string): T[] {
    return this.events.filter((e) => e.detailType === detailType).map((e) => e.detail as T);
  }

  /** `detailType eventId` of every published event, in order. */
  ids(): string[] {
    return this.events.map(
      (e) => `${e.detailType} ${String((e.detail as { eventId?: unknown }).eventId)}`,
    );
  }
}
