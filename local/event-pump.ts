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

/** A Lambda-style handler: takes the EventBridge event exactly as Lambda would pass it. */
export type EventHandler = (event: unknown) => Promise<unknown>;

interface Subscription {
  name: string;
  region: string;
  bus: string;
  queueUrl: string;
  handler: EventHandler;
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
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly prefix: string,
  ) {}

  private events(region: string) {
    return new EventBridgeClient({ region, endpoint: this.endpoint });
  }

  private sqs(region: string) {
    return new SQSClient({ region, endpoint: this.endpoint });
  }

  /** Creates the queue and the rule, and routes matching events on `bus` to `handler`. */
  async subscribe(input: {
    name: string;
    region: string;
    bus: string;
    pattern: object;
    handler: EventHandler;
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
    });
  }

  /**
   * One pass over every queue: receive, invoke in arrival order, delete. Returns how many
   * events were delivered. A handler that throws is recorded and its message deleted, as an
   * EventBridge target with retries exhausted would drop it into a DLQ.
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
          try {
            await sub.handler(event);
          } catch (error) {
            this.failures.push({ subscription: sub.name, error, event });
          }
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

  /** Pumps until a pass delivers nothing (events can trigger further events). */
  async drain(maxPasses = 50): Promise<number> {
    let total = 0;
    for (let pass = 0; pass < maxPasses; pass += 1) {
      const delivered = await this.pumpOnce();
      total += delivered;
      if (delivered === 0) break;
    }
    return total;
  }

  /** Pumps in the background every `intervalMs` until `stop()`. */
  start(intervalMs = 100): void {
    const tick = () => {
      this.running = this.pumpOnce()
        .then(() => undefined)
        .catch((error) => {
          this.failures.push({ subscription: '(pump)', error, event: undefined });
        })
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, intervalMs);
        });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  async stop(): Promise<void> {
    const timer = this.timer;
    this.timer = undefined;
    if (timer) clearTimeout(timer);
    await this.running;
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
