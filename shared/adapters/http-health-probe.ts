import type { HealthProbe, ProbeResponse } from '../domain/detection/probe.ts';

/** Health checks over HTTP with Node's fetch; every failure becomes a reason, never a throw. */
export class HttpHealthProbe implements HealthProbe {
  async check(url: string, timeoutMs: number): Promise<ProbeResponse> {
    const started = performance.now();
    try {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { 'user-agent': 'lifeboat-probe' },
      });
      const text = await response.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      return { status: response.status, body, latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      const reason =
        (error as Error).name === 'TimeoutError'
          ? `timeout after ${timeoutMs} ms`
          : (cause?.code ?? (error as Error).message);
      return { error: reason, latencyMs: Math.round(performance.now() - started) };
    }
  }
}
