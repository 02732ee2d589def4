import { describe, expect, it } from 'vitest';
import { DetailType, NOTIFIED_EVENTS } from '../../../../../shared/domain/events.ts';
import {
  formatNotification,
  humanDuration,
  MAX_SUBJECT_LENGTH,
  type NotifiedEvent,
} from '../../../../../shared/domain/notifications/format.ts';

const TIME = '2026-11-25T06:05:00Z';

/** A run's event detail, as shared/domain/recovery/run.ts runEventDetail writes it. */
const run = {
  runId: 'petstore-g1',
  kind: 'recovery',
  instanceId: 'petstore',
  from: 'us-east-1',
  target: 'us-east-2',
  snapshot: {
    snapshotId: '20261125T000000Z',
    region: 'us-east-2',
    configDigest: 'sha256:abc',
    takenAt: '2026-11-25T00:00:00.000Z',
  },
  incident: { outageStartedAt: '2026-11-25T06:00:00.000Z' },
  claimSet: ['us-east-2', 'us-west-2', 'eu-west-1'],
  metrics: {
    shiftedAt: '2026-11-25T06:01:34.000Z',
    rtoFromOutageStartSeconds: 94,
    rtoFromConfirmedSeconds: 49,
    rpoSeconds: 21_600,
  },
};

function event(detailType: string, detail: Record<string, unknown>): NotifiedEvent {
  return {
    id: 'e-1',
    'detail-type': detailType,
    source: 'lifeboat',
    time: TIME,
    region: 'us-east-2',
    detail,
  };
}

/** One event of every notified type, with the fields its emitter sets. */
const SAMPLES: Record<string, NotifiedEvent> = {
  [DetailType.RegionOutageConfirmed]: event(DetailType.RegionOutageConfirmed, {
    region: 'us-east-1',
    outageStartedAt: '2026-11-25T06:00:00.000Z',
    confirmedAt: '2026-11-25T06:00:45.000Z',
    detectionSeconds: 45,
    confirmedBy: 'probe-quorum',
  }),
  [DetailType.ZoneDegraded]: event(DetailType.ZoneDegraded, {
    region: 'us-east-1',
    zone: 'us-east-1b',
    degradedSince: '2026-11-25T06:00:00.000Z',
  }),
  [DetailType.RecoveryAwaitingApproval]: event(DetailType.RecoveryAwaitingApproval, {
    ...run,
    approval: {
      requestedAt: '2026-11-25T06:01:00.000Z',
      timeoutAt: '2026-11-25T06:31:00.000Z',
      onTimeout: 'proceed',
    },
  }),
  [DetailType.RecoveryPlanned]: event(DetailType.RecoveryPlanned, run),
  [DetailType.RecoveryCompleted]: event(DetailType.RecoveryCompleted, run),
  [DetailType.RecoveryFailed]: event(DetailType.RecoveryFailed, {
    ...run,
    step: 'restore',
    reason: 'backup bucket unreachable',
  }),
  [DetailType.FailbackCompleted]: event(DetailType.FailbackCompleted, {
    ...run,
    kind: 'failback',
    from: 'us-east-2',
    target: 'us-east-1',
  }),
  [DetailType.FailbackFailed]: event(DetailType.FailbackFailed, {
    ...run,
    kind: 'failback',
    from: 'us-east-2',
    target: 'us-east-1',
    step: 'canary',
    reason: 'home health regressed at 50%',
    rolledBack: true,
  }),
  [DetailType.SnapshotFailed]: event(DetailType.SnapshotFailed, {
    instanceId: 'petstore',
    snapshotId: '20261125T060000Z',
    regionsCommitted: ['us-east-1'],
    regionsFailed: [{ region: 'us-west-2', reason: 'timeout' }],
    quorum: 2,
    reason: 'committed in 1 of 3 regions; quorum is 2',
  }),
  [DetailType.RestoreTestFailed]: event(DetailType.RestoreTestFailed, {
    instanceId: 'petstore',
    snapshotId: '20261125T000000Z',
    region: 'us-west-2',
    reason: 'chunk sha256 mismatch',
  }),
};

describe('humanDuration', () => {
  it('uses the unit a person reads fastest when durations span seconds to days', () => {
    expect(humanDuration(94)).toBe('94 s');
    expect(humanDuration(600)).toBe('10 min');
    expect(humanDuration(21_600)).toBe('6 h');
    expect(humanDuration(5400 + 3600)).toBe('2 h 30 min');
    expect(humanDuration(2 * 86_400 + 3 * 3600)).toBe('2 d 3 h');
    expect(humanDuration(Number.NaN)).toBe('?');
  });
});

describe('formatNotification', () => {
  it('writes the subject of the issue when a recovery completes', () => {
    expect(formatNotification(SAMPLES[DetailType.RecoveryCompleted] as NotifiedEvent).subject).toBe(
      'lifeboat: petstore recovered us-east-1 → us-east-2 in 94 s, RPO 6 h',
    );
  });

  it('names the region and how it was confirmed when an outage is confirmed', () => {
    const n = formatNotification(SAMPLES[DetailType.RegionOutageConfirmed] as NotifiedEvent);
    expect(n.subject).toBe(
      'lifeboat: region us-east-1 is DOWN (confirmed in 45 s by probe-quorum)',
    );
    expect(n.body).toContain('Outage started: 06:00:00 UTC');
  });

  it('says a zone failure does not fail over when a zone degrades', () => {
    const n = formatNotification(SAMPLES[DetailType.ZoneDegraded] as NotifiedEvent);
    expect(n.subject).toBe('lifeboat: zone us-east-1b degraded in us-east-1 (no failover)');
  });

  it('gives the approve and reject commands when a recovery awaits approval', () => {
    const n = formatNotification(SAMPLES[DetailType.RecoveryAwaitingApproval] as NotifiedEvent);
    expect(n.subject).toBe('lifeboat: APPROVAL NEEDED for petstore recovery us-east-1 → us-east-2');
    expect(n.body).toContain('lifeboat approve --run petstore-g1');
    expect(n.body).toContain('lifeboat reject --run petstore-g1');
    expect(n.body).toContain('If nobody answers by 06:31:00 UTC, it proceeds on its own.');
  });

  it("states the snapshot's age at the event's time when a recovery is planned", () => {
    const n = formatNotification(SAMPLES[DetailType.RecoveryPlanned] as NotifiedEvent);
    expect(n.subject).toBe(
      'lifeboat: recovering petstore us-east-1 → us-east-2, snapshot 6 h 5 min old',
    );
  });

  it('names the step, the reason and the resume command when a recovery fails', () => {
    const n = formatNotification(SAMPLES[DetailType.RecoveryFailed] as NotifiedEvent);
    expect(n.subject).toBe('lifeboat: petstore recovery FAILED at restore (us-east-1 → us-east-2)');
    expect(n.body).toContain('Why: backup bucket unreachable');
    expect(n.body).toContain('lifeboat resume --run petstore-g1 --approve');
  });

  it('says STALLED rather than FAILED when the sweeper reports a stalled run', () => {
    const n = formatNotification(
      event(DetailType.RecoveryFailed, {
        ...run,
        step: 'verify',
        reason: 'stalled at step verify since 2026-11-25T05:00:00.000Z',
        stalled: true,
        stalledSince: '2026-11-25T05:00:00.000Z',
      }),
    );
    expect(n.subject).toBe('lifeboat: petstore recovery STALLED at verify (us-east-1 → us-east-2)');
    expect(n.body).toContain('since 05:00:00 UTC');
  });

  it('says traffic was rolled back when a failback fails with a rollback', () => {
    const n = formatNotification(SAMPLES[DetailType.FailbackFailed] as NotifiedEvent);
    expect(n.subject).toBe(
      'lifeboat: petstore failback FAILED at canary, rolled back (us-east-2 → us-east-1)',
    );
    expect(n.body).toContain('keeps serving from us-east-2');
  });

  it('names home when a failback completes', () => {
    const n = formatNotification(SAMPLES[DetailType.FailbackCompleted] as NotifiedEvent);
    expect(n.subject).toBe('lifeboat: petstore back home in us-east-1 (from us-east-2)');
  });

  it('counts the regions that committed against the quorum when a snapshot fails', () => {
    const n = formatNotification(SAMPLES[DetailType.SnapshotFailed] as NotifiedEvent);
    expect(n.subject).toBe('lifeboat: petstore snapshot FAILED (1 of 2 regions needed)');
    expect(n.body).toContain('us-west-2: timeout');
  });

  it('names the backup region when a restore test fails', () => {
    const n = formatNotification(SAMPLES[DetailType.RestoreTestFailed] as NotifiedEvent);
    expect(n.subject).toBe('lifeboat: petstore restore test FAILED (backup in us-west-2)');
    expect(n.body).toContain('chunk sha256 mismatch');
  });

  it('formats every notified event with a one-line subject under the SNS limit and the JSON last', () => {
    for (const type of NOTIFIED_EVENTS) {
      const sample = SAMPLES[type];
      expect(sample, `a sample of ${type}`).toBeDefined();
      const n = formatNotification(sample as NotifiedEvent);
      expect(n.subject.startsWith('lifeboat: '), type).toBe(true);
      expect(n.subject.length, type).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
      expect(n.subject, type).not.toMatch(/[\n\r\t]/);
      expect(n.subject, type).not.toContain('?');
      expect(n.message.startsWith(n.body), type).toBe(true);
      expect(JSON.parse(n.message.slice(n.message.indexOf('\n{') + 1))).toEqual(sample);
    }
  });

  it('still notifies, with "?" in place, when the detail lacks its fields', () => {
    for (const type of NOTIFIED_EVENTS) {
      const n = formatNotification(event(type, {}));
      expect(n.subject.startsWith('lifeboat: '), type).toBe(true);
      expect(n.body.length, type).toBeGreaterThan(0);
    }
  });

  it('cuts a long subject to the SNS limit on one line when an id is long', () => {
    const n = formatNotification(
      event(DetailType.RecoveryFailed, {
        ...run,
        instanceId: `a${'-very-long-instance'.repeat(4)}`,
        step: 'restore\nwith a line break',
      }),
    );
    expect(n.subject.length).toBe(MAX_SUBJECT_LENGTH);
    expect(n.subject.endsWith('…')).toBe(true);
    expect(n.subject).not.toContain('\n');
  });
});
