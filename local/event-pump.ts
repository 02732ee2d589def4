import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import pLimit, { type LimitFunction } from 'p-limit';

/** A Lambda-style handler: takes the EventBridge event exactly as Lambda would pass it. */
export type EventHandler = (event: unknown) => Promise<unknown>;

interface Subscription {
  name: string;
  region: string;
  bus: string;
  queueUrl: string;
  handler: EventHandler;
  /** At most this many invocations of the function run at once (its concurrency limit). */
  limit: LimitFunction;
  retries: number;
}

/** How the pump invokes functions, as Lambda's asynchronous invocation does. */
export interface PumpOptions {
  /**
   * Invocations of one function that may run at once when its subscription names no limit:
   * each event is its own invocation, as on Lambda. Default 1: one event after another.
   */
  concurrency?: number;
  /** Retries of an invocation that threw, as Lambda's async invoke does (default 0). */
  retries?: number;
  /** Wait before retry n: `retryDelayMs × n` (Lambda waits 1 then 2 minutes; default 0). */
  retryDelayMs?: number;
  /**
   * While invocations run, or in the background (`start`), the queues are polled again at the
   * latest this long after the last pass (default 1000 ms); `kick()` polls at once.
   */
  idlePollMs?: number;
}

/** moto's default account id, which it uses in every ARN it returns. */
const MOTO_ACCOUNT = '123456789012';

/**
 * moto delivers EventBridge events to SQS without the `account` field that AWS always sets
 * (and that Lambda handlers validate). Fill it in, and nothing else.
 */
function withLambdaEnvelope(event: unknown): unknown {
  if (event && typeof event === 'object' && !('account' in event) && 'detail-type' in event) {
    return { ...event, account: MOTO_ACCOUNT };
  }
  return event;
}

/** A handler invocation that threw; kept so a drill can report it instead of losing it. */
export interface PumpFailure {
  subscription: string;
  error: unknown;
  event: unknown;
}

/**
 * Delivers events to handlers locally the way AWS would: EventBridge's own pattern matching
 * (a rule per function with an SQS target, on moto) decides who gets what; the pump only
 * polls each queue and invokes the handler with the event. moto cannot invoke Lambda targets,
 * which is the one gap this fills.
 */
export class EventPump {
  private readonly subscriptions: Subscription[] = [];
  readonly failures: PumpFailure[] = [];
  /** Invocations that threw and were tried again (a Lambda retry), with what they threw. */
  readonly retried: PumpFailure[] = [];
  /** The most invocations that ran at once, per subscription. */
  readonly peakConcurrency = new Map<string, number>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly running = new Map<string, number>();
  /** Passes asked for by `kick()`: a pass that began before the last kick may have missed events. */
  private kicks = 0;
  private wake: (() => void) | undefined;
  private background: Promise<void> | undefined;
  private looping = false;
  private readonly sqsClients = new Map<string, SQSClient>();

  constructor(
    private readonly endpoint: string,
    private readonly prefix: string,
    private readonly options: PumpOptions = {},
  ) {}

  /** Invocations started and not finished yet. */
  get inFlight(): number {
    return this.inflight.size;
  }

  private events(region: string) {
    return new EventBridgeClient({ region, endpoint: this.endpoint });
  }

  private sqs(region: string) {
    // One client per region, as a Lambda poller keeps its connections: a client per pass would
    // open new sockets to moto every time.
    let client = this.sqsClients.get(region);
    if (!client) {
      client = new SQSClient({ region, endpoint: this.endpoint });
      this.sqsClients.set(region, client);
    }
    return client;
  }

  /**
   * Says that events may be waiting (something was just published): the pump polls now rather
   * than at its next idle poll. EventBridge invokes a Lambda target as soon as an event
   * matches; moto can only put it on the rule's queue, and this is how the pump hears of it
   * without polling every queue all the time.
   */
  kick(): void {
    this.kicks += 1;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Resolves on the next kick, or after `ms`. */
  private woken(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const previous = this.wake;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        previous?.();
        done();
      };
    });
  }

  private get idlePollMs(): number {
    return this.options.idlePollMs ?? 1000;
  }

  /** Creates the queue and the rule, and routes matching events on `bus` to `handler`. */
  async subscribe(input: {
    name: string;
    region: string;
    bus: string;
    pattern: object;
    handler: EventHandler;
    /** This function's concurrency limit (default: the pump's `concurrency`). */
    concurrency?: number;
    /** Retries of a failed invocation (default: the pump's `retries`). */
    retries?: number;
  }): Promise<void> {
    const name = `${this.prefix}-${input.name}`.slice(0, 64);
    const sqs = this.sqs(input.region);
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const queueUrl = queue.QueueUrl as string;
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    const events = this.events(input.region);
    await events.send(
      new PutRuleCommand({
        Name: name,
        EventBusName: input.bus,
        EventPattern: JSON.stringify(input.pattern),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: name,
        EventBusName: input.bus,
        Targets: [{ Id: 'pump', Arn: attributes.Attributes?.QueueArn }],
      }),
    );
    this.subscriptions.push({
      name,
      region: input.region,
      bus: input.bus,
      queueUrl,
      handler: input.handler,
      limit: pLimit(Math.max(1, input.concurrency ?? this.options.concurrency ?? 1)),
      retries: input.retries ?? this.options.retries ?? 0,
    });
  }

  /**
   * One pass over every queue: receive, start one invocation per event (each function's
   * concurrency limit queues the rest, as Lambda throttles), delete. Returns how many events
   * were taken; their invocations may still run (see `drain`). A handler that throws is tried
   * again `retries` times, then recorded, as an EventBridge target with retries exhausted
   * would drop it into a DLQ. With a concurrency of 1, events run one after another in arrival
   * order and the pass waits for them (the pump's behaviour before invocations overlapped).
   */
  async pumpOnce(): Promise<number> {
    let delivered = 0;
    for (const sub of this.subscriptions) {
      const sqs = this.sqs(sub.region);
      for (;;) {
        const page = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: sub.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
          }),
        );
        const messages = page.Messages ?? [];
        if (messages.length === 0) break;
        for (const message of messages) {
          const event = withLambdaEnvelope(JSON.parse(message.Body ?? 'null'));
          const invocation = sub.limit(() => this.invoke(sub, event));
          this.track(invocation);
          if (sub.limit.concurrency === 1) await invocation;
          delivered += 1;
        }
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: sub.queueUrl,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    }
    return delivered;
  }

  /** One invocation, with Lambda's retries of a handler that threw. */
  private async invoke(sub: Subscription, event: unknown): Promise<void> {
    const now = (this.running.get(sub.name) ?? 0) + 1;
    this.running.set(sub.name, now);
    this.peakConcurrency.set(sub.name, Math.max(now, this.peakConcurrency.get(sub.name) ?? 0));
    const retries = sub.retries;
    try {
      for (let attempt = 0; ; attempt += 1) {
        try {
          await sub.handler(event);
          return;
        } catch (error) {
          if (attempt >= retries) {
            this.failures.push({ subscription: sub.name, error, event });
            return;
          }
          this.retried.push({ subscription: sub.name, error, event });
          const delay = (this.options.retryDelayMs ?? 0) * (attempt + 1);
          if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    } finally {
      this.running.set(sub.name, (this.running.get(sub.name) ?? 1) - 1);
    }
  }

  private track(invocation: Promise<void>): void {
    const tracked = invocation.finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  /** Waits until every invocation started so far has finished. */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /**
   * Pumps until no event is waiting and no invocation runs (events can trigger further
   * events). Between passes it waits for the next invocation to finish or the next kick, so
   * overlapping invocations are picked up as soon as what they publish arrives, not when some
   * other, longer invocation ends.
   */
  async drain(maxPasses = 1000): Promise<number> {
    let total = 0;
    for (let pass = 0; pass < maxPasses; pass += 1) {
      const kicks = this.kicks;
      const delivered = await this.pumpOnce();
      total += delivered;
      if (delivered > 0 || this.kicks !== kicks) continue;
      if (this.inflight.size === 0) break;
      await Promise.race([...this.inflight, this.woken(this.idlePollMs)]);
    }
    return total;
  }

  /**
   * Pumps in the background until `stop()`: a pass whenever `kick()` says something was
   * published, else every `idlePollMs`, as EventBridge invokes a target whatever else runs.
   */
  start(): void {
    if (this.looping) return;
    this.looping = true;
    this.background = (async () => {
      while (this.looping) {
        const kicks = this.kicks;
        let delivered = 0;
        try {
          delivered = await this.pumpOnce();
        } catch (error) {
          this.failures.push({ subscription: '(pump)', error, event: undefined });
        }
        if (!this.looping) break;
        if (delivered > 0 || this.kicks !== kicks) continue;
        await this.woken(this.idlePollMs);
      }
    })();
  }

  /** Stops the background pumping and waits for every invocation started so far. */
  async stop(): Promise<void> {
    this.looping = false;
    this.kick();
    await this.background;
    this.background = undefined;
    await this.settled();
  }

  /** Removes every rule and queue it created. */
  async close(): Promise<void> {
    await this.stop();
    for (const sub of this.subscriptions.splice(0)) {
      const events = this.events(sub.region);
      await events.send(
        new RemoveTargetsCommand({ Rule: sub.name, EventBusName: sub.bus, Ids: ['pump'] }),
      );
      await events.send(new DeleteRuleCommand({ Name: sub.name, EventBusName: sub.bus }));
      await this.sqs(sub.region).send(new DeleteQueueCommand({ QueueUrl: sub.queueUrl }));
    }
  }
}
