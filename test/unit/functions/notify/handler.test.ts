import { beforeAll, describe, expect, it } from 'vitest';
import { buildNotifyHandler, notifyDepsFor } from '../../../../functions/notify/handler.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../../shared/config/load.ts';
import { DetailType } from '../../../../shared/domain/events.ts';
import type { Notification } from '../../../../shared/domain/notifications/format.ts';
import type { Notifier } from '../../../../shared/domain/notifications/notify.ts';
import { EventValidationError, NotificationError } from '../../../../shared/errors.ts';
import { logger } from '../../../../shared/observability.ts';
import { emfLines } from '../../../fakes/emf.ts';
import { lambdaContext } from '../../../fakes/lambda-context.ts';

const context = lambdaContext('lifeboat-dev-notify', 256);

/** The notifier the handler publishes through, recording what it was given. */
class RecordingNotifier implements Notifier {
  readonly published: Notification[] = [];
  failWith: Error | undefined;
  async publish(notification: Notification): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.published.push(notification);
  }
}

const completed = {
  version: '0',
  id: 'ev-1',
  'detail-type': DetailType.RecoveryCompleted,
  source: 'lifeboat',
  account: '123456789012',
  time: '2026-11-25T06:01:34Z',
  region: 'us-east-2',
  resources: [],
  detail: {
    runId: 'petstore-g1',
    instanceId: 'petstore',
    from: 'us-east-1',
    target: 'us-east-2',
    metrics: { rtoFromOutageStartSeconds: 94, rpoSeconds: 21_600 },
  },
};

beforeAll(() => {
  logger.setLogLevel('SILENT');
});

describe('notify handler', () => {
  it('publishes the readable subject, the body and the event when a notified event arrives', async () => {
    const notifier = new RecordingNotifier();
    const handler = buildNotifyHandler(() => ({ region: 'us-east-2', notifier }));
    const docs = await emfLines(() => handler(completed, context));
    expect(notifier.published).toHaveLength(1);
    const [n] = notifier.published as [Notification];
    expect(n.subject).toBe('lifeboat: petstore recovered us-east-1 → us-east-2 in 94 s, RPO 6 h');
    expect(n.message).toContain('"runId": "petstore-g1"');
    // Notifying measures nothing: the events it reports on are counted where they happen.
    expect(docs).toEqual([]);
  });

  it('rejects an event no person is told about, naming the field, and publishes nothing', async () => {
    const notifier = new RecordingNotifier();
    const handler = buildNotifyHandler(() => ({ region: 'us-east-2', notifier }));
    const caught = await handler(
      { ...completed, 'detail-type': DetailType.HealthObserved },
      context,
    ).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(EventValidationError);
    expect((caught as EventValidationError).field).toBe('detail-type');
    expect(notifier.published).toEqual([]);
  });

  it('rejects an event whose detail is not an object', async () => {
    const notifier = new RecordingNotifier();
    const handler = buildNotifyHandler(() => ({ region: 'us-east-2', notifier }));
    const caught = await handler({ ...completed, detail: 'down' }, context).catch(
      (e: unknown) => e,
    );
    expect(caught).toBeInstanceOf(EventValidationError);
    expect((caught as EventValidationError).field).toBe('detail');
  });

  it('fails the invocation when the topic refuses the message, so Lambda retries it', async () => {
    const notifier = new RecordingNotifier();
    notifier.failWith = new NotificationError('AuthorizationError');
    const handler = buildNotifyHandler(() => ({ region: 'us-east-2', notifier }));
    await expect(handler(completed, context)).rejects.toBeInstanceOf(NotificationError);
  });

  it('refuses to build its deps when the stack did not pass the topic', () => {
    const config = loadConfig(DEFAULT_CONFIG_PATH);
    expect(() => notifyDepsFor(config, { LIFEBOAT_REGION: 'us-east-2' })).toThrow(
      NotificationError,
    );
  });
});
