import type { EventBus, LifeboatEvent } from '../../shared/domain/ports.ts';

/** An event bus that keeps what it is given; `failWith` makes the next publishes throw. */
export class RecordingEventBus implements EventBus {
  readonly events: LifeboatEvent[] = [];
  publishCalls = 0;
  failWith: Error | undefined;

  async publish(events: readonly LifeboatEvent[]): Promise<void> {
    this.publishCalls += 1;
    if (this.failWith) throw this.failWith;
    this.events.push(...events);
  }

  /** Details of the events of one detail-type, in publish order. */
  details<T = unknown>(detailType: string): T[] {
    return this.events.filter((e) => e.detailType === detailType).map((e) => e.detail as T);
  }
}
