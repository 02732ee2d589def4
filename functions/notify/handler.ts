import type { Notification, NotifiedEvent } from '../../shared/domain/notifications/format.ts';
import { notify } from '../../shared/domain/notifications/notify.ts';
import { logger } from '../../shared/observability.ts';
import { defaultNotifyDeps, type NotifyDeps } from '../../shared/runtime/function-deps.ts';
import { eventHandler } from '../../shared/runtime/handler.ts';
import { parseNotifyEvent } from '../../shared/schemas/notify-event.ts';

export { defaultNotifyDeps, notifyDepsFor } from '../../shared/runtime/function-deps.ts';
export type { NotifyDeps };

/** Tells the topic's subscribers about one event. A refused publish fails the invocation (retried, then the DLQ). */
export async function notifyEvent(
  event: NotifiedEvent,
  deps: NotifyDeps = defaultNotifyDeps(),
): Promise<Notification> {
  const notification = await notify(event, deps.notifier);
  logger.info('notified', { detailType: event['detail-type'], subject: notification.subject });
  return notification;
}

/** The middy-wrapped function, with its dependencies supplied per invocation. */
export function buildNotifyHandler(getDeps: () => NotifyDeps) {
  return eventHandler(parseNotifyEvent, (event) => notifyEvent(event, getDeps()));
}

/** Lambda entry point: the notify rule's events. */
export const handler = buildNotifyHandler(() => defaultNotifyDeps());
