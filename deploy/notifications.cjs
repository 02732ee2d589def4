'use strict';

/**
 * Notifications, alarms and the dashboard of one region's stack:
 *
 * - one SNS topic encrypted with its own KMS key, and a subscription per
 *   `notifications.subscriptions` entry of the config;
 * - the notify function's role and the dead-letter queue of its rule (events EventBridge could
 *   not hand over) and of its asynchronous invocations (publishes that failed three times);
 * - CloudWatch alarms wired to the topic: the RPO breach of every instance, a failed run, a
 *   stalled run, a silent probe vantage, dead letters;
 * - a dashboard of lifeboat's metrics (shared/domain/metrics.ts).
 *
 * The notify rule itself is in serverless.yml (the function's eventBridge event, pattern
 * `notifyPattern`): its events are the catalog's NOTIFIED_EVENTS.
 */

const crypto = require('node:crypto');
const tsx = require('tsx/cjs/api');
const { catalog, configuredRegion, deployStage, naming, pascal } = require('./config.cjs');

const { alarmInputsOf, alarmPrefix, alarmProperties, operationalAlarms } = tsx.require(
  '../shared/domain/notifications/alarms.ts',
  __filename,
);
const { notificationTopicName } = tsx.require(
  '../shared/domain/notifications/notify.ts',
  __filename,
);
const { TAGS, account, join, kmsKey, partition } = require('./cfn.cjs');
const { dashboardBody } = require('./dashboard.cjs');

/** A stable id suffix: a changed list order never replaces a subscription. */
function hashOf(text) {
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** The topic's name, the same in every region (topics are regional); the local world's too. */
function topicName(doc) {
  return notificationTopicName(naming(doc));
}

/**
 * The alarms of one region's stack, by logical id: the operational ones of
 * shared/domain/notifications/alarms.ts (the local world creates the same in moto), and the
 * notify dead-letter queue's.
 */
function alarmsOf(doc, region, stage) {
  const resources = {};
  for (const spec of operationalAlarms(alarmInputsOf(doc, stage, region))) {
    resources[spec.logicalId] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: { ...alarmProperties(spec, { Ref: 'NotificationTopic' }), Tags: TAGS },
    };
  }
  resources.NotifyDeadLettersAlarm = {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: `${alarmPrefix(stage)}notify-dead-letters`,
      AlarmDescription: `lifeboat: notifications in ${region} could not be delivered; they wait in the notify dead-letter queue`,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': ['NotifyDeadLetterQueue', 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'NotificationTopic' }],
      Tags: TAGS,
    },
  };
  return resources;
}

/** The roles' and policies' way of naming the topic's alarms: `lifeboat-<stage>-*`. */
function alarmArnPattern(region, stage) {
  return join(
    'arn:',
    partition,
    `:cloudwatch:${region}:`,
    account,
    `:alarm:${alarmPrefix(stage)}*`,
  );
}

/** The notify rule's ARN (serverless.yml names it `lifeboat-<stage>-notify`, on the lifeboat bus). */
function notifyRuleArn(doc, region, stage) {
  return join(
    'arn:',
    partition,
    `:events:${region}:`,
    account,
    `:rule/${naming(doc).eventBusName}/lifeboat-${stage}-notify`,
  );
}

/** The resources of notifications, alarms and the dashboard (see the top of this file). */
async function notificationResources(ctx) {
  const { doc, region } = await configuredRegion(ctx);
  const stage = await deployStage(ctx);
  const here = region.name;
  const alarms = alarmsOf(doc, here, stage);
  const subscriptions = {};
  for (const s of doc.notifications.subscriptions) {
    subscriptions[
      `NotificationSubscription${pascal(s.protocol)}${hashOf(`${s.protocol}:${s.endpoint}`)}`
    ] = {
      Type: 'AWS::SNS::Subscription',
      Properties: {
        TopicArn: { Ref: 'NotificationTopic' },
        Protocol: s.protocol,
        Endpoint: s.endpoint,
      },
    };
  }
  return {
    Resources: {
      NotificationKey: kmsKey(
        `lifeboat notifications (${stage}, ${here}): encrypts the notification topic`,
        [
          // Alarm actions publish to the encrypted topic as CloudWatch: it needs a data key.
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:SourceAccount': account } },
          },
        ],
      ),
      NotificationTopic: {
        Type: 'AWS::SNS::Topic',
        Properties: {
          TopicName: topicName(doc),
          DisplayName: 'lifeboat',
          KmsMasterKeyId: { Ref: 'NotificationKey' },
          Tags: TAGS,
        },
      },
      // The notify function publishes through its role; CloudWatch only for this stack's alarms.
      NotificationTopicPolicy: {
        Type: 'AWS::SNS::TopicPolicy',
        Properties: {
          Topics: [{ Ref: 'NotificationTopic' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'LifeboatAlarmsPublish',
                Effect: 'Allow',
                Principal: { Service: 'cloudwatch.amazonaws.com' },
                Action: 'sns:Publish',
                Resource: { Ref: 'NotificationTopic' },
                Condition: {
                  ArnLike: { 'aws:SourceArn': alarmArnPattern(here, stage) },
                  StringEquals: { 'aws:SourceAccount': account },
                },
              },
            ],
          },
        },
      },
      ...subscriptions,
      // What could not be notified: events EventBridge could not hand to the function, and
      // invocations whose publish failed three times. Kept 14 days, SQS-managed encryption.
      NotifyDeadLetterQueue: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          QueueName: `lifeboat-${stage}-notify-dlq`,
          SqsManagedSseEnabled: true,
          MessageRetentionPeriod: 1_209_600,
          Tags: TAGS,
        },
      },
      NotifyDeadLetterQueuePolicy: {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: 'NotifyDeadLetterQueue' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'NotifyRuleDeadLetters',
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: { 'Fn::GetAtt': ['NotifyDeadLetterQueue', 'Arn'] },
                Condition: { ArnEquals: { 'aws:SourceArn': notifyRuleArn(doc, here, stage) } },
              },
              {
                Sid: 'DenyInsecureTransport',
                Effect: 'Deny',
                Principal: '*',
                Action: 'sqs:*',
                Resource: { 'Fn::GetAtt': ['NotifyDeadLetterQueue', 'Arn'] },
                Condition: { Bool: { 'aws:SecureTransport': false } },
              },
            ],
          },
        },
      },
      NotifyRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          Description: `lifeboat notify function (${stage}, ${here})`,
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'lambda.amazonaws.com' },
                Action: 'sts:AssumeRole',
              },
            ],
          },
          Policies: [
            {
              PolicyName: 'notify',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Sid: 'WriteOwnLogs',
                    Effect: 'Allow',
                    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                    Resource: { 'Fn::GetAtt': ['NotifyLogGroup', 'Arn'] },
                  },
                  {
                    Sid: 'PublishNotifications',
                    Effect: 'Allow',
                    Action: 'sns:Publish',
                    Resource: { Ref: 'NotificationTopic' },
                  },
                  // Publishing to an encrypted topic takes a data key from the topic's key.
                  {
                    Sid: 'EncryptNotifications',
                    Effect: 'Allow',
                    Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
                    Resource: { 'Fn::GetAtt': ['NotificationKey', 'Arn'] },
                  },
                  // Lambda's on-failure destination: a publish that failed every attempt.
                  {
                    Sid: 'DeadLetters',
                    Effect: 'Allow',
                    Action: 'sqs:SendMessage',
                    Resource: { 'Fn::GetAtt': ['NotifyDeadLetterQueue', 'Arn'] },
                  },
                ],
              },
            },
          ],
          Tags: TAGS,
        },
      },
      ...alarms,
      Dashboard: {
        Type: 'AWS::CloudWatch::Dashboard',
        Properties: {
          DashboardName: `lifeboat-${stage}-${here}`,
          DashboardBody: {
            'Fn::Sub': dashboardBody(
              doc,
              here,
              stage,
              Object.values(alarms).map((a) => a.Properties.AlarmName),
              topicName(doc),
            ),
          },
        },
      },
    },
    Outputs: {
      NotificationTopicArn: {
        Description:
          "lifeboat's notification topic in this region: subscribe to it for outages, recoveries and alarms",
        Value: { Ref: 'NotificationTopic' },
      },
    },
  };
}

/** The notify rule's pattern: every event of the catalog's NOTIFIED_EVENTS on the lifeboat bus. */
function notifyPattern() {
  return structuredClone(catalog.NOTIFY_ROUTE.pattern);
}

module.exports = { notificationResources, notifyPattern, topicName };
