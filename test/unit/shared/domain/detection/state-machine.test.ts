import { describe, expect, it } from 'vitest';
import type { DetectorSettings } from '../../../../../shared/domain/detection/health-state.ts';
import { evaluate } from '../../../../../shared/domain/detection/state-machine.ts';
import { probes, replay, settings, t, type View } from '../../../../fakes/detection/streams.ts';

const [A, B, C] = ['us-east-1', 'us-west-2', 'ap-southeast-1'];
/** Four vantages, default quorum for five regions: 3. */
const q3of4: DetectorSettings = settings({});
/** A vantage in `failing` sees every endpoint fail; everyone else sees it answer. */
const regionDown =
  (failing: readonly string[]): View =>
  (v) =>
    !failing.includes(v);

describe('evaluate', () => {
  it('confirms from the stored state alone when called after the window has elapsed', () => {
    const { state } = replay(probes({ from: 0, to: 60, view: regionDown([A, B, C]) }), q3of4);
    expect(state.status).toBe('suspect');
    expect(evaluate(structuredClone(state), t(89), q3of4).outbox).toEqual([]);
    const next = evaluate(structuredClone(state), t(90), q3of4);
    expect(next.status).toBe('outage');
    expect(next.outbox.map((e) => e.detailType)).toEqual(['Region Outage Confirmed']);
  });

  it('lets every vote go stale when nothing has been heard for longer than staleSeconds', () => {
    const { state } = replay(probes({ from: 0, to: 60, view: regionDown([A, B, C]) }), q3of4);
    const next = evaluate(structuredClone(state), t(60 + 181), q3of4);
    expect(next.status).toBe('healthy');
    expect(next.outbox).toEqual([]);
  });

  it('leaves its input unchanged when it confirms an outage', () => {
    const { state } = replay(probes({ from: 0, to: 60, view: regionDown([A, B, C]) }), q3of4);
    const before = structuredClone(state);
    const next = evaluate(state, t(90), q3of4);
    expect(next.status).toBe('outage');
    expect(state).toEqual(before);
  });
});
