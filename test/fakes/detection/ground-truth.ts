import type {
  DetectorSettings,
  Observation,
} from '../../../shared/domain/detection/region-health.ts';

/**
 * What a vantage saw, computed straight from the delivered observations, independently of the
 * detector: at each instant it probed, the latest result of each of its endpoints still fresh
 * (heard within staleSeconds), and whether all of those failed ("dark").
 */
export interface Sample {
  t: number;
  dark: boolean;
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

export function samplesOf(
  observations: readonly Observation[],
  vantage: string,
  staleSeconds: number,
): Sample[] {
  const byTime = new Map<number, Observation[]>();
  for (const o of observations) {
    if (o.vantage !== vantage) continue;
    const at = seconds(o.at);
    byTime.set(at, [...(byTime.get(at) ?? []), o]);
  }
  const latest = new Map<string, { at: number; ok: boolean }>();
  const samples: Sample[] = [];
  for (const at of [...byTime.keys()].sort((a, b) => a - b)) {
    for (const o of byTime.get(at) ?? []) {
      const key = `${o.instanceId}/${o.zone}`;
      const previous = latest.get(key);
      if (!previous || previous.at < at) latest.set(key, { at, ok: o.ok });
    }
    const fresh = [...latest.values()].filter((e) => at - e.at <= staleSeconds);
    samples.push({ t: at, dark: fresh.length > 0 && fresh.every((e) => !e.ok) });
  }
  return samples;
}

/**
 * The vantage's current run of samples that are all `dark` (or all not dark), with no silence
 * longer than staleSeconds inside it: its first and last instants, and the longest stretch of
 * it in consecutive rounds (samples at most 1.5 times the vantage's cadence apart; a lost round is
 * no result).
 */
export function currentRun(
  samples: readonly Sample[],
  dark: boolean,
  staleSeconds: number,
  intervalSeconds: number,
): { start: number; last: number; steady: number } | undefined {
  const last = samples[samples.length - 1];
  if (!last || last.dark !== dark) return undefined;
  let i = samples.length - 1;
  while (i > 0) {
    const prev = samples[i - 1] as Sample;
    const cur = samples[i] as Sample;
    if (prev.dark !== dark || cur.t - prev.t > staleSeconds) break;
    i -= 1;
  }
  const run = samples.slice(i);
  // The vantage's cadence: the interval, or the median of its last five gaps when its rounds
  // are slower than that (docs/detection.md, "Lost rounds").
  const gaps = samples
    .slice(1)
    .map((sample, k) => sample.t - (samples[k] as Sample).t)
    .slice(-5);
  const cadence =
    gaps.length < 4
      ? intervalSeconds
      : Math.max(intervalSeconds, gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)] ?? 0);
  let steady = 0;
  let from = 0;
  for (let k = 1; k <= run.length; k += 1) {
    const ends =
      k === run.length || (run[k] as Sample).t - (run[k - 1] as Sample).t > 1.5 * cadence;
    if (!ends) continue;
    steady = Math.max(steady, (run[k - 1] as Sample).t - (run[from] as Sample).t);
    from = k;
  }
  return { start: (samples[i] as Sample).t, last: last.t, steady };
}

/**
 * Whether the vantage, at `now`, is a fresh vote that has seen every endpoint failing
 * continuously for the window: the failing run started at least `windowSeconds` before now and
 * its failed probes in consecutive rounds span the window less one interval (failureThreshold
 * consecutive failures, as Route 53 counts them).
 */
export function failingForWindow(
  samples: readonly Sample[],
  now: number,
  detector: DetectorSettings,
  intervalSeconds: number,
): boolean {
  const run = currentRun(samples, true, detector.staleSeconds, intervalSeconds);
  if (!run || now - run.last > detector.staleSeconds) return false;
  return (
    now - run.start >= detector.windowSeconds &&
    run.steady >= detector.windowSeconds - intervalSeconds
  );
}

/** The same for answering: a fresh vote that has seen the region answer for recoverySeconds. */
export function answeringForRecovery(
  samples: readonly Sample[],
  now: number,
  detector: DetectorSettings,
  intervalSeconds: number,
): boolean {
  const run = currentRun(samples, false, detector.staleSeconds, intervalSeconds);
  if (!run || now - run.last > detector.staleSeconds) return false;
  return (
    now - run.start >= detector.recoverySeconds &&
    run.steady >= detector.recoverySeconds - intervalSeconds
  );
}
