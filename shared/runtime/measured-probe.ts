import type { HealthProbe, ProbeTarget } from '../domain/detection/probe.ts';
import type { ProbeSample } from '../domain/metrics.ts';

/** A probe that records each check's latency and outcome, and the samples it recorded. */
export interface MeasuredProbe {
  probe: HealthProbe;
  /** One sample per check of a known target, in the order the checks answered. */
  samples: ProbeSample[];
}

/**
 * Wraps `probe` so every check of one of `targets` leaves a sample for the metrics, as the
 * port reports it. A check's URL is its target's with the health path added, so a URL that
 * is no target's own is matched to the target it extends (at a path, query or fragment).
 */
export function measuredProbe(probe: HealthProbe, targets: readonly ProbeTarget[]): MeasuredProbe {
  const byUrl = new Map(targets.map((t) => [t.url, t]));
  const samples: ProbeSample[] = [];
  const targetOf = (url: string) =>
    byUrl.get(url) ??
    targets.find((t) => {
      const base = t.url.replace(/\/+$/, '');
      return url.startsWith(base) && '/?#'.includes(url.charAt(base.length) || '/');
    });
  return {
    samples,
    probe: {
      async check(url, timeoutMs) {
        const response = await probe.check(url, timeoutMs);
        const target = targetOf(url);
        const status = response.status ?? 0;
        if (target)
          samples.push({
            instanceId: target.instanceId,
            region: target.region,
            latencyMs: response.latencyMs,
            ok: !response.error && status >= 200 && status < 300,
          });
        return response;
      },
    },
  };
}
