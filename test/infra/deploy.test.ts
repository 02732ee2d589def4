import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { type MotoServer, startMoto } from '../../local/moto.ts';
import { localRules } from '../../local/provision.ts';
import { serverlessEnv } from '../../local/serverless-env.ts';
import { loadConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import {
  ALARM_PREFIX,
  AwsEvent,
  DetailType,
  EVENT_SOURCE,
  FUNCTIONS,
  type FunctionName,
  ROUTES,
  type Route,
} from '../../shared/domain/events.ts';

/**
 * The stack as deployed: `serverless deploy` of the real serverless.yml into moto, in every
 * region of a two-region config, then the deployed rules read back and asked (EventBridge's own
 * TestEventPattern) where each event of the catalog goes, next to the local world's rules.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STAGE = 'ci';
const REGIONS = ['us-east-1', 'eu-west-1'];
/** About 30 s per region here; two busy cores can stretch that a lot. */
const DEPLOY_TIMEOUT_MS = 300_000;

let moto: MotoServer;
let config: LifeboatConfig;
const cleanup: string[] = [];

/** The repository's config cut down to two regions (us-east-1 has the health checks). */
function writeSmallConfig(): string {
  const raw = parseYaml(readFileSync(join(ROOT, 'lifeboat.config.yml'), 'utf8')) as {
    regions: { name: string }[];
    instances: Record<string, unknown>[];
  };
  const keep = (list: unknown) =>
    (list as string[] | undefined)?.filter((r) => REGIONS.includes(r));
  raw.regions = raw.regions.filter((r) => REGIONS.includes(r.name));
  raw.instances = raw.instances.map((instance) => ({
    ...instance,
    replicaRegions: REGIONS,
    ...(instance.activeRegions ? { activeRegions: keep(instance.activeRegions) } : {}),
    endpoints: Object.fromEntries(
      Object.entries(instance.endpoints as Record<string, unknown>).filter(([r]) =>
        REGIONS.includes(r),
      ),
    ),
  }));
  // Inside the service (and .gitignored): `serverless deploy` refuses a config outside it.
  const dir = join(
    ROOT,
    '.esbuild',
    `deploy-config-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  mkdirSync(dir, { recursive: true });
  cleanup.push(dir);
  const file = join(dir, 'lifeboat.config.yml');
  writeFileSync(file, stringifyYaml(raw));
  return file;
}

/** Runs osls; resolves with its exit code and output. */
function serverless(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['serverless', ...args], { cwd: ROOT, env });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/**
 * `serverless package` into a directory of its own, then `serverless deploy` of that package
 * into moto: the service's own .serverless/ stays untouched, so this runs beside the package
 * tests (and a developer's own `npm run package`).
 */
async function deploy(
  region: string,
  configFile: string,
): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), `lifeboat-deploy-${region}-`));
  const buildFolder = `.esbuild/deploy-${process.pid}-${region}`;
  cleanup.push(dir, join(ROOT, buildFolder));
  const env = serverlessEnv({ AWS_ENDPOINT_URL: moto.endpoint });
  const common = [
    '--region',
    region,
    '--stage',
    STAGE,
    '--package',
    dir,
    '--param',
    `config=${relative(ROOT, configFile)}`,
    '--param',
    `buildFolder=${buildFolder}`,
  ];
  const packaged = await serverless(['package', ...common], env);
  if (packaged.code !== 0) return packaged;
  return serverless(['deploy', ...common], env);
}

/** One deployed rule with a pattern: where it sends what it matches. */
interface DeployedRule {
  name: string;
  bus: string;
  pattern: string;
  functions: FunctionName[];
  /** Regions whose lifeboat bus the rule forwards to. */
  forwardsTo: string[];
}

const FUNCTION_ARN = new RegExp(`:function:lifeboat-${STAGE}-([A-Za-z]+)$`);
const BUS_ARN = /^arn:aws:events:([a-z0-9-]+):\d+:event-bus\//;

/** moto's EventBridge in `region`, with the dummy credentials moto accepts. */
function eventBridge(region: string): EventBridgeClient {
  return new EventBridgeClient({
    region,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

async function deployedRules(region: string, buses: string[]): Promise<DeployedRule[]> {
  const events = eventBridge(region);
  const rules: DeployedRule[] = [];
  for (const bus of buses) {
    const listed = await events.send(
      new ListRulesCommand({ EventBusName: bus, NamePrefix: `lifeboat-${STAGE}-` }),
    );
    for (const rule of listed.Rules ?? []) {
      if (!rule.EventPattern || !rule.Name) continue; // schedules carry no pattern
      const targets = await events.send(
        new ListTargetsByRuleCommand({ Rule: rule.Name, EventBusName: bus }),
      );
      const arns = (targets.Targets ?? []).map((t) => t.Arn ?? '');
      rules.push({
        name: rule.Name,
        bus,
        pattern: rule.EventPattern,
        functions: arns.flatMap((arn) => {
          const fn = FUNCTION_ARN.exec(arn)?.[1];
          return fn ? [fn as FunctionName] : [];
        }),
        forwardsTo: arns.flatMap((arn) => {
          const to = BUS_ARN.exec(arn)?.[1];
          return to ? [to] : [];
        }),
      });
    }
  }
  return rules;
}

/** Every event of the catalog, as it would arrive in `region`. */
function catalogEvents(region: string): { name: string; event: Record<string, unknown> }[] {
  const envelope = (source: string, detailType: string, detail: Record<string, unknown>) => ({
    version: '0',
    id: randomBytes(8).toString('hex'),
    'detail-type': detailType,
    source,
    account: '123456789012',
    time: '2026-11-25T06:00:00Z',
    region,
    resources: [],
    detail,
  });
  return [
    ...Object.values(DetailType).map((type) => ({
      name: type,
      event: envelope(EVENT_SOURCE, type, { vantage: region, region }),
    })),
    {
      name: 'lifeboat health-check alarm',
      event: envelope(AwsEvent.AlarmStateChange.source, AwsEvent.AlarmStateChange.detailType, {
        alarmName: `${ALARM_PREFIX}petstore-${region}`,
        state: { value: 'ALARM' },
      }),
    },
    {
      name: 'another alarm',
      event: envelope(AwsEvent.AlarmStateChange.source, AwsEvent.AlarmStateChange.detailType, {
        alarmName: 'billing',
        state: { value: 'ALARM' },
      }),
    },
    {
      name: 'AWS Health issue',
      event: envelope(AwsEvent.HealthEvent.source, AwsEvent.HealthEvent.detailType, {
        eventTypeCategory: 'issue',
      }),
    },
  ];
}

/** A catalog route by its rule name. */
function routeOf(rule: string): Route {
  const route = ROUTES.find((r) => r.rule === rule);
  expect(route, `catalog rule ${rule}`).toBeDefined();
  return route as Route;
}

async function matches(region: string, pattern: string, event: unknown): Promise<boolean> {
  const events = eventBridge(region);
  const answer = await events.send(
    new TestEventPatternCommand({ EventPattern: pattern, Event: JSON.stringify(event) }),
  );
  return answer.Result === true;
}

beforeAll(async () => {
  moto = await startMoto();
  const file = writeSmallConfig();
  config = loadConfig(file);
  for (const region of REGIONS) {
    const result = await deploy(region, file);
    expect(result.code, `serverless deploy --region ${region}:\n${result.output}`).toBe(0);
  }
}, DEPLOY_TIMEOUT_MS * REGIONS.length);

afterAll(async () => {
  await moto?.stop();
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

describe('the deployed stack', () => {
  it.each(REGIONS)(
    'routes every event of the catalog as the local world does in %s',
    async (region) => {
      const bus = config.naming.eventBusName;
      const deployed = await deployedRules(region, [bus, 'default']);
      expect(deployed.length, `${region}: deployed rules`).toBeGreaterThan(0);
      const local = localRules(config);
      for (const { name, event } of catalogEvents(region)) {
        for (const busName of [bus, 'default']) {
          const want = new Set<string>();
          for (const rule of local.filter((r) => r.bus === busName)) {
            if (await matches(region, JSON.stringify(rule.pattern), event)) want.add(rule.fn);
          }
          const got = new Set<string>();
          for (const rule of deployed.filter((r) => r.bus === busName)) {
            if (await matches(region, rule.pattern, event))
              for (const fn of rule.functions) got.add(fn);
          }
          expect([...got].sort(), `${region} ${busName} bus: "${name}"`).toEqual([...want].sort());
        }
      }
    },
  );

  it.each(REGIONS)(
    'forwards what reaches every region to every other region and never to its own in %s',
    async (region) => {
      const bus = config.naming.eventBusName;
      const deployed = await deployedRules(region, [bus, 'default']);
      const others = REGIONS.filter((r) => r !== region).sort();
      const forwarding = deployed.filter((r) => r.forwardsTo.length > 0);
      const observed = routeOf('detect-observed');
      const alarms = routeOf('detect-alarm');
      // Probes made here (vantage = this region, so forwarded ones are not sent on again) go
      // to every other region's bus; us-east-1, where the alarms live, forwards those too.
      const expected = [
        {
          bus,
          pattern: { ...observed.pattern, detail: { vantage: [region] } },
          forwardsTo: others,
        },
        ...(region === 'us-east-1'
          ? [{ bus: 'default', pattern: alarms.pattern, forwardsTo: others }]
          : []),
      ];
      expect(
        forwarding.map((r) => ({
          bus: r.bus,
          pattern: JSON.parse(r.pattern),
          forwardsTo: [...r.forwardsTo].sort(),
        })),
      ).toEqual(expected);
      // Only routes that reach every region are forwarded.
      expect(observed.regions).toBe('every');
      expect(alarms.regions).toBe('every');
    },
  );

  it('deploys every function of the catalog in every region', async () => {
    const routed = new Set<string>();
    for (const region of REGIONS) {
      for (const rule of await deployedRules(region, [config.naming.eventBusName, 'default'])) {
        for (const fn of rule.functions) routed.add(fn);
      }
    }
    // The event-triggered ones; probe, snapshot, restoreTest, practice and reconcile run on schedules.
    const expected = Object.keys(FUNCTIONS).filter(
      (fn) => !['probe', 'snapshot', 'restoreTest', 'practice', 'reconcile'].includes(fn),
    );
    expect([...routed].sort()).toEqual(expected.sort());
  });
});
