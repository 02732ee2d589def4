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
