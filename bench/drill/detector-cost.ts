/**
 * The detector's CPU per probe round, in process, without moto: how the drill's probe loop
 * slows down as instances are added (docs/benchmarks.md, "Drill").
 *
 *   npx tsx bench/drill/detector-cost.ts [--instances 1,10,50]
 *
 * It folds the observations of one probe round (every vantage × every endpoint of one target
 * region) into that region's state, round after round at the drill's interval, until the state's
 * history is full; then it times one more round. Observations are all healthy (the quiet state).
 * Two ways, in the same run: one vantage's round as one batch with `applySignals`, exactly as
 * detect() does for each "Health Observed" event; and observation by observation with
 * `applySignal`, as detect() did before it evaluated a batch once (the baseline).
 */
import { writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_PATH, loadConfig, parseConfig } from '../../shared/config/load.ts';
import {
  applySignal,
  applySignals,
  detectorSettings,
  initialRegionHealth,
  type Signal,
} from '../../shared/domain/detection/region-health.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
/** local/drill/world.ts DRILL_DETECTION, and the quorum the drill world sets for 4 regions. */
const DRILL_POLICY = {
  intervalSeconds: 0.5,
  failureThreshold: 3,
  recoverySeconds: 3,
  probeTimeoutMs: 400,
  quorum: 3,
};

const { values } = parseArgs({
  options: { instances: { type: 'string', default: '1,10,50' } },
});
const ns = String(values.instances)
  .split(',')
  .map((s) => Number(s.trim()));
const embedded = loadConfig(DEFAULT_CONFIG_PATH);
const config = parseConfig({ ...embedded, detection: DRILL_POLICY }, 'drill detection policy');
const settings = detectorSettings(config.detection, 4);
const vantages = config.regions.map((r) => r.name);
const target = vantages[0] as string;
const zones = config.regions[0]?.zones ?? [];
// Enough rounds to fill the history the state keeps (see historyHorizonSeconds), plus one.
const horizon =
  Math.max(settings.windowSeconds, settings.recoverySeconds) + 2 * settings.staleSeconds;
const rounds = Math.ceil(horizon / settings.intervalSeconds) + 2;

type Fold = 'batched' | 'oneByOne';

/** Milliseconds of CPU for the last round, once the history is full. */
function lastRoundMs(n: number, fold: Fold): number {
  let state = initialRegionHealth(target, new Date(0).toISOString());
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  let ms = 0;
  for (let round = 0; round < rounds; round += 1) {
    const at = new Date(t0 + round * settings.intervalSeconds * 1000).toISOString();
    const started = performance.now();
    for (const vantage of vantages) {
      const batch: Signal[] = [];
      for (let i = 0; i < n; i += 1)
        for (const zone of zones)
          batch.push({
            kind: 'observation',
            observation: { vantage, target, zone, instanceId: `i${i}`, ok: true, latencyMs: 1, at },
          });
      if (fold === 'batched') state = applySignals(state, batch, settings);
      else for (const signal of batch) state = applySignal(state, signal, settings);
    }
    ms = performance.now() - started;
  }
  return ms;
}

const rows: {
  instances: number;
  observationsPerRound: number;
  msPerRound: number;
  msPerRoundOneByOne: number;
}[] = [];
for (const n of ns) {
  const batched = lastRoundMs(n, 'batched');
  const oneByOne = lastRoundMs(n, 'oneByOne');
  const observationsPerRound = vantages.length * n * zones.length;
  rows.push({
    instances: n,
    observationsPerRound,
    msPerRound: Math.round(batched * 10) / 10,
    msPerRoundOneByOne: Math.round(oneByOne * 10) / 10,
  });
  console.log(
    `N = ${n}: ${observationsPerRound} observations of ${target} per round: ${batched.toFixed(1)} ms CPU batched, ${oneByOne.toFixed(1)} ms one by one (${(oneByOne / Math.max(batched, 0.01)).toFixed(1)}×), for this one target region (×${vantages.length} target regions per round in the drill)`,
  );
}
const out = {
  benchmark: 'drill: detector CPU per probe round',
  generatedAt: new Date().toISOString(),
  command: `npx tsx bench/drill/detector-cost.ts --instances ${ns.join(',')}`,
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    kernel: release(),
    node: process.version,
  },
  policy: DRILL_POLICY,
  settings,
  roundsToFillHistory: rounds,
  rows,
};
writeFileSync(join(HERE, 'detector-cost.json'), `${JSON.stringify(out, null, 2)}\n`);
