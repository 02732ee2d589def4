import { formatNotification, type Notification, type NotifiedEvent } from './format.ts';

/** Where notifications go: the region's SNS topic (shared/adapters/sns-notifier.ts), a list in tests. */
export interface Notifier {
  publish(notification: Notification): Promise<void>;
}

/** Formats one event and hands it to the notifier; returns what was published. */
export async function notify(event: NotifiedEvent, notifier: Notifier): Promise<Notification> {
  const notification = formatNotification(event);
  await notifier.publish(notification);
  return notification;
}

/** The notification topic's name in every region (topics are regional): `<bucketPrefix>-notifications`. */
export function notificationTopicName(naming: { bucketPrefix: string }): string {
  return `${naming.bucketPrefix}-notifications`;
}

/** The local world's own subscriber of each region's topic: an SQS queue (local/provision.ts). */
export function localNotificationQueueName(naming: { bucketPrefix: string }): string {
  return `${naming.bucketPrefix}-notifications-local`;
}
