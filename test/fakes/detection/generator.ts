import fc from 'fast-check';
import type {
  DetectorSettings,
  Observation,
  Signal,
} from '../../../shared/domain/detection/region-health.ts';
import { obs, prng, settings, tick } from './streams.ts';

/**
 * Random probe streams for property tests. A scenario is a run of region-wide segments (up, down,
 * one zone down, flapping, noisy) seen through several vantages, with optional partitions (one
 * vantage sees everything failing), silences (a vantage says nothing), dropped observations,
 * duplicates delivered later, per-probe noise and scheduled ticks. Streams are in time order:
 * observations of one round share a time, and a round is one probe interval.
 */

export const ALL_VANTAGES = [
  'us-east-1',
  'us-west-2',
  'ap-southeast-1',
  'eu-central-1',
  'sa-east-1',
] as const;
export const ALL_ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] as const;
export const INTERVAL = 30;

type SegmentKind = 'up' | 'down' | 'zone' | 'flap' | 'noisy';

export interface Scenario {
  vantages: string[];
  zones: string[];
  detector: DetectorSettings;
  failureThreshold: number;
  signals: Signal[];
  rounds: number;
}

interface Stretch {
  vantage: number;
  from: number;
  rounds: number;
}

export interface StreamOptions {
  /** Whether vantages may fall silent and single observations may be lost. */
  irregular: boolean;
  /** Whether the quorum may be half the vantages or fewer. */
  anyQuorum: boolean;
  maxRounds?: number;
}

export function scenarioArbitrary(options: StreamOptions): fc.Arbitrary<Scenario> {
  const stretch = (maxRounds: number) =>
    fc.record({
      vantage: fc.nat(ALL_VANTAGES.length - 1),
      from: fc.nat(60),
      rounds: fc.integer({ min: 1, max: maxRounds }),
    });
  return fc
    .record({
      n: fc.integer({ min: 3, max: ALL_VANTAGES.length }),
      m: fc.integer({ min: 1, max: ALL_ZONES.length }),
      quorumPick: fc.nat(100),
      failureThreshold: fc.integer({ min: 1, max: 3 }),
      recoveryRounds: fc.integer({ min: 2, max: 8 }),
      segments: fc.array(
        fc.record({
          kind: fc.constantFrom<SegmentKind>('up', 'down', 'down', 'zone', 'flap', 'noisy'),
          rounds: fc.integer({ min: 1, max: 14 }),
          zone: fc.nat(ALL_ZONES.length - 1),
        }),
        { minLength: 1, maxLength: 7 },
      ),
      partitions: fc.array(stretch(48), { maxLength: 2 }),
      silences: options.irregular
        ? fc.array(stretch(16), { maxLength: 3 })
        : fc.constant<Stretch[]>([]),
      noise: fc.constantFrom(0, 0, 0.03, 0.1),
      dropRate: options.irregular ? fc.constantFrom(0, 0.05, 0.2) : fc.constant(0),
      dupRate: fc.constantFrom(0, 0.1, 0.3),
      tickRate: fc.constantFrom(0, 0.3, 1),
      seed: fc.integer(),
    })
    .map((p): Scenario => {
      const random = prng(p.seed);
      const vantages = ALL_VANTAGES.slice(0, p.n);
      const zones = ALL_ZONES.slice(0, p.m);
      const majority = Math.floor(p.n / 2) + 1;
      const quorum = options.anyQuorum
        ? 1 + (p.quorumPick % p.n)
        : majority + (p.quorumPick % (p.n - majority + 1));
      const detector = settings(
        {
          quorum,
          failureThreshold: p.failureThreshold,
          intervalSeconds: INTERVAL,
          recoverySeconds: p.recoveryRounds * INTERVAL,
        },
        p.n + 1,
      );
      const kinds: { kind: SegmentKind; zone: number }[] = [];
      for (const s of p.segments) for (let i = 0; i < s.rounds; i += 1) kinds.push(s);
      const rounds = Math.min(kinds.length, options.maxRounds ?? 48);
      const within = (list: readonly Stretch[], v: number, r: number) =>
        list.some((s) => s.vantage === v && r >= s.from && r < s.from + s.rounds);

      const signals: Signal[] = [];
      const deferred: { release: number; signal: Signal }[] = [];
      const push = (signal: Signal) => {
        signals.push(signal);
        for (let i = deferred.length - 1; i >= 0; i -= 1) {
          const d = deferred[i] as { release: number; signal: Signal };
          if (d.release <= signals.length) {
            deferred.splice(i, 1);
            signals.push(d.signal);
          }
        }
      };
      for (let r = 0; r < rounds; r += 1) {
        const { kind, zone: zoneIndex } = kinds[r] as { kind: SegmentKind; zone: number };
        const flapDown = random() < 0.5;
        vantages.forEach((vantage, v) => {
          if (within(p.silences, v, r)) return;
          const partitioned = within(p.partitions, v, r);
          zones.forEach((zone, z) => {
            let ok: boolean;
            if (partitioned) ok = false;
            else if (kind === 'up') ok = true;
            else if (kind === 'down') ok = false;
            else if (kind === 'zone') ok = z !== zoneIndex % zones.length;
            else if (kind === 'flap') ok = !flapDown;
            else ok = random() < 0.5;
            if (random() < p.noise) ok = !ok;
            if (random() < p.dropRate) return;
            const signal = obs(vantage, zone, ok, r * INTERVAL);
            push(signal);
            if (random() < p.dupRate) {
              if (random() < 0.5) push(signal);
              else
                deferred.push({ release: signals.length + 1 + Math.floor(random() * 40), signal });
            }
          });
        });
        if (random() < p.tickRate) push(tick(r * INTERVAL + INTERVAL / 2));
      }
      for (const d of deferred) signals.push(d.signal);
      return {
        vantages: [...vantages],
        zones: [...zones],
        detector,
        failureThreshold: p.failureThreshold,
        signals,
        rounds,
      };
    });
}

/** The observations among the first `count` signals. */
export function observationsIn(signals: readonly Signal[], count: number): Observation[] {
  const out: Observation[] = [];
  for (let i = 0; i < count; i += 1) {
    const s = signals[i] as Signal;
    if (s.kind === 'observation') out.push(s.observation);
  }
  return out;
}
