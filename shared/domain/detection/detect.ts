import { z } from 'zod';
import { ContentionError, CorruptStateError, WriteConflictError } from '../../errors.ts';
import type { DocumentStore, EventBus } from '../ports.ts';
import {
  applySignals,
  type DetectorSettings,
  initialRegionHealth,
  type PendingEvent,
  type RegionHealth,
  type Signal,
  signalAt,
} from './region-health.ts';
import { signalRegion } from './signals.ts';

/** Where a target region's state lives in the detector's control bucket. */
export const regionStateKey = (target: string) => `detector/regions/${target}.json`;

// Only the fields the state machine branches on are checked; the rest is our own output. That
// includes every field applySignals reads without a guard (histories, alarm and Health entries):
// a bad value there must stop the detector with CorruptStateError, not a TypeError mid-fold.
const StoredRegionHealth = z.looseObject({
  region: z.string(),
  status: z.enum(['healthy', 'suspect', 'outage', 'recovering']),
  statusSince: z.string(),
  incidentId: z.string().optional(),
  outageStartedAt: z.string().optional(),
  confirmedAt: z.string().optional(),
  lastRecoveredAt: z.string().optional(),
  latestSignalAt: z.string().optional(),
  endpoints: z.record(
    z.string(),
    z.record(
      z.string(),
      z.looseObject({
        ok: z.boolean(),
        at: z.string(),
        failingSince: z.string().optional(),
        history: z.array(z.looseObject({ at: z.string(), ok: z.boolean() })),
      }),
    ),
  ),
  vantages: z.record(z.string(), z.looseObject({ lastSeen: z.string() })),
  alarms: z.record(
    z.string(),
    z.looseObject({
      state: z.enum(['ALARM', 'OK', 'INSUFFICIENT_DATA']),
      since: z.string(),
      instanceId: z.string(),
    }),
  ),
  healthEvents: z.record(
    z.string(),
    z.looseObject({
      status: z.enum(['open', 'closed', 'upcoming']),
      at: z.string(),
      service: z.string(),
      updatedAt: z.string().optional(),
    }),
  ),
  degradedZones: z.record(z.string(), z.string()),
  outbox: z.array(z.looseObject({ eventId: z.string(), detailType: z.string() })),
});

// Every observation is its own invocation, so a probe round lands as a burst of concurrent
// writers on one document; the k-th of them needs k attempts. Jittered backoff spreads them.
export const MAX_CAS_ATTEMPTS = 32;

/** What one detector invocation did to one target region. */
export interface RegionDetection {
  region: string;
  status: RegionHealth['status'];
  changed: boolean;
  published: PendingEvent[];
  attempts: number;
}

/**
 * Folds signals into each target region's durable state with compare-and-swap, so concurrent
 * invocations (and cold starts) see one consistent history. Events go into the state's outbox
 * in the same write that decides them, and are published only after that write wins: a lost
 * race publishes nothing, and a crash before publishing is repaired by the next invocation.
 */
export async function detect(input: {
  signals: readonly Signal[];
  /** Regions to evaluate even without a signal for them (ticks apply to these). */
  regions: readonly string[];
  store: DocumentStore;
  bus: EventBus;
  settings: DetectorSettings;
  /** Waits before retry `attempt` after a lost compare-and-swap (jittered in production). */
  backoff?: (attempt: number) => Promise<void>;
}): Promise<RegionDetection[]> {
  const backoff = input.backoff ?? (async () => undefined);
  const byRegion = new Map<string, Signal[]>();
  for (const region of input.regions) byRegion.set(region, []);
  for (const signal of input.signals) {
    const region = signalRegion(signal);
    const targets = region ? [region] : input.regions;
    for (const target of targets) {
      const list = byRegion.get(target) ?? [];
      list.push(signal);
      byRegion.set(target, list);
    }
  }
  const results: RegionDetection[] = [];
  const failures: unknown[] = [];
  for (const [region, signals] of byRegion) {
    if (signals.length === 0) continue;
    // Apply in time order: a batch may arrive reordered.
    const ordered = [...signals].sort((a, b) => Date.parse(signalAt(a)) - Date.parse(signalAt(b)));
    try {
      results.push(
        await detectRegion(region, ordered, input.store, input.bus, input.settings, backoff),
      );
    } catch (error) {
      // One unreadable region must not blind the detector to the others.
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
  return results;
}

async function detectRegion(
  region: string,
  signals: Signal[],
  store: DocumentStore,
  bus: EventBus,
  settings: DetectorSettings,
  backoff: (attempt: number) => Promise<void>,
): Promise<RegionDetection> {
  const key = regionStateKey(region);
  for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt += 1) {
    const loaded = await store.load(key);
    let state: RegionHealth;
    if (loaded) {
      const parsed = StoredRegionHealth.safeParse(loaded.value);
      if (!parsed.success) {
        throw new CorruptStateError(
          `${store.location} ${key}`,
          `${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
        );
      }
      state = parsed.data as unknown as RegionHealth;
    } else {
      state = initialRegionHealth(region, signalAt(signals[0] as Signal));
    }
    const next = applySignals(state, signals, settings);
    const changed = next !== state;
    if (!changed && next.outbox.length === 0) {
      return { region, status: next.status, changed: false, published: [], attempts: attempt };
    }
    let version: string;
    try {
      version = changed
        ? await store.save(key, next, loaded?.version)
        : (loaded?.version as string);
    } catch (error) {
      if (error instanceof WriteConflictError) {
        await backoff(attempt);
        continue;
      }
      throw error;
    }
    const published = next.outbox;
    if (published.length > 0) {
      await bus.publish(published.map((e) => ({ detailType: e.detailType, detail: e.detail })));
      try {
        await store.save(key, { ...next, outbox: [] }, version);
      } catch (error) {
        // Someone wrote after us and carries our outbox; they publish it again. Consumers
        // recognise the repeat by eventId.
        if (!(error instanceof WriteConflictError)) throw error;
      }
    }
    return { region, status: next.status, changed, published, attempts: attempt };
  }
  throw new ContentionError(key, MAX_CAS_ATTEMPTS);
}
