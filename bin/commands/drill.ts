import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { renderHtml } from '../../local/drill/html.ts';
import { DRILL_KINDS, type DrillInstanceKind } from '../../local/drill/kinds.ts';
import { summarize, timelineText } from '../../local/drill/report.ts';
import { runDrill, SCENARIOS, type Scenario } from '../../local/drill/run-drill.ts';
import { startMoto } from '../../local/moto.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import type { StepFunction } from '../../shared/domain/events.ts';
import { UsageError } from '../../shared/errors.ts';
import { wholeNumber } from '../cli/args.ts';
import type { Verb } from '../cli/verb.ts';
import { useLocalEndpoint } from './local.ts';

/** The steps `--crash` can kill mid-step, and the function that runs each. */
const CRASHABLE: Record<string, StepFunction> = {
  restore: 'restoreInstance',
  verify: 'verifyInstance',
  shift: 'shiftTraffic',
};

/** Options of `lifeboat drill`, as parsed from the command line. */
export interface DrillVerbOptions {
  scenario?: string;
  regions?: string;
  instances?: string;
  capacity?: string;
  crash?: string;
  seed?: string;
  'instance-kind'?: string;
  report?: string;
  html?: string;
  endpoint?: string;
}

/**
 * Refuses an output path whose folder does not exist before the drill runs, rather than
 * failing with ENOENT after minutes of drilling and losing the report.
 */
function writablePath(name: string, value: string | undefined): void {
  if (value === undefined) return;
  const folder = dirname(resolve(value));
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new UsageError(`--${name}: folder ${folder} does not exist (got "${value}")`);
  if (existsSync(value) && statSync(value).isDirectory())
    throw new UsageError(`--${name}: "${value}" is a folder, not a file`);
}

/**
 * `lifeboat drill`: builds the local world, plays a scenario with real faults, prints the
 * summary, and writes the JSON report, the timeline and the HTML page. Exit 0 only if passed.
 */
export async function drillCommand(
  config: LifeboatConfig,
  options: DrillVerbOptions,
): Promise<number> {
  const scenario = (options.scenario ?? 'region-outage') as Scenario;
  if (!SCENARIOS.includes(scenario)) {
    throw new UsageError(
      `--scenario: expected one of ${SCENARIOS.join(', ')}, got "${options.scenario}"`,
    );
  }
  const regions = wholeNumber(
    'regions',
    options.regions,
    Math.min(4, config.regions.length),
    3,
    config.regions.length,
  );
  const instances = wholeNumber(
    'instances',
    options.instances,
    scenario === 'multi' ? 3 : 1,
    1,
    200,
  );
  const capacity =
    options.capacity === undefined
      ? undefined
      : wholeNumber('capacity', options.capacity, 0, 1, 10_000);
  // Every region's room, as bench/drill sets it: the embedded regions hold 10 recovered
  // instances between them, so `--instances 50` needs `--capacity 50`.
  const world =
    capacity === undefined
      ? config
      : parseConfig(
          { ...config, regions: config.regions.map((r) => ({ ...r, capacity })) },
          `the config, every region's capacity ${capacity} (--capacity)`,
        );
  const seed = wholeNumber('seed', options.seed, 1, 0, 2 ** 31 - 1);
  const instanceKind = (options['instance-kind'] ?? 'object-store') as DrillInstanceKind;
  if (!DRILL_KINDS.includes(instanceKind)) {
    throw new UsageError(
      `--instance-kind: expected one of ${DRILL_KINDS.join(', ')}, got "${options['instance-kind']}"`,
    );
  }
  const crashFn = options.crash === undefined ? undefined : CRASHABLE[options.crash];
  if (options.crash !== undefined && !crashFn)
    throw new UsageError(
      `--crash: expected one of ${Object.keys(CRASHABLE).join(', ')}, got "${options.crash}"`,
    );
  writablePath('report', options.report);
  writablePath('html', options.html);
  const external = options.endpoint ?? process.env.AWS_ENDPOINT_URL;
  const moto = external ? undefined : await startMoto();
  const endpoint = external ?? (moto?.endpoint as string);
  useLocalEndpoint(endpoint);
  console.log(
    `lifeboat drill: ${scenario}, ${regions} regions, ${instances} ${instanceKind} instance(s)${capacity === undefined ? '' : `, capacity ${capacity} per region`}, seed ${seed}, AWS at ${endpoint}${external ? ' (kept for inspection)' : ''}`,
  );
  try {
    const report = await runDrill(world, {
      scenario,
      regions,
      instances,
      seed,
      endpoint,
      instanceKind,
      // Killed 100 ms into its step: past its run read, inside the step's own work.
      ...(crashFn ? { crash: { fn: crashFn, afterMs: 100 } } : {}),
      log: (line) => console.log(line),
    });
    console.log(`\n${summarize(report)}`);
    const reportFile = options.report ?? 'drill-report.json';
    writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`);
    const timelineFile = `${reportFile.replace(/\.json$/, '')}.timeline.txt`;
    writeFileSync(timelineFile, `${timelineText(report)}\n`);
    const htmlFile = options.html ?? `${reportFile.replace(/\.json$/, '')}.html`;
    writeFileSync(htmlFile, renderHtml(report));
    console.log(`\nreport: ${reportFile}; timeline: ${timelineFile}; page: ${htmlFile}`);
    return report.outcome === 'passed' ? 0 : 1;
  } finally {
    await moto?.stop();
  }
}

/** The `drill` verb of the command line. */
export const drill: Verb = {
  name: 'drill',
  summary: 'a full local DR drill with real faults, and its report',
  details: `scenarios: ${SCENARIOS.join(', ')}. Starts its own moto_server unless --endpoint-url or AWS_ENDPOINT_URL names one. Exits 1 unless the drill passed.`,
  options: [
    { flags: '--scenario <scenario>', description: 'what to break (default: region-outage)' },
    { flags: '--regions <n>', description: 'regions of the world (default: 4, at least 3)' },
    { flags: '--instances <n>', description: 'instances, up to 200 (default: 1; multi: 3)' },
    {
      flags: '--crash <step>',
      description: `kill the first invocation of a recovery step mid-step (a real crash; ${Object.keys(CRASHABLE).join(', ')})`,
    },
    {
      flags: '--capacity <n>',
      description: "every region's capacity in instance slots (default: the config's)",
    },
    { flags: '--seed <n>', description: 'seed of the fault timing (default: 1)' },
    {
      flags: '--instance-kind <kind>',
      description: `what the instances are: ${DRILL_KINDS.join(' or ')} (default: object-store)`,
    },
    { flags: '--report <file.json>', description: 'the JSON report (default: drill-report.json)' },
    { flags: '--html <file.html>', description: 'the HTML page (default: beside the report)' },
  ],
  needsAws: false,
  run: ({ config, options, endpointUrl }) =>
    drillCommand(config, { ...(options as DrillVerbOptions), endpoint: endpointUrl }),
};
