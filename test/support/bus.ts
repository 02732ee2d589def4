import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { LifeboatConfig } from '../../shared/config/schema.ts';

/**
 * Subscribes an SQS queue to lifeboat's bus with a real EventBridge rule, so tests see exactly
 * what EventBridge's own pattern matching delivers.
 */
export async function subscribe(config: LifeboatConfig, region: string, detailTypes: string[]) {
  const endpoint = process.env.AWS_ENDPOINT_URL as string;
  const events = new EventBridgeClient({ region, endpoint });
  const sqs = new SQSClient({ region, endpoint });
  const name = `${config.naming.bucketPrefix}-${Math.random().toString(36).slice(2, 8)}`;
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const queueUrl = queue.QueueUrl as string;
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  await events.send(
    new PutRuleCommand({
      Name: name,
      EventBusName: config.naming.eventBusName,
      EventPattern: JSON.stringify({ source: ['lifeboat'], 'detail-type': detailTypes }),
    }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: name,
      EventBusName: config.naming.eventBusName,
      Targets: [{ Id: 'queue', Arn: attributes.Attributes?.QueueArn }],
    }),
  );
  return {
    /** Drains what has arrived so far, as parsed EventBridge envelopes. */
    async received(): Promise<{ 'detail-type': string; detail: Record<string, unknown> }[]> {
      const out = [];
      for (;;) {
        const page = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
          }),
        );
        if (!page.Messages?.length) break;
        for (const m of page.Messages) out.push(JSON.parse(m.Body ?? '{}'));
      }
      return out;
    },
  };
}
