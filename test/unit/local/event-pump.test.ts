import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventPump, type PumpOptions } from '../../../local/event-pump.ts';
import {
  functionInvocation,
  LAMBDA_ACCOUNT_CONCURRENCY,
} from '../../../local/lambda-concurrency.ts';

const sqs = mockClient(SQSClient);
const events = mockClient(EventBridgeClient);

/** A queue holding `count` events, handed out once, ten at a time, as SQS would. */
function queueOf(count: number) {
  const bodies = Array.from({ length: count }, (_, i) =>
    JSON.stringify({ 'detail-type': 'Test', account: '1', detail: { n: i } }),
  );
  sqs.on(ReceiveMessageCommand).callsFake(() => {
    const page = bodies.splice(0, 10);
    return { Messages: page.map((Body, i) => ({ Body, ReceiptHandle: `r${i}` })) };
  });
}

async function pumpWith(
  options: PumpOptions,
  handler: (event: unknown) => Promise<unknown>,
  concurrency?: number,
) {
  const pump = new EventPump('http://127.0.0.1:1', 'test', options);
  await pump.subscribe({
    name: 'fn',
    region: 'us-east-1',
    bus: 'bus',
    pattern: {},
    handler,
    ...(concurrency === undefined ? {} : { concurrency }),
  });
  return pump;
}

const nOf = (event: unknown) => (event as { detail: { n: number } }).detail.n;

beforeEach(() => {
  sqs.reset();
  events.reset();
  sqs.on(CreateQueueCommand).resolves({ QueueUrl: 'http://queue' });
  sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { QueueArn: 'arn:queue' } });
  sqs.on(DeleteMessageBatchCommand).resolves({});
  events.on(PutRuleCommand).resolves({});
  events.on(PutTargetsCommand).resolves({});
});

afterEach(() => {
  sqs.reset();
  events.reset();
});

describe('EventPump', () => {
  it('runs each event in its own overlapping invocation, up to the function concurrency, when drained', async () => {
    queueOf(12);
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    const pump = await pumpWith(
      {},
      async (event) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        done.push(nOf(event));
      },
      4,
    );
    expect(await pump.drain()).toBe(12);
    expect(peak).toBe(4);
    expect(pump.peakConcurrency.get('test-fn')).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    expect(pump.inFlight).toBe(0);
  });

  it('runs events one after another in arrival order when the concurrency is 1', async () => {
    queueOf(5);
    const order: number[] = [];
    let running = 0;
    const pump = await pumpWith({}, async (event) => {
      running += 1;
      expect(running).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1));
      order.push(nOf(event));
      running -= 1;
    });
    await pump.drain();
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('retries an invocation that threw, then records the failure once every attempt failed', async () => {
    queueOf(2);
    const attempts = new Map<number, number>();
    const pump = await pumpWith({ retries: 2, concurrency: 10 }, async (event) => {
      const n = nOf(event);
      attempts.set(n, (attempts.get(n) ?? 0) + 1);
      // Event 0 fails once and then succeeds; event 1 always fails.
      if (n === 1 || attempts.get(n) === 1) throw new Error(`boom ${n}`);
    });
    await pump.drain();
    expect(attempts).toEqual(
      new Map([
        [0, 2],
        [1, 3],
      ]),
    );
    expect(pump.failures.map((f) => (f.error as Error).message)).toEqual(['boom 1']);
    expect(pump.retried).toHaveLength(3);
  });
});

describe('functionInvocation', () => {
  it('reads the deployed retries and falls back to the account quota without reserved concurrency', () => {
    expect(functionInvocation('restoreInstance')).toEqual({
      concurrency: LAMBDA_ACCOUNT_CONCURRENCY,
      retries: 2,
    });
  });

  it('names the function when serverless.yml has no such function', () => {
    expect(() => functionInvocation('noSuchFunction')).toThrow(/noSuchFunction/);
  });
});
