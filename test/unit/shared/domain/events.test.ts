import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CHAIN_TRIGGERS,
  DetailType,
  FUNCTIONS,
  functionsFor,
  NOTIFIED_EVENTS,
  NOTIFY_ROUTE,
  ROUTES,
} from '../../../../shared/domain/events.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

describe('the event catalog', () => {
  it('names a handler and a domain module that exist for every function', () => {
    for (const [name, entry] of Object.entries(FUNCTIONS)) {
      expect(existsSync(`${ROOT}${entry.handler}`), `${name} handler ${entry.handler}`).toBe(true);
      expect(existsSync(`${ROOT}${entry.domain}`), `${name} domain ${entry.domain}`).toBe(true);
    }
  });

  it('names each rule once when the routes are listed', () => {
    const rules = ROUTES.map((r) => r.rule);
    expect(new Set(rules).size).toBe(rules.length);
  });

  it('routes each chain step on the event the previous step emits when the chain runs', () => {
    const order = ['planRecovery', 'restoreInstance', 'verifyInstance', 'shiftTraffic'] as const;
    for (let i = 1; i < order.length; i += 1) {
      const previous = FUNCTIONS[order[i - 1] as (typeof order)[number]];
      const trigger = CHAIN_TRIGGERS[order[i] as (typeof order)[number]];
      expect(previous.emits, `${order[i]}'s trigger`).toContain(trigger);
      expect(functionsFor(trigger).map((r) => r.fn)).toEqual([order[i]]);
    }
  });

  it('delivers "Health Observed" to the detector in every region and the chain in its own', () => {
    expect(functionsFor(DetailType.HealthObserved)).toMatchObject([
      { fn: 'detectOutage', regions: 'every' },
    ]);
    expect(functionsFor(DetailType.RegionOutageConfirmed)).toMatchObject([
      { fn: 'planRecovery', regions: 'own' },
    ]);
    expect(functionsFor(DetailType.FailbackRequested).map((r) => r.fn)).toEqual(['failback']);
    expect(functionsFor(DetailType.RegionRecovered).map((r) => r.fn)).toEqual(['failback']);
  });

  it('routes no function on the events only people and dashboards read', () => {
    for (const type of [
      DetailType.SnapshotCompleted,
      DetailType.SnapshotFailed,
      DetailType.RestoreTestPassed,
      DetailType.RestoreTestFailed,
      DetailType.ZoneDegraded,
      DetailType.RecoveryCompleted,
      DetailType.RecoveryFailed,
      DetailType.FailbackCompleted,
    ]) {
      expect(functionsFor(type), type).toEqual([]);
    }
  });

  it('lists every routed lifeboat event among the detail types and some function emits it', () => {
    const known = new Set<string>(Object.values(DetailType));
    const emitted = new Set<string>(Object.values(FUNCTIONS).flatMap((f) => [...f.emits]));
    for (const route of ROUTES.filter((r) => r.pattern.source[0] === 'lifeboat')) {
      for (const type of route.pattern['detail-type']) {
        expect(known.has(type), `${route.rule}: ${type}`).toBe(true);
        expect(emitted.has(type), `${route.rule}: ${type} emitted`).toBe(true);
      }
    }
  });

  it('notifies people of events some function emits, and routes them to notify only', () => {
    const known = new Set<string>(Object.values(DetailType));
    const emitted = new Set<string>(Object.values(FUNCTIONS).flatMap((f) => [...f.emits]));
    for (const type of NOTIFIED_EVENTS) {
      expect(known.has(type), type).toBe(true);
      expect(emitted.has(type), `${type} emitted`).toBe(true);
    }
    expect(NOTIFY_ROUTE).toMatchObject({ fn: 'notify', bus: 'lifeboat', regions: 'own' });
    expect(NOTIFY_ROUTE.pattern['detail-type']).toEqual([...NOTIFIED_EVENTS]);
    expect(
      ROUTES.some((r) => r.fn === 'notify'),
      'notify drives nothing of the flow',
    ).toBe(false);
  });
});
