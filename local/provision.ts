import { PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CreateEventBusCommand, ResourceAlreadyExistsException } from '@aws-sdk/client-eventbridge';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import {
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import {
  cloudWatchClientFor,
  eventBridgeClientFor,
  kmsClientFor,
  s3ClientFor,
  snsClientFor,
  sqsClientFor,
} from '../shared/adapters/aws-clients.ts';
import { secretsKeyAlias } from '../shared/composition.ts';
import { regionBuckets } from '../shared/config/load.ts';
import type { LifeboatConfig } from '../shared/config/schema.ts';
import {
  type EventPattern,
  type FunctionName,
  NOTIFY_ROUTE,
  ROUTES,
} from '../shared/domain/events.ts';
import {
  alarmInputsOf,
  alarmProperties,
  operationalAlarms,
} from '../shared/domain/notifications/alarms.ts';
import {
  localNotificationQueueName,
  notificationTopicName,
} from '../shared/domain/notifications/notify.ts';
import { restoreTestSchedules } from '../shared/domain/snapshot/restore-test.ts';

/** What provisioning created, region by region. */
export interface ProvisionedRegion {
  region: string;
  buckets: string[];
  eventBus: string;
  /** The region's notification topic (the notify function publishes there). */
  notificationTopicArn: string;
  /** The local world's SQS subscription of that topic: what a person would have been sent. */
  notificationQueueUrl: string;
}

/**
 * Creates what `serverless deploy` would create in each region, against whatever endpoint the
 * config and environment name (moto locally): the three buckets, hardened the same way, and
 * the event bus. Safe to run twice.
 */
export async function provisionWorld(config: LifeboatConfig): Promise<ProvisionedRegion[]> {
  return Promise.all(
    config.regions.map(async (region) => {
      const target = { region: region.name, endpointUrl: region.endpointUrl };
      const s3 = s3ClientFor(target);
      const buckets = Object.values(regionBuckets(config, region));
      for (const bucket of buckets) {
        try {
          await s3.send(
            new CreateBucketCommand({
              Bucket: bucket,
              ...(region.name === 'us-east-1'
                ? {}
                : { CreateBucketConfiguration: { LocationConstraint: region.name as never } }),
            }),
          );
        } catch (error) {
          if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
        }
        await s3.send(
          new PutBucketVersioningCommand({
            Bucket: bucket,
            VersioningConfiguration: { Status: 'Enabled' },
          }),
        );
        await s3.send(
          new PutBucketEncryptionCommand({
            Bucket: bucket,
            ServerSideEncryptionConfiguration: {
              Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
            },
          }),
        );
        await s3.send(
          new PutPublicAccessBlockCommand({
            Bucket: bucket,
            PublicAccessBlockConfiguration: {
              BlockPublicAcls: true,
              BlockPublicPolicy: true,
              IgnorePublicAcls: true,
              RestrictPublicBuckets: true,
            },
          }),
        );
      }
      try {
        await eventBridgeClientFor(target).send(
          new CreateEventBusCommand({ Name: config.naming.eventBusName }),
        );
      } catch (error) {
        if (!(error instanceof ResourceAlreadyExistsException)) throw error;
      }
      await ensureSecretsKey(config, target);
      const notifications = await ensureNotifications(config, target);
      await ensureAlarms(config, target, notifications.notificationTopicArn);
      return {
        region: region.name,
        buckets,
        eventBus: config.naming.eventBusName,
        ...notifications,
      };
    }),
  );
}

/**
 * The region's lifeboat secrets key (the API Gateway kind seals API key values under it), as
 * each region's stack creates it: one KMS key with its alias, whatever instances the config
 * lists, so an instance added later needs no new provisioning.
 */
async function ensureSecretsKey(
  config: LifeboatConfig,
  target: { region: string; endpointUrl?: string },
): Promise<void> {
  const kms = kmsClientFor(target);
  const alias = secretsKeyAlias(config);
  try {
    await kms.send(new DescribeKeyCommand({ KeyId: alias }));
    return;
  } catch (error) {
    if ((error as { name?: string }).name !== 'NotFoundException') throw error;
  }
  const key = await kms.send(
    new CreateKeyCommand({ Description: `lifeboat secrets (${config.naming.bucketPrefix})` }),
  );
  await kms.send(
    new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyMetadata?.KeyId as string }),
  );
}

/**
 * The region's notification topic, as each region's stack creates it (deploy/notifications.cjs),
 * with one SQS queue subscribed to it in place of a person: it holds the SNS envelopes (subject
 * and message) a subscriber would get. Both calls are idempotent in SNS and SQS.
 */
async function ensureNotifications(
  config: LifeboatConfig,
  target: { region: string; endpointUrl?: string },
): Promise<{ notificationTopicArn: string; notificationQueueUrl: string }> {
  const sns = snsClientFor(target);
  const sqs = sqsClientFor(target);
  const topic = await sns.send(
    new CreateTopicCommand({
      Name: notificationTopicName(config.naming),
      Attributes: { DisplayName: 'lifeboat', KmsMasterKeyId: 'alias/aws/sns' },
    }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({ QueueName: localNotificationQueueName(config.naming) }),
  );
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.QueueUrl as string,
      AttributeNames: ['QueueArn'],
    }),
  );
  await sns.send(
    new SubscribeCommand({
      TopicArn: topic.TopicArn as string,
      Protocol: 'sqs',
      Endpoint: attributes.Attributes?.QueueArn as string,
    }),
  );
  return {
    notificationTopicArn: topic.TopicArn as string,
    notificationQueueUrl: queue.QueueUrl as string,
  };
}

/**
 * The stage a local world's alarms are named for: its bucket prefix, so that worlds sharing one
 * moto_server (the test files) never replace each other's alarms.
 */
export function localAlarmStage(config: LifeboatConfig): string {
  return config.naming.bucketPrefix;
}

/**
 * The region's stack alarms on lifeboat's metrics (shared/domain/notifications/alarms.ts, the
 * same list deploy/notifications.cjs deploys), wired to its topic. moto stores them but never
 * evaluates them; PutMetricAlarm replaces an alarm of the same name, so this is idempotent.
 */
async function ensureAlarms(
  config: LifeboatConfig,
  target: { region: string; endpointUrl?: string },
  topicArn: string,
): Promise<void> {
  const cloudwatch = cloudWatchClientFor(target);
  const inputs = alarmInputsOf(config, localAlarmStage(config), target.region);
  for (const spec of operationalAlarms(inputs)) {
    await cloudwatch.send(new PutMetricAlarmCommand(alarmProperties(spec, topicArn)));
  }
}

/** One EventBridge rule of the local world: a catalog route on a bus of the control region. */
export interface LocalRule {
  /** The catalog's rule name: also the name of the queue the pump drains. */
  name: string;
  fn: FunctionName;
  /** The bus the rule is on: the lifeboat bus's name, or `default`. */
  bus: string;
  pattern: EventPattern;
}

/**
 * The rules the local world subscribes its functions with: every route of the event catalog,
 * and the notify function's, on the bus the stack puts it on (the deploy test checks the stack
 * routes the same way).
 */
export function localRules(config: LifeboatConfig): LocalRule[] {
  return [...ROUTES, NOTIFY_ROUTE].map((route) => ({
    name: route.rule,
    fn: route.fn,
    bus: route.bus === 'lifeboat' ? config.naming.eventBusName : 'default',
    pattern: structuredClone(route.pattern),
  }));
}

/** A per-instance schedule of the local world: a function the stack runs on a timer of its own. */
export interface LocalSchedule {
  fn: FunctionName;
  /** The region whose stack holds the rule (the instance's home region). */
  region: string;
  rate: string;
  /** The rule's input, as EventBridge hands it to the function. */
  input: { instanceId: string };
}

/**
 * The per-instance schedules the stack deploys (deploy/lifeboat.cjs restoreTestEvents): a
 * restore test for each instance with `snapshot.restoreTest`, in its home region. The local
 * world fires them itself ("local timers stand in for schedules").
 */
export function localSchedules(config: LifeboatConfig): LocalSchedule[] {
  return restoreTestSchedules(config.instances).map((s) => ({
    fn: 'restoreTest',
    region: s.region,
    rate: s.rate,
    input: { instanceId: s.instanceId },
  }));
}
