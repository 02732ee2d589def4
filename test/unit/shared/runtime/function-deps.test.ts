import { describe, expect, it } from 'vitest';
import { EmfMetrics } from '../../../../shared/adapters/emf-metrics.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../../shared/config/load.ts';
import {
  defaultProbeDeps,
  detectorDepsFor,
  probeDepsFor,
  snapshotDepsFor,
} from '../../../../shared/runtime/function-deps.ts';

const config = loadConfig(DEFAULT_CONFIG_PATH);
const second = config.regions[1]?.name as string;

describe('function deps', () => {
  it('builds each function for the region it runs in, with no metrics, when built for the CLI', () => {
    const env = { LIFEBOAT_REGION: second };

    for (const deps of [
      detectorDepsFor(config, env),
      probeDepsFor(config, env),
      snapshotDepsFor(config, env),
    ]) {
      expect(deps.config).toBe(config);
      expect(deps.region).toBe(second);
      expect(deps.bus).toBeDefined();
      expect(deps.metrics).toBeUndefined();
    }
  });

  it('keeps the probe running for the schedule period unless told otherwise', () => {
    expect(probeDepsFor(config, {}).invocationSeconds).toBe(60);
    expect(
      probeDepsFor(config, { LIFEBOAT_PROBE_INVOCATION_SECONDS: '30' }).invocationSeconds,
    ).toBe(30);
  });

  it('adds EMF metrics and builds once per config path when built for Lambda', () => {
    const env = { LIFEBOAT_CONFIG: DEFAULT_CONFIG_PATH, LIFEBOAT_REGION: second };

    const first = defaultProbeDeps(env);

    expect(first.metrics).toBeInstanceOf(EmfMetrics);
    expect(first.region).toBe(second);
    expect(defaultProbeDeps(env)).toBe(first);
  });
});
