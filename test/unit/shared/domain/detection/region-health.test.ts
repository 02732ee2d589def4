import { describe, expect, it } from 'vitest';
import {
  applySignal,
  applySignals,
  type DetectorSettings,
  detectorSettings,
  initialRegionHealth,
  type Signal,
} from '../../../../../shared/domain/detection/region-health.ts';
import {
  alarm,
  type Emitted,
  health,
  merge,
  obs,
  policy,
  probes,
  replay,
  settings,
  signalAt,
  TARGET,
  t,
  tick,
  timeline,
  type View,
  ZONES,
} from '../../../../fakes/detection/streams.ts';

const [A, B, C, D] = ['us-east-1', 'us-west-2', 'ap-southeast-1', 'eu-central-1'];
const [ZA, ZB] = ZONES;
/** Three vantages, quorum 2: a majority. */
const THREE = [A, B, C];
const q2of3: DetectorSettings = settings({ quorum: 2 }, 4);
/** Four vantages, default quorum for five regions: 3. */
const q3of4: DetectorSettings = settings({});

/** The evidence of an event that must exist. */
function evidenceOf<T>(detail: Record<string, unknown> | undefined): T {
  if (!detail) throw new Error('expected an event');
  return detail.evidence as T;
}
const ofType = (emitted: readonly Emitted[], type: string) =>
  emitted.filter((e) => e.event.detailType === type);
/** A vantage in `failing` sees every endpoint fail from `from` on; everyone else sees it answer. */
const regionDown =
  (failing: readonly string[], from = 0, until = Number.POSITIVE_INFINITY): View =>
  (v, _z, s) =>
    !(failing.includes(v) && s >= from && s < until);

describe('detectorSettings', () => {
  it('derives the window, corroborated window and staleness from the interval when given the defaults', () => {
    expect(detectorSettings(policy(), 5)).toEqual({
      intervalSeconds: 30,
      windowSeconds: 90,
      corroboratedWindowSeconds: 30,
      staleSeconds: 180,
      recoverySeconds: 300,
      quorum: 3,
      alarmsCanConfirm: false,
      healthEventsCanConfirm: false,
    });
  });

  it.each([
    [1, 1],
    [2, 1],
    [3, 2],
    [4, 3],
    [9, 3],
  ])('defaults the quorum to min(3, n − 1) when there are %i regions', (regions, quorum) => {
    expect(detectorSettings(policy(), regions).quorum).toBe(quorum);
  });

  it('keeps an explicit quorum when the policy sets one', () => {
    expect(detectorSettings(policy({ quorum: 4 }), 9).quorum).toBe(4);
  });

  it('keeps three intervals of staleness when the window is a single interval', () => {
    const s = detectorSettings(policy({ intervalSeconds: 10, failureThreshold: 1 }), 3);
    expect(s.windowSeconds).toBe(10);
    expect(s.staleSeconds).toBe(30);
  });
});

describe('initialRegionHealth', () => {
  it('starts healthy with nothing known when created', () => {
    expect(initialRegionHealth(TARGET, t(0))).toEqual({
      outbox: [],
      region: TARGET,
      statusSince: t(0),
      status: 'healthy',
      alarms: {},
      degradedZones: {},
      endpoints: {},
      healthEvents: {},
      vantages: {},
    });
  });
});

describe('applySignal', () => {
  it('returns a new state and leaves its input untouched when an observation arrives', () => {
    const before = initialRegionHealth(TARGET, t(0));
    const copy = structuredClone(before);
    const after = applySignal(before, obs(A, ZA, false, 0), q3of4);
    expect(before).toEqual(copy);
    expect(after).not.toBe(before);
    expect(after.status).toBe('suspect');
  });

  it('marks the region suspect and never confirms when only one vantage sees it failing', () => {
    const { emitted, statuses, state } = replay(
      probes({ from: 0, to: 1800, view: regionDown([A]) }),
      q3of4,
    );
    expect(emitted).toEqual([]);
    expect(new Set(statuses)).toEqual(new Set(['suspect']));
    // History is bounded, so a run that outlives it is dated from the oldest sample kept.
    expect(Date.parse(state.vantages[A]?.downSince ?? '')).toBeLessThanOrEqual(
      Date.parse(t(1800 - 90)),
    );
  });

  it('confirms exactly once, at the end of the window, when a quorum sees every endpoint failing', () => {
    const signals = probes({ from: 0, to: 1800, view: regionDown([A, B, C]) });
    const { emitted, state } = replay(signals, q3of4);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@90']);
    const first90 = signals.findIndex((s) => signalAt(s) === t(90));
    expect(emitted[0]?.index).toBe(first90);
    expect(state.status).toBe('outage');
    expect(state.incidentId).toBe('eu-west-1-20261125T060000Z');
    const detail = emitted[0]?.event.detail;
    expect(emitted[0]?.event.eventId).toBe('eu-west-1-20261125T060000Z:confirmed');
    expect(detail).toMatchObject({
      eventId: 'eu-west-1-20261125T060000Z:confirmed',
      region: TARGET,
      incidentId: 'eu-west-1-20261125T060000Z',
      outageStartedAt: t(0),
      confirmedAt: t(90),
      detectionSeconds: 90,
      confirmedBy: 'probe-quorum',
      evidence: {
        quorum: 3,
        windowSeconds: 90,
        window: { from: t(0), to: t(90) },
        answeringVantages: [D],
        alarms: [],
        healthEvents: [],
      },
    });
    const { vantages } = evidenceOf<{ vantages: { vantage: string }[] }>(detail);
    expect(vantages.map((v) => v.vantage).sort()).toEqual([A, B, C].sort());
    for (const v of vantages) {
      expect(v).toMatchObject({
        downSince: t(0),
        failures: [
          { endpoint: `petstore/${ZA}`, since: t(0), error: 'connect ETIMEDOUT' },
          { endpoint: `petstore/${ZB}`, since: t(0), error: 'connect ETIMEDOUT' },
        ],
      });
    }
  });

  it('does not confirm when the quorum sees fewer failed probes than failureThreshold', () => {
    // Failures at 0 and 30, answers from 60 on: two of the three probes the window needs.
    const { emitted, statuses } = replay(
      probes({ from: 0, to: 900, view: regionDown([A, B, C], 0, 60) }),
      q3of4,
    );
    expect(emitted).toEqual([]);
    expect(statuses).not.toContain('outage');
  });

  it('confirms at a tick between probes when the window elapses there', () => {
    const signals = merge(probes({ from: 0, to: 60, view: regionDown([A, B, C]) }), [
      tick(89),
      tick(90),
    ]);
    const { emitted } = replay(signals, q3of4);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@90']);
    expect(emitted[0]?.event.detail).toMatchObject({ confirmedAt: t(90) });
  });

  it('reports Zone Degraded once and never an outage when one zone fails while the other answers', () => {
    const view: View = (_v, z, s) => !(z === ZA && s >= 60 && s < 600);
    const { emitted, statuses } = replay(probes({ from: 0, to: 1200, view }), q3of4);
    expect(timeline(emitted)).toEqual(['Zone Degraded@150', 'Zone Recovered@600']);
    expect(statuses).not.toContain('outage');
    expect(statuses).not.toContain('suspect');
    const degraded = emitted[0]?.event;
    expect(degraded?.eventId).toBe(`eu-west-1-${ZA}-20261125T060100Z:degraded`);
    expect(degraded?.detail).toMatchObject({
      region: TARGET,
      zone: ZA,
      degradedSince: t(60),
      reportedAt: t(150),
      evidence: {
        quorum: 3,
        windowSeconds: 90,
        window: { from: t(60), to: t(150) },
        regionStillAnswering: true,
      },
    });
    const { vantages } = evidenceOf<{ vantages: { vantage: string }[] }>(degraded?.detail);
    expect(vantages.length).toBeGreaterThanOrEqual(3);
    expect(vantages[0]).toMatchObject({
      zoneDownSince: t(60),
      failures: [{ since: t(60), error: 'connect ETIMEDOUT' }],
    });
    expect(emitted[1]?.event.detail).toMatchObject({ zone: ZA, recoveredAt: t(600) });
    expect(
      evidenceOf<{ vantages: string[] }>(emitted[1]?.event.detail).vantages.length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('never reports a zone degraded when the zone flaps faster than the window', () => {
    const view: View = (_v, z, s) => z === ZB || Math.floor(s / 60) % 2 === 1;
    const { emitted } = replay(probes({ from: 0, to: 3600, view }), q3of4);
    expect(emitted).toEqual([]);
  });

  it('does not report a zone degraded when fewer than a quorum of vantages see it failing', () => {
    const view: View = (v, z) => !(z === ZA && (v === A || v === B));
    const { emitted } = replay(probes({ from: 0, to: 900, view }), q3of4);
    expect(emitted).toEqual([]);
  });

  const flapping: [string, (s: number) => boolean][] = [
    ['down and up every interval', (s) => (s / 30) % 2 === 0],
    ['down and up every two intervals', (s) => Math.floor(s / 60) % 2 === 0],
    ['down two intervals, up one', (s) => (s / 30) % 3 !== 2],
    [
      'down for irregular stretches shorter than the window',
      (s) => [0, 30, 90, 150, 180, 270, 300, 390, 480, 510, 570, 600].includes(s % 660),
    ],
    ['up for one probe only, between long failing stretches', (s) => (s / 30) % 3 !== 0],
  ];
  it.each(flapping)('never confirms an outage when the region flaps %s', (_name, failing) => {
    const { emitted, statuses } = replay(
      probes({ from: 0, to: 3600, view: (_v, _z, s) => !failing(s) }),
      q3of4,
    );
    expect(ofType(emitted, 'Region Outage Confirmed')).toEqual([]);
    expect(emitted).toEqual([]);
    expect(statuses).not.toContain('outage');
    expect(statuses).toContain('suspect');
  });

  it('never confirms when zones take turns failing so that one always answers', () => {
    const view: View = (_v, z, s) => (Math.floor(s / 60) % 2 === 0 ? z === ZA : z === ZB);
    const { emitted, statuses } = replay(probes({ from: 0, to: 3600, view }), q3of4);
    expect(emitted).toEqual([]);
    expect(statuses).not.toContain('outage');
  });

  it('never confirms when one vantage is partitioned and sees everything failing', () => {
    const two = replay(
      probes({ from: 0, to: 1800, view: regionDown([B]), vantages: THREE }),
      q2of3,
    );
    expect(two.emitted).toEqual([]);
    expect(two.state.status).toBe('suspect');
    const three = replay(probes({ from: 0, to: 1800, view: regionDown([D]) }), q3of4);
    expect(three.emitted).toEqual([]);
  });

  it('reports Region Recovered only after recoverySeconds of sustained health from a quorum', () => {
    const signals = probes({ from: 0, to: 1500, view: regionDown([A, B, C, D], 0, 600) });
    const { emitted, statuses, state } = replay(signals, q3of4);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@90', 'Region Recovered@900']);
    const last = (s: number) => signals.findLastIndex((x) => signalAt(x) === t(s));
    expect(statuses[last(570)]).toBe('outage');
    expect(statuses[last(600)]).toBe('recovering');
    expect(statuses[last(870)]).toBe('recovering');
    const recovered = emitted[1]?.event;
    expect(recovered?.eventId).toBe('eu-west-1-20261125T060000Z:recovered');
    expect(recovered?.detail).toMatchObject({
      incidentId: 'eu-west-1-20261125T060000Z',
      outageStartedAt: t(0),
      healthySince: t(600),
      recoveredAt: t(900),
      evidence: { quorum: 3, recoverySeconds: 300, window: { from: t(600), to: t(900) } },
    });
    const { vantages } = evidenceOf<{ vantages: { upSince: string }[] }>(recovered?.detail);
    expect(vantages.length).toBeGreaterThanOrEqual(3);
    for (const v of vantages) expect(v.upSince).toBe(t(600));
    expect(state.status).toBe('healthy');
    expect(state.incidentId).toBeUndefined();
  });

  it('returns to outage without a second confirmation when recovery is interrupted by a relapse', () => {
    // Down from 0; answers 600–750; down 780–870; answers from 900 on.
    const view: View = (_v, _z, s) => (s >= 600 && s <= 750) || s >= 900;
    const signals = probes({ from: 0, to: 1800, view });
    const { emitted, statuses } = replay(signals, q3of4);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@90', 'Region Recovered@1200']);
    const statusAt = (s: number) => statuses[signals.findLastIndex((x) => signalAt(x) === t(s))];
    expect(statusAt(750)).toBe('recovering');
    expect(statusAt(780)).toBe('outage');
    expect(statusAt(900)).toBe('recovering');
    expect(statusAt(1170)).toBe('recovering');
    expect(statusAt(1200)).toBe('healthy');
  });

  it('never reports Region Recovered when the recovering region keeps relapsing', () => {
    const view: View = (_v, _z, s) => s >= 600 && (s / 30) % 5 !== 0;
    const { emitted } = replay(probes({ from: 0, to: 3600, view }), q3of4);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@90']);
  });

  it('gives the same result as the clean stream when every observation is delivered twice', () => {
    const view = regionDown([A, B, C], 60, 700);
    const clean = probes({ from: 0, to: 1500, view });
    const doubled = clean.flatMap((s, i) => (i % 3 === 0 ? [s, s] : [s]));
    // Whole rounds delivered again much later (after newer observations) as well.
    const late = clean.filter((s) => [t(120), t(600)].includes(signalAt(s)));
    const withLate = [...doubled.slice(0, 200), ...late, ...doubled.slice(200)];
    const a = replay(clean, q3of4);
    const b = replay(withLate, q3of4);
    expect(timeline(a.emitted)).toEqual(['Region Outage Confirmed@150', 'Region Recovered@1020']);
    expect(b.emitted.map((e) => e.event)).toEqual(a.emitted.map((e) => e.event));
    expect(b.state).toEqual(a.state);
  });

  it('gives the same result as the clean stream when observations of one instant arrive in another order', () => {
    const view = regionDown([A, B, C], 60, 700);
    const clean = probes({ from: 0, to: 1500, view });
    const rounds = new Map<string, Signal[]>();
    for (const s of clean) rounds.set(signalAt(s), [...(rounds.get(signalAt(s)) ?? []), s]);
    const reversed = [...rounds.values()].flatMap((r) => [...r].reverse());
    const rotated = [...rounds.values()].flatMap((r, i) => [
      ...r.slice(i % r.length),
      ...r.slice(0, i % r.length),
    ]);
    const a = replay(clean, q3of4);
    for (const reordered of [reversed, rotated]) {
      const b = replay(reordered, q3of4);
      expect(timeline(b.emitted)).toEqual(timeline(a.emitted));
      expect(b.emitted.map((e) => e.event.eventId)).toEqual(a.emitted.map((e) => e.event.eventId));
    }
  });

  it('ignores an alarm notification that is a duplicate or older than the alarm state it knows', () => {
    const s = settings({ alarmsCanConfirm: true });
    const base = probes({ from: 0, to: 600, view: () => true });
    const { emitted, state } = replay(
      merge(base, [alarm('ALARM', 100), alarm('OK', 150)]).concat([alarm('ALARM', 100), tick(600)]),
      s,
    );
    expect(emitted).toEqual([]);
    expect(Object.values(state.alarms)).toEqual([
      { state: 'OK', since: t(150), instanceId: 'petstore' },
    ]);
  });
});

describe('applySignal with alarms and AWS Health events', () => {
  const ok = (to: number) => probes({ from: 0, to, view: () => true });

  it('still needs the quorum when an ALARM is raised and only one vantage fails', () => {
    const { emitted } = replay(
      merge(probes({ from: 0, to: 900, view: regionDown([A]) }), [alarm('ALARM', 0)]),
      q3of4,
    );
    expect(emitted).toEqual([]);
  });

  it('shortens the window to one interval when an ALARM corroborates a failing quorum', () => {
    const signals = merge(
      [alarm('ALARM', 0)],
      probes({ from: 0, to: 300, view: regionDown([A, B, C]) }),
    );
    const { emitted } = replay(signals, q3of4);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@30']);
    expect(emitted[0]?.event.detail).toMatchObject({
      confirmedBy: 'probe-quorum',
      evidence: {
        windowSeconds: 30,
        window: { from: t(0), to: t(30) },
        alarms: [
          { name: `lifeboat-health-petstore-${TARGET}`, since: t(0), instanceId: 'petstore' },
        ],
      },
    });
  });

  it('shortens the window to one interval when an open AWS Health issue corroborates a failing quorum', () => {
    const signals = merge(
      [health('open', 0)],
      probes({ from: 0, to: 300, view: regionDown([A, B, C]) }),
    );
    const { emitted } = replay(signals, q3of4);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@30']);
    expect(emitted[0]?.event.detail).toMatchObject({
      evidence: { healthEvents: [{ service: 'EC2', at: t(0) }] },
    });
  });

  it('keeps the full window when the Health issue is only upcoming', () => {
    const signals = merge(
      [health('upcoming', 0)],
      probes({ from: 0, to: 300, view: regionDown([A, B, C]) }),
    );
    expect(timeline(replay(signals, q3of4).emitted)).toEqual(['Region Outage Confirmed@90']);
  });

  it('never confirms on an ALARM alone when alarmsCanConfirm is false', () => {
    const { emitted } = replay(merge(ok(1800), [alarm('ALARM', 0)]), q3of4);
    expect(emitted).toEqual([]);
  });

  it('confirms on its own when an ALARM lasts the window and alarmsCanConfirm is true', () => {
    const s = settings({ alarmsCanConfirm: true });
    const { emitted } = replay(
      merge(ok(60), [alarm('ALARM', 100), tick(150), tick(189), tick(190)]),
      s,
    );
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@190']);
    expect(emitted[0]?.event.detail).toMatchObject({
      confirmedBy: 'alarm',
      outageStartedAt: t(100),
      confirmedAt: t(190),
      evidence: { alarms: [{ since: t(100) }] },
    });
  });

  it('does not confirm when the ALARM returns to OK before the window ends', () => {
    const s = settings({ alarmsCanConfirm: true });
    const signals = merge(ok(60), [alarm('ALARM', 100), alarm('OK', 180), tick(190), tick(400)]);
    expect(replay(signals, s).emitted).toEqual([]);
  });

  it('keeps the ALARM start when the same state is notified again', () => {
    const s = settings({ alarmsCanConfirm: true });
    const signals = merge(ok(60), [alarm('ALARM', 100), alarm('ALARM', 160), tick(190)]);
    expect(timeline(replay(signals, s).emitted)).toEqual(['Region Outage Confirmed@190']);
  });

  it('never confirms on an open Health issue alone when healthEventsCanConfirm is false', () => {
    expect(replay(merge(ok(1800), [health('open', 0)]), q3of4).emitted).toEqual([]);
  });

  it('confirms on its own when a Health issue stays open for the window and healthEventsCanConfirm is true', () => {
    const s = settings({ healthEventsCanConfirm: true });
    const { emitted } = replay(merge(ok(60), [health('open', 100), tick(189), tick(190)]), s);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@190']);
    expect(emitted[0]?.event.detail).toMatchObject({
      confirmedBy: 'health-event',
      confirmedAt: t(190),
      evidence: { healthEvents: [{ at: t(100) }] },
    });
  });

  it('does not confirm when the Health issue closes before the window ends', () => {
    const s = settings({ healthEventsCanConfirm: true });
    const signals = merge(ok(60), [
      health('open', 100),
      health('closed', 150),
      tick(190),
      tick(600),
    ]);
    expect(replay(signals, s).emitted).toEqual([]);
  });

  // BUG: an update of a still-open Health issue replaces `at`, restarting the window.
  it('measures the window from when the Health issue opened when AWS sends updates while it stays open', () => {
    const s = settings({ healthEventsCanConfirm: true });
    const signals = merge(ok(60), [
      health('open', 100),
      health('open', 160),
      health('open', 220),
      tick(190),
      tick(250),
    ]);
    const { emitted } = replay(signals, s);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@190']);
  });

  // BUG: a Health-confirmed outage reports outageStartedAt = confirmedAt, detectionSeconds 0.
  it('dates the outage from the Health issue when an open Health issue confirms it', () => {
    const s = settings({ healthEventsCanConfirm: true });
    const { emitted } = replay(merge(ok(60), [health('open', 100), tick(190)]), s);
    expect(emitted[0]?.event.detail).toMatchObject({
      outageStartedAt: t(100),
      detectionSeconds: 90,
    });
  });

  // BUG: the evidence of an alarm-confirmed outage reports the corroborated 30 s window although
  // the alarm had to last the full 90 s window.
  it('reports the window the alarm had to last in the evidence when an alarm confirms alone', () => {
    const s = settings({ alarmsCanConfirm: true });
    const { emitted } = replay(merge(ok(60), [alarm('ALARM', 100), tick(190)]), s);
    expect(emitted[0]?.event.detail).toMatchObject({
      evidence: { windowSeconds: 90, window: { from: t(100), to: t(190) } },
    });
  });

  // BUG: with alarmsCanConfirm, probes that answer all along make the outage "recover" at once,
  // then the still-raised ALARM confirms the same incident again, forever.
  it('confirms once and does not oscillate when an ALARM confirms while the probes still answer', () => {
    const s = settings({ alarmsCanConfirm: true });
    const { emitted } = replay(merge(ok(900), [alarm('ALARM', 60)]), s);
    expect(ofType(emitted, 'Region Outage Confirmed')).toHaveLength(1);
  });
});

describe('applySignal across incidents', () => {
  // BUG: the incident starts at the earliest downSince among the deciding vantages, so a vantage
  // that stays down across incidents (a persistent partition) gives the next incident the first
  // one's start, incidentId and eventIds (and outageStartedAt/detectionSeconds from 20 min ago).
  it('gives two separate incidents different ids when one vantage stays partitioned across both', () => {
    const view: View = (v, _z, s) => v !== B && s >= 600 && s < 1200;
    const { emitted } = replay(probes({ from: 0, to: 1500, view, vantages: THREE }), q2of3);
    expect(timeline(emitted)).toEqual([
      'Region Outage Confirmed@90',
      'Region Recovered@900',
      'Region Outage Confirmed@1290',
    ]);
    const [first, , second] = emitted;
    expect(second?.event.eventId).not.toBe(first?.event.eventId);
    expect(second?.event.detail.outageStartedAt).toBe(t(1200));
  });

  // BUG: a stuck ALARM's `since` becomes the start of every later incident, so two incidents
  // hours apart share incidentId and eventIds and a consumer deduplicating by eventId drops the
  // second outage.
  it('gives two separate incidents different ids when an ALARM stays raised across both', () => {
    const view: View = (v, _z, s) => v === C || !((s >= 60 && s < 300) || (s >= 1200 && s < 1500));
    const signals = merge(probes({ from: 0, to: 2100, view, vantages: THREE }), [
      alarm('ALARM', 60),
    ]);
    const { emitted } = replay(signals, q2of3);
    const confirmations = ofType(emitted, 'Region Outage Confirmed');
    expect(confirmations).toHaveLength(2);
    expect(confirmations[1]?.event.eventId).not.toBe(confirmations[0]?.event.eventId);
  });
});

describe('applySignal with stale or silent vantages', () => {
  it('does not count a vantage that has been silent for longer than staleSeconds', () => {
    // B saw failures at 0–60 then fell silent; A fails from 300 on; C answers.
    const view: View = (v, _z, s) => {
      if (v === B) return s <= 60 ? false : undefined;
      if (v === A) return s < 300;
      return true;
    };
    const { emitted, state } = replay(probes({ from: 0, to: 900, view, vantages: THREE }), q2of3);
    expect(emitted).toEqual([]);
    expect(state.status).toBe('suspect');
  });

  it('does not let a silent vantage hold up recovery when it no longer votes', () => {
    // All down from 0; from 600 A and B answer, C falls silent: quorum 2 still recovers at 900.
    const view: View = (v, _z, s) => (s < 600 ? false : v === C ? undefined : true);
    const { emitted } = replay(probes({ from: 0, to: 1200, view, vantages: THREE }), q2of3);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@90', 'Region Recovered@900']);
  });

  // BUG: a vote is measured from downSince to `now`, not to the vantage's last observation, so a
  // vantage that saw ONE failed probe and then fell silent counts as failing for the whole window.
  it('does not count a vantage that saw a single failed probe and then fell silent', () => {
    const view: View = (v, _z, s) => {
      if (v === A) return s === 0 ? false : undefined;
      return v !== B;
    };
    const { emitted } = replay(probes({ from: 0, to: 150, view, vantages: THREE }), q2of3);
    expect(emitted).toEqual([]);
  });

  // BUG: same root cause through a scheduled tick: two vantages each saw one failed probe.
  it('does not confirm at a tick when each quorum vantage saw only one failed probe', () => {
    const signals = [
      ...probes({ from: 0, to: 0, view: regionDown([A, B]), vantages: THREE }),
      tick(90),
    ];
    expect(replay(signals, q2of3).emitted).toEqual([]);
  });

  // BUG: same root cause on the way up: with recoverySeconds ≤ staleSeconds, vantages that each
  // answered ONE probe and fell silent count as healthy for the whole recovery period.
  it('does not report Region Recovered when each quorum vantage answered only one probe', () => {
    const s = settings({ quorum: 2, recoverySeconds: 120 }, 4);
    const view: View = (v, _z, x) =>
      v === C ? false : x < 600 ? false : x === 600 ? true : undefined;
    const signals = [...probes({ from: 0, to: 720, view, vantages: THREE }), tick(720)];
    expect(timeline(replay(signals, s).emitted)).toEqual(['Region Outage Confirmed@90']);
  });

  // BUG: failingSince survives a silence longer than staleSeconds, so a vantage returning from a
  // 9-minute silence with one failed probe counts as failing since before the silence.
  it('restarts a vantage failure run when it returns from a silence longer than staleSeconds', () => {
    const view: View = (v, _z, s) => {
      if (v === B) return s <= 60 || s === 600 ? false : undefined;
      if (v === A) return s < 510;
      return true;
    };
    const { emitted } = replay(probes({ from: 0, to: 600, view, vantages: THREE }), q2of3);
    expect(emitted).toEqual([]);
  });

  // BUG: upSince survives a silence longer than staleSeconds: C said nothing during the whole
  // outage, answers at 880, and is counted at 900 as healthy since 0.
  it('restarts a vantage healthy run when it returns from a silence longer than staleSeconds', () => {
    const view: View = (v, _z, s) => {
      if (s < 90) return true;
      if (v === A) return s >= 600;
      if (v === B) return false;
      return s >= 880 ? true : undefined;
    };
    const { emitted } = replay(probes({ from: 0, to: 1000, view, vantages: THREE }), q2of3);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@180']);
  });
});

describe('applySignal with lost rounds', () => {
  // The simulator's detection numbers: 30 s rounds, a 60 s window, quorum 2 of 3 vantages.
  const sim = settings({ quorum: 2, failureThreshold: 2, recoverySeconds: 60 }, 4);

  // Simulator bug 11 (seeds 531829, 1005381, 1008397): a region flapping down at 0 and at 60,
  // answering at 30. A's round at 30 was lost and B's arrived after 60, so to the detector both
  // saw "dark at 0, dark at 60" with nothing between: a 60 s dark run made of two drops.
  it('never confirms an outage when the answers between two drops of a flapping region are lost', () => {
    const view: View = (v, _z, s) => (v === C ? true : s === 30 ? undefined : s % 60 !== 0);
    const signals = [...probes({ from: 0, to: 90, view, vantages: THREE }), tick(60), tick(90)];
    const { emitted, statuses } = replay(signals, sim);
    expect(emitted).toEqual([]);
    expect(statuses).not.toContain('outage');
  });

  it('confirms an outage one interval later when a round inside it is lost', () => {
    // A and B see the region down from 0 on; A's round at 30 never arrives.
    const view: View = (v, _z, s) => (v === C ? true : v === A && s === 30 ? undefined : false);
    const whole = replay(
      probes({ from: 0, to: 150, view: regionDown([A, B]), vantages: THREE }),
      sim,
    );
    expect(timeline(whole.emitted)).toEqual(['Region Outage Confirmed@60']);
    const lost = replay(probes({ from: 0, to: 150, view, vantages: THREE }), sim);
    expect(timeline(lost.emitted)).toEqual(['Region Outage Confirmed@90']);
  });

  it('never reports Region Recovered when the rounds that would show a new drop are lost', () => {
    // Down 0–89 (confirmed at 60); answering at 90 and 150 with the rounds at 120 lost (the
    // region dropped again then): not a minute of consecutive answers until 180.
    const view: View = (v, _z, s) =>
      v === C ? false : s < 90 ? false : s === 120 ? undefined : true;
    const signals = [...probes({ from: 0, to: 210, view, vantages: THREE }), tick(150)];
    expect(timeline(replay(signals, sim).emitted)).toEqual([
      'Region Outage Confirmed@60',
      'Region Recovered@180',
    ]);
  });
});

describe('applySignal with rounds slower than the interval', () => {
  // Rounds of 50 s against a 30 s interval: a probe whose checks outlast the interval starts the
  // next round as soon as one ends, so its rounds come back to back, 50 s apart. None is lost.
  const sim = settings({ quorum: 2, failureThreshold: 2, recoverySeconds: 60 }, 4);

  it('confirms the outage and the return when every round takes longer than the interval', () => {
    const view: View = (v, _z, s) => (v === C ? true : s < 300 ? false : true);
    const signals = probes({ from: 0, to: 600, view, vantages: THREE, interval: 50 });

    const events = timeline(replay(signals, sim).emitted);

    // The cadence is learnt from four gaps (at 200 s); before that 50 s gaps read as lost rounds.
    expect(events).toEqual(['Region Outage Confirmed@200', 'Region Recovered@400']);
  });
});

describe('applySignal with a quorum that is not a majority', () => {
  const SIX = [
    'us-east-1',
    'us-east-2',
    'us-west-2',
    'ap-southeast-1',
    'eu-central-1',
    'sa-east-1',
  ];

  // BUG: when both "quorum failing" and "quorum answering" hold (quorum ≤ half the vantages), the
  // machine confirms, recovers on the next signal, and confirms the same incident again, forever.
  it('confirms once and reports no recovery while half the vantages still see the region down', () => {
    const s = settings({ quorum: 2 }, 5);
    const { emitted } = replay(probes({ from: 0, to: 900, view: regionDown([A, B], 30) }), s);
    expect(timeline(emitted)).toEqual(['Region Outage Confirmed@120']);
  });

  // BUG: the same with the default quorum, min(3, n − 1) = 3, for six regions probing.
  it('confirms once when six vantages split three and three under the default quorum', () => {
    const s = settings({}, 6);
    expect(s.quorum).toBe(3);
    const view = regionDown(SIX.slice(0, 3), 30);
    const { emitted } = replay(probes({ from: 0, to: 900, view, vantages: SIX }), s);
    expect(ofType(emitted, 'Region Outage Confirmed')).toHaveLength(1);
    expect(ofType(emitted, 'Region Recovered')).toHaveLength(0);
  });
});

describe('applySignal with observations delivered late', () => {
  const clean = probes({
    from: 0,
    to: 300,
    view: (v, _z, s) => s < 30 || v === C,
    vantages: THREE,
  });
  const at = (s: number) => clean.filter((x) => signalAt(x) === t(s));
  const before = (s: number) => clean.filter((x) => Date.parse(signalAt(x)) < Date.parse(t(s)));
  const after = (s: number) => clean.filter((x) => Date.parse(signalAt(x)) > Date.parse(t(s)));

  // BUG: a late older observation is dropped when a newer one of the same endpoint is known, so
  // the first failures (round 30, delivered after round 60) are lost: the incident gets another id
  // and is confirmed one interval later than from the clean stream.
  it('gives the same confirmation as the clean stream when a round of failures arrives after the next round', () => {
    const reordered = [...before(30), ...at(60), ...at(30), ...after(60)];
    const a = replay(clean, q2of3);
    const b = replay(reordered, q2of3);
    expect(timeline(a.emitted)).toEqual(['Region Outage Confirmed@120']);
    expect(b.emitted.map((e) => e.event.eventId)).toEqual(a.emitted.map((e) => e.event.eventId));
    expect(timeline(b.emitted)).toEqual(timeline(a.emitted));
  });

  // BUG: the moment a vantage saw every endpoint failing is lost when one of those failures is
  // delivered after a newer answer, so the region is declared recovered 60 s early.
  it('does not recover earlier than the clean stream when a relapse observation arrives late', () => {
    const s = settings({ quorum: 2, recoverySeconds: 120 }, 4);
    const view: View = (v, _z, x) => v === C || x < 30 || (x >= 300 && x !== 330);
    const stream = probes({ from: 0, to: 600, view, vantages: THREE });
    const isLate = (x: Signal) =>
      x.kind === 'observation' &&
      x.observation.zone === ZB &&
      x.observation.at === t(330) &&
      x.observation.vantage !== C;
    const late = stream.filter(isLate);
    const rest = stream.filter((x) => !isLate(x));
    const cut = rest.findIndex(
      (x) => x.kind === 'observation' && x.observation.vantage === B && x.observation.at === t(360),
    );
    const reordered = [...rest.slice(0, cut + 1), ...late, ...rest.slice(cut + 1)];
    const a = replay(stream, s);
    expect(timeline(a.emitted)).toEqual(['Region Outage Confirmed@120', 'Region Recovered@480']);
    expect(timeline(replay(reordered, s).emitted)).toEqual(timeline(a.emitted));
  });
});

describe('applySignals', () => {
  const q2 = settings({ quorum: 2, failureThreshold: 1 }, 4);
  // Two vantages fail at 0 and answer again at 30, while the third starts failing at 30.
  const round0 = [obs(A, ZA, true, 0), obs(B, ZA, false, 0), obs(C, ZA, false, 0)];
  const round30 = [obs(A, ZA, false, 30), obs(B, ZA, true, 30), obs(C, ZA, true, 30)];

  it('judges a probe round as a whole, so its order inside the round cannot confirm an outage', () => {
    const afterRound0 = applySignals(initialRegionHealth(TARGET, t(0)), round0, q2);
    // One at a time, A's failure is judged before B and C are seen answering: a false quorum.
    let oneByOne = afterRound0;
    for (const signal of round30) oneByOne = applySignal(oneByOne, signal, q2);
    expect(oneByOne.outbox.map((e) => e.detailType)).toContain('Region Outage Confirmed');
    const whole = applySignals(afterRound0, round30, q2);
    expect(whole.status).toBe('suspect');
    expect(whole.outbox).toEqual([]);
  });

  it('reaches the same state whatever order a round arrives in once sorted by time', () => {
    const afterRound0 = applySignals(initialRegionHealth(TARGET, t(0)), round0, q2);
    const forward = applySignals(afterRound0, round30, q2);
    const backward = applySignals(afterRound0, [...round30].reverse(), q2);
    expect(backward).toEqual(forward);
  });

  it('evaluates each round of a multi-round batch, confirming at the round the window ends', () => {
    const down = (s: number) => THREE.map((v) => obs(v, ZA, false, s));
    const batch = [...down(0), ...down(30), ...down(60)];
    const state = applySignals(initialRegionHealth(TARGET, t(0)), batch, q2);
    expect(state.status).toBe('outage');
    expect(state.statusSince).toBe(t(30));
    expect(state.outbox.map((e) => e.detailType)).toEqual(['Region Outage Confirmed']);
  });

  it('returns its input unchanged when every signal is a duplicate', () => {
    const afterRound0 = applySignals(initialRegionHealth(TARGET, t(0)), round0, q2);
    expect(applySignals(afterRound0, round0, q2)).toBe(afterRound0);
  });
});
