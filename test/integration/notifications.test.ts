import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetTopicAttributesCommand, ListSubscriptionsByTopicCommand } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNotifyHandler, notifyDepsFor } from '../../functions/notify/handler.ts';
import { EventPump } from '../../local/event-pump.ts';
import {
  localAlarmStage,
  localRules,
  type ProvisionedRegion,
  provisionWorld,
} from '../../local/provision.ts';
import {
  cloudWatchClientFor,
  snsClientFor,
  sqsClientFor,
} from '../../shared/adapters/aws-clients.ts';
import { eventBus } from '../../shared/composition.ts';
import { rateToSeconds } from '../../shared/config/schema.ts';
import { DetailType } from '../../shared/domain/events.ts';
import { lambdaContext } from '../fakes/lambda-context.ts';
import { createMotoWorld, type MotoWorld } from '../worlds/moto.ts';

/**
 * A notified event goes the way it goes in the stack: published on the region's lifeboat bus,
 * matched by the notify rule (EventBridge's own pattern matching, in moto), handed to the notify
 * function (the pump stands in for Lambda, which moto cannot invoke), published to the region's
 * SNS topic with a subject, and delivered by SNS to the topic's SQS subscription.
 */

const REGION = 'us-east-2';
const context = lambdaContext('lifeboat-test-notify', 256);

let world: MotoWorld;
let pump: EventPump;
let region: ProvisionedRegion;

/** The SNS envelopes the local subscription of the topic received so far. */
async function delivered(): Promise<
  { Type: string; TopicArn: string; Subject?: string; Message: string }[]
> {
  const sqs = sqsClientFor({ region: REGION, endpointUrl: world.endpoint });
  const out = [];
  for (;;) {
    const page = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: region.notificationQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (!page.Messages?.length) break;
    for (const m of page.Messages) out.push(JSON.parse(m.Body ?? '{}'));
  }
  return out;
}

beforeAll(async () => {
  world = await createMotoWorld();
  // Provisioning is idempotent: this returns the topic and queue createMotoWorld made.
  const provisioned = await provisionWorld(world.config);
  region = provisioned.find((r) => r.region === REGION) as ProvisionedRegion;
  pump = new EventPump(world.endpoint, world.config.naming.bucketPrefix);
  const notify = buildNotifyHandler(() =>
    notifyDepsFor(world.config, {
      LIFEBOAT_REGION: REGION,
      LIFEBOAT_NOTIFICATION_TOPIC: region.notificationTopicArn,
    }),
  );
  const rule = localRules(world.config).find((r) => r.fn === 'notify');
  expect(rule, 'the local world routes the notify function').toBeDefined();
  await pump.subscribe({
    ...(rule as NonNullable<typeof rule>),
    region: REGION,
    handler: (event) => notify(event, context),
  });
});

afterAll(async () => {
  await pump?.close();
  await world?.close();
});

describe('notifications', () => {
  it('provisions an encrypted topic with the local SQS subscription in every region', async () => {
    const provisioned = await provisionWorld(world.config);
    expect(provisioned.map((r) => r.region).sort()).toEqual(
      world.config.regions.map((r) => r.name).sort(),
    );
    for (const r of provisioned) {
      const sns = snsClientFor({ region: r.region, endpointUrl: world.endpoint });
      const attributes = await sns.send(
        new GetTopicAttributesCommand({ TopicArn: r.notificationTopicArn }),
      );
      expect(attributes.Attributes?.KmsMasterKeyId, r.region).toBe('alias/aws/sns');
      const subscriptions = await sns.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: r.notificationTopicArn }),
      );
      // Provisioned twice (createMotoWorld, then above): SNS keeps one subscription per endpoint.
      expect(
        subscriptions.Subscriptions?.filter((s) => s.Protocol === 'sqs').length,
        r.region,
      ).toBe(1);
    }
  });

  it('delivers a confirmed outage to the topic subscription with a readable subject', async () => {
    await eventBus(world.config, REGION).publish([
      {
        detailType: DetailType.RegionOutageConfirmed,
        detail: {
          eventId: 'inc-1:confirmed',
          region: 'us-east-1',
          incidentId: 'inc-1',
          outageStartedAt: '2026-11-25T06:00:00.000Z',
          confirmedAt: '2026-11-25T06:00:45.000Z',
          detectionSeconds: 45,
          confirmedBy: 'probe-quorum',
          evidence: { vantages: [{ vantage: 'us-east-2' }, { vantage: 'us-west-2' }] },
        },
      },
    ]);
    expect(await pump.drain()).toBe(1);
    expect(pump.failures).toEqual([]);
    const messages = await delivered();
    expect(messages).toHaveLength(1);
    const [message] = messages as [(typeof messages)[number]];
    expect(message.Type).toBe('Notification');
    expect(message.TopicArn).toBe(region.notificationTopicArn);
    expect(message.Subject).toBe(
      'lifeboat: region us-east-1 is DOWN (confirmed in 45 s by probe-quorum)',
    );
    expect(message.Message).toContain('Vantages that saw it fail: us-east-2, us-west-2.');
    // The event's JSON closes the message, as EventBridge delivered it.
    const json = JSON.parse(message.Message.slice(message.Message.indexOf('{')));
    expect(json['detail-type']).toBe(DetailType.RegionOutageConfirmed);
    expect(json.detail.incidentId).toBe('inc-1');
    expect(json.region).toBe(REGION);
  });

  it('tells nobody about the events only functions and dashboards read', async () => {
    await eventBus(world.config, REGION).publish([
      { detailType: DetailType.SnapshotCompleted, detail: { instanceId: 'petstore' } },
      { detailType: DetailType.HealthObserved, detail: { vantage: REGION, observations: [] } },
    ]);
    expect(await pump.drain()).toBe(0);
    expect(await delivered()).toEqual([]);
  });

  it('has an RPO-breach alarm for every instance, wired to the topic, in every region', async () => {
    const provisioned = await provisionWorld(world.config);
    const stage = localAlarmStage(world.config);
    for (const r of provisioned) {
      const cloudwatch = cloudWatchClientFor({ region: r.region, endpointUrl: world.endpoint });
      const listed = await cloudwatch.send(
        new DescribeAlarmsCommand({ AlarmNamePrefix: `lifeboat-${stage}-` }),
      );
      const alarms = listed.MetricAlarms ?? [];
      for (const instance of world.config.instances) {
        const rpo = alarms.find((a) => a.AlarmName === `lifeboat-${stage}-rpo-${instance.id}`);
        expect(rpo, `${r.region} ${instance.id}`).toBeDefined();
        expect(rpo?.MetricName).toBe('NewestSnapshotAge');
        expect(rpo?.Threshold).toBe(2 * rateToSeconds(instance.snapshot.schedule));
        expect(rpo?.TreatMissingData).toBe('breaching');
        expect(rpo?.AlarmActions).toEqual([r.notificationTopicArn]);
        expect(Object.fromEntries((rpo?.Dimensions ?? []).map((d) => [d.Name, d.Value]))).toEqual({
          service: 'lifeboat',
          instance: instance.id,
          region: r.region,
        });
      }
      const names = alarms.map((a) => a.AlarmName);
      expect(names).toContain(`lifeboat-${stage}-run-failed`);
      expect(names).toContain(`lifeboat-${stage}-run-stalled`);
      for (const vantage of world.config.regions.map((x) => x.name))
        expect(names).toContain(`lifeboat-${stage}-vantage-silent-${vantage}`);
    }
  });
});
