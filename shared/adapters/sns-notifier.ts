import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notification } from '../domain/notifications/format.ts';
import type { Notifier } from '../domain/notifications/notify.ts';
import { NotificationError } from '../errors.ts';

/** Notifications as messages on one SNS topic: the subject for email, the message for every protocol. */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(notification: Notification): Promise<void> {
    try {
      await this.sns.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: notification.subject,
          Message: notification.message,
        }),
      );
    } catch (cause) {
      throw new NotificationError(
        `could not publish "${notification.subject}" to ${this.topicArn}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
}
