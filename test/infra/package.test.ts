import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { serverlessEnv } from '../../local/serverless-env.ts';
import { loadConfig, regionBuckets } from '../../shared/config/load.ts';
import { type LifeboatConfig, rateToSeconds } from '../../shared/config/schema.ts';
import {
  DetailType,
  EVENT_SOURCE,
  NOTIFIED_EVENTS,
  RecoveryEvent,
} from '../../shared/domain/events.ts';
import { RECONCILE_POLICY } from '../../shared/domain/recovery/steps/reconcile.ts';
import { SCRATCH_PREFIX } from '../../shared/domain/snapshot/restore-test.ts';
import { alarmNameFor } from '../../shared/schemas/detection-events.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG_FILE = join(ROOT, 'lifeboat.config.yml');
const TEMPLATE = 'cloudformation-template-update-stack.json';
const MIB = 1024 * 1024;
/** osls with serverless-esbuild takes a few seconds here; two busy cores can stretch that a lot. */
const PACKAGE_TIMEOUT_MS = 240_000;

/** Route 53 publishes health-check metrics only there, so the health checks live there. */
const HEALTH_CHECK_REGION = 'us-east-1';
const ALARM_PREFIX = 'lifeboat-health-';
/** "Health Observed" as the probe publishes it (shared/adapters/eventbridge-bus.ts). */
const OBSERVED_PATTERN = { source: [EVENT_SOURCE], 'detail-type': [DetailType.HealthObserved] };

/**
 * IAM statements allowed to name `Resource: "*"`, each with its reason. Nothing needs one today:
 * add an entry here (role, Sid, reason) only for an action that supports no resource ARN.
 */
const WILDCARD_RESOURCE_ALLOWLIST: readonly { role: string; sid: string; reason: string }[] = [];

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
}

interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

interface RuleTarget {
  Id: string;
  Arn: unknown;
  RoleArn?: unknown;
  RetryPolicy?: { MaximumEventAgeInSeconds?: number; MaximumRetryAttempts?: number };
}

interface RuleProperties {
  Name?: string;
  EventBusName?: unknown;
  EventPattern?: Record<string, unknown>;
  ScheduleExpression?: string;
  State?: string;
  Targets: RuleTarget[];
}

interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

interface PackageRun {
  dir: string;
  result: SpawnSyncReturns<string>;
}

const workDirs: string[] = [];

function output(result: SpawnSyncReturns<string>): string {
  return [result.error ? `spawn error: ${result.error.message}` : '', result.stdout, result.stderr]
    .filter(Boolean)
    .join('\n');
}

/**
 * `serverless package` into a fresh directory, with its own esbuild work folder, so runs in
 * parallel (or beside a developer's own `npm run package`) never share files.
 */
function packageService(...extraArgs: string[]): PackageRun {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-package-'));
  const buildFolder = `.esbuild/infra-${process.pid}-${randomBytes(4).toString('hex')}`;
  workDirs.push(dir, join(ROOT, buildFolder));
  // The assertions below are about the repository's default config and credentials-free runs.
  const env = serverlessEnv();
  const result = spawnSync(
    'npx',
    [
      'serverless',
      'package',
      '--package',
      dir,
      '--param',
      `buildFolder=${buildFolder}`,
      ...extraArgs,
    ],
    { cwd: ROOT, env, encoding: 'utf8', timeout: PACKAGE_TIMEOUT_MS },
  );
  return { dir, result };
}

function expectPackaged(run: PackageRun): Template {
  expect(run.result.status, `serverless package failed:\n${output(run.result)}`).toBe(0);
  return JSON.parse(readFileSync(join(run.dir, TEMPLATE), 'utf8')) as Template;
}

function cfnLint(...files: string[]): SpawnSyncReturns<string> {
  return spawnSync('cfn-lint', files, { encoding: 'utf8', timeout: 240_000 });
}

function ofType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

function propertiesOf(resource: Resource): Record<string, unknown> {
  return resource.Properties ?? {};
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The logical id behind `{Ref}`, `{Fn::GetAtt}` or `{Fn::Sub: '${Id.Attr}'}`. */
function referencedId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return v.Ref;
  if (Array.isArray(v['Fn::GetAtt'])) return v['Fn::GetAtt'][0] as string;
  if (typeof v['Fn::Sub'] === 'string')
    return /^\$\{([A-Za-z0-9]+)\.Arn\}$/.exec(v['Fn::Sub'])?.[1];
  return undefined;
}

/** Names of the entries in a zip, read from its central directory. */
interface ZipEntry {
  name: string;
  /** The entry's bytes, uncompressed. */
  read(): Buffer;
}

/**
 * The entries of a zip, from its central directory. Hand-read rather than through a zip
 * library: the tests need names and two compression methods, and Node's zlib inflates.
 */
function zipContents(file: string): ZipEntry[] {
  const zip = readFileSync(file);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error(`${file} is not a zip`);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    entries.push({
      name,
      read: () => {
        const start =
          localHeader +
          30 +
          zip.readUInt16LE(localHeader + 26) +
          zip.readUInt16LE(localHeader + 28);
        const data = zip.subarray(start, start + compressedSize);
        if (method === 0) return Buffer.from(data);
        if (method === 8) return inflateRawSync(data);
        throw new Error(`${file}: ${name} uses compression method ${method}`);
      },
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function zipEntries(file: string): string[] {
  return zipContents(file).map((entry) => entry.name);
}

/** The EventBridge form of the config's shortest snapshot schedule. */
function shortestScheduleSeconds(): number {
  const config = loadConfig(CONFIG_FILE);
  const schedules = config.instances.map((instance) => instance.snapshot.schedule);
  return Math.min(...(schedules.length > 0 ? schedules : ['rate(1 day)']).map(rateToSeconds));
}

function rulesOf(template: Template): [string, RuleProperties][] {
  return ofType(template, 'AWS::Events::Rule').map(([id, rule]) => [
    id,
    propertiesOf(rule) as unknown as RuleProperties,
  ]);
}

/** The rules with a target that is the function `functionId`. */
function rulesTargeting(template: Template, functionId: string): [string, RuleProperties][] {
  return rulesOf(template).filter(([, rule]) =>
    rule.Targets.some((target) => referencedId(target.Arn) === functionId),
  );
}

/** The region of an event bus ARN built by deploy/lifeboat.cjs, or undefined for other targets. */
function busTargetRegion(target: RuleTarget): string | undefined {
  return /:events:([a-z0-9-]+):.*:event-bus\//.exec(JSON.stringify(target.Arn))?.[1];
}

/** Rules whose targets are event buses (cross-region forwarding). */
function forwardingRules(template: Template): [string, RuleProperties][] {
  return rulesOf(template).filter(([, rule]) =>
    rule.Targets.some((target) => busTargetRegion(target) !== undefined),
  );
}

/** `lifeboat` when the rule is on the lifeboat bus, `default` when on the default bus. */
function busOf(rule: RuleProperties): 'lifeboat' | 'default' | 'other' {
  if (rule.EventBusName === undefined) return 'default';
  return referencedId(rule.EventBusName) === 'LifeboatEventBus' ? 'lifeboat' : 'other';
}

type InlinePolicy = { PolicyName: string; PolicyDocument: { Statement: unknown } };

/**
 * A role's inline policies as CloudFormation deploys them: a policy under `Fn::If` (the API
 * Gateway kind's, condition `HasApiGateway` on the `ApiGatewayKind` parameter's default) is
 * there only when its condition holds.
 */
function deployedPolicies(template: Template, role: Resource | undefined): InlinePolicy[] {
  const raw = (role?.Properties?.Policies ?? []) as unknown[];
  const holds = (name: string) => {
    const condition = (template as { Conditions?: Record<string, { 'Fn::Equals'?: unknown[] }> })
      .Conditions?.[name]?.['Fn::Equals'];
    const [left, right] = condition ?? [];
    const value = (v: unknown) =>
      typeof v === 'object' && v && 'Ref' in v
        ? (template as { Parameters?: Record<string, { Default?: string }> }).Parameters?.[
            (v as { Ref: string }).Ref
          ]?.Default
        : v;
    return condition !== undefined && value(left) === value(right);
  };
  return raw.flatMap((p) => {
    const branch = (p as { 'Fn::If'?: [string, unknown, unknown] })['Fn::If'];
    if (!branch) return [p as InlinePolicy];
    const chosen = holds(branch[0]) ? branch[1] : branch[2];
    // `apigateway-none` is the stand-in for AWS::NoValue (which moto cannot take in a list): it
    // repeats the role's own log grant, so the role's grants are as if it were absent.
    if ((chosen as InlinePolicy | undefined)?.PolicyName === 'apigateway-none') return [];
    return chosen && !(typeof chosen === 'object' && 'Ref' in chosen)
      ? [chosen as InlinePolicy]
      : [];
  });
}

function rolePolicyStatements(template: Template, roleId: string): PolicyStatement[] {
  const role = template.Resources[roleId];
  expect(role?.Type, `${roleId} exists`).toBe('AWS::IAM::Role');
  return deployedPolicies(template, role).flatMap((p) =>
    asArray(p.PolicyDocument.Statement as PolicyStatement[]),
  );
}

function configuredRegions(config: LifeboatConfig): string[] {
  return config.regions.map((region) => region.name);
}

/** Every (instance, endpoint region) pair of the config, with the endpoint URL. */
function endpointPairs(config: LifeboatConfig): { instanceId: string; region: string; url: URL }[] {
  return config.instances.flatMap((instance) =>
    Object.entries(instance.endpoints).map(([region, endpoint]) => ({
      instanceId: instance.id,
      region,
      url: new URL(endpoint.url),
    })),
  );
}

/**
 * A resource of a policy statement as text: `Fn::Join`s with `AWS::Partition` read as `aws`,
 * `Fn::GetAtt` and other `Ref`s as `${Id.Attr}` / `${Id}`, an `Fn::Sub` string as it is.
 */
function arnText(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = (value ?? {}) as Record<string, unknown>;
  if (typeof v.Ref === 'string') return v.Ref === 'AWS::Partition' ? 'aws' : `\${${v.Ref}}`;
  if (Array.isArray(v['Fn::GetAtt'])) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
  if (typeof v['Fn::Sub'] === 'string') return v['Fn::Sub'];
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(arnText).join(separator);
  }
  return JSON.stringify(value);
}

/** A role's statements, compared by Sid, sorted actions, resources as text and condition. */
function statementSummary(template: Template, roleId: string) {
  return rolePolicyStatements(template, roleId).map((s) => ({
    sid: s.Sid,
    actions: asArray(s.Action).sort(),
    resources: asArray(s.Resource).map(arnText),
    ...(s.Condition ? { condition: s.Condition } : {}),
  }));
}

/** The four functions of the recovery chain, their triggers and settings. */
const RECOVERY_FUNCTIONS = [
  {
    id: 'PlanRecovery',
    handler: 'functions/plan-recovery/handler.handler',
    detailType: DetailType.RegionOutageConfirmed,
    timeout: 120,
    memory: 256,
    // A confirmation older than this may describe a region that is back.
    eventAge: 600,
    deliveryRetries: 20,
  },
  {
    id: 'RestoreInstance',
    handler: 'functions/restore-instance/handler.handler',
    detailType: RecoveryEvent.plan,
    timeout: 900,
    memory: 1024,
    eventAge: 3600,
    deliveryRetries: 185,
  },
  {
    id: 'VerifyInstance',
    handler: 'functions/verify-instance/handler.handler',
    detailType: RecoveryEvent.restore,
    timeout: 300,
    memory: 256,
    eventAge: 3600,
    deliveryRetries: 185,
  },
  {
    id: 'ShiftTraffic',
    handler: 'functions/shift-traffic/handler.handler',
    detailType: RecoveryEvent.verify,
    timeout: 300,
    memory: 256,
    eventAge: 3600,
    deliveryRetries: 185,
  },
] as const;

/**
 * failback: on "Region Recovered" (fanned out into one "Failback Requested" per instance, which
 * it handles too), outside the chain but with the recovery deps.
 */
const FAILBACK_FUNCTION = {
  id: 'Failback',
  handler: 'functions/failback/handler.handler',
  detailType: DetailType.RegionRecovered,
  instanceDetailType: DetailType.FailbackRequested,
  // One instance's canary steps wait failback.stepSeconds each.
  timeout: 900,
  memory: 1024,
  // A signal older than 10 minutes must not fence the serving instance...
  ruleEventAge: 600,
  deliveryRetries: 20,
  // ...but Lambda's own retries must still start after two full 15-minute attempts.
  asyncEventAge: 2400,
  asyncRetries: 2,
} as const;

/** A run's kind, as the reconciler's stall limits are keyed. */
type RecoveryRunKind = keyof typeof RECONCILE_POLICY.stallLimitSeconds;

/** The detection exports of deploy/lifeboat.cjs, called the way osls calls them. */
interface DeployModule {
  detectionResources(ctx: DeployContext): Promise<Template>;
  hostedZoneArns(ctx: DeployContext): Promise<unknown[]>;
  dnsChangeCondition(ctx: DeployContext): Promise<Record<string, Record<string, string[]>>>;
  snapshotStatements(ctx: DeployContext): Promise<PolicyStatement[]>;
  regionRecoveredPattern(ctx: DeployContext): Promise<Record<string, unknown>>;
  failbackRequestedPattern(ctx: DeployContext): Promise<Record<string, unknown>>;
}

interface DeployContext {
  options: { region?: string; stage?: string };
  resolveConfigurationProperty(path: string[]): Promise<unknown>;
}

const deployModule = createRequire(import.meta.url)('../../deploy/lifeboat.cjs') as DeployModule;

/** The YAML of the repository's config, changed by `edit`, written inside the service. */
function writeConfig(edit: (raw: Record<string, unknown>) => void): string {
  const raw = parseYaml(readFileSync(CONFIG_FILE, 'utf8')) as Record<string, unknown>;
  edit(raw);
  // Inside the service (and .gitignored): `serverless package` refuses a config outside it.
  const dir = join(
    ROOT,
    '.esbuild',
    `infra-config-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  mkdirSync(dir, { recursive: true });
  workDirs.push(dir);
  const file = join(dir, 'lifeboat.config.yml');
  writeFileSync(file, stringifyYaml(raw));
  return file;
}

function deployContext(configFile: string, region: string): DeployContext {
  const properties: Record<string, unknown> = {
    'custom.lifeboat.config': relative(ROOT, configFile),
    'provider.region': region,
    'provider.stage': 'test',
  };
  return {
    options: { region, stage: 'test' },
    resolveConfigurationProperty: async (path) => properties[path.join('.')],
  };
}

const EXTRA_REGIONS = [
  { name: 'eu-central-1', location: { lat: 50.1, lon: 8.7 }, zones: ['eu-central-1a'] },
  { name: 'ap-southeast-1', location: { lat: 1.3, lon: 103.8 }, zones: ['ap-southeast-1a'] },
  { name: 'ap-northeast-1', location: { lat: 35.7, lon: 139.7 }, zones: ['ap-northeast-1a'] },
  { name: 'sa-east-1', location: { lat: -23.5, lon: -46.6 }, zones: ['sa-east-1a'] },
];

/** The repository's config with four more regions: eight in all, seven targets to forward to. */
function manyRegionsConfig(): string {
  return writeConfig((raw) => {
    raw.regions = [
      ...(raw.regions as unknown[]),
      ...EXTRA_REGIONS.map((region) => ({ ...region, capacity: 1 })),
    ];
  });
}

/**
 * Checks one region's forwarding: "Health Observed" probed here goes to every other region's
 * lifeboat bus, never back to this one, and in us-east-1 the health-check alarms do too.
 */
function expectForwarding(template: Template, region: string, regions: string[]): void {
  const others = regions.filter((name) => name !== region).sort();
  const rules = forwardingRules(template);
  const observations = rules.filter(([, rule]) => busOf(rule) === 'lifeboat');
  const alarms = rules.filter(([, rule]) => busOf(rule) === 'default');
  expect(observations.length + alarms.length, `${region}: forwarding rules`).toBe(rules.length);
  for (const [id, rule] of rules) {
    expect(rule.Targets.length, `${region} ${id} targets`).toBeGreaterThan(0);
    expect(rule.Targets.length, `${region} ${id} targets`).toBeLessThanOrEqual(5);
    expect(rule.State, `${region} ${id} state`).toBe('ENABLED');
    for (const target of rule.Targets) {
      expect(busTargetRegion(target), `${region} ${id} forwards to itself`).not.toBe(region);
      expect(referencedId(target.RoleArn), `${region} ${id} ${target.Id} role`).toBe(
        'EventForwardRole',
      );
      expect(JSON.stringify(target.Arn), `${region} ${id} ${target.Id} bus`).toMatch(
        /:event-bus\/lifeboat"/,
      );
    }
  }
  const targetRegions = (group: [string, RuleProperties][]) =>
    group.flatMap(([, rule]) => rule.Targets.map((target) => busTargetRegion(target))).sort();

  for (const [id, rule] of observations) {
    // Only what was probed from here: a forwarded observation is never forwarded again.
    expect(rule.EventPattern, `${region} ${id} pattern`).toEqual({
      ...OBSERVED_PATTERN,
      detail: { vantage: [region] },
    });
  }
  expect(targetRegions(observations), `${region}: observation forwarding targets`).toEqual(others);

  if (region === HEALTH_CHECK_REGION) {
    for (const [id, rule] of alarms) {
      expect(rule.EventPattern, `${region} ${id} pattern`).toEqual({
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: { alarmName: [{ prefix: ALARM_PREFIX }] },
      });
    }
    expect(targetRegions(alarms), `${region}: alarm forwarding targets`).toEqual(others);
  } else {
    expect(alarms, `${region}: forwards alarms though it has none`).toEqual([]);
  }

  if (others.length === 0) {
    expect(template.Resources.EventForwardRole).toBeUndefined();
    return;
  }
  // The role EventBridge assumes may put events on exactly the other regions' buses.
  const statements = rolePolicyStatements(template, 'EventForwardRole');
  expect(statements.flatMap((s) => asArray(s.Action))).toEqual(['events:PutEvents']);
  const busRegions = statements
    .flatMap((s) => asArray(s.Resource))
    .map((arn) => busTargetRegion({ Id: '', Arn: arn }))
    .sort();
  expect(busRegions, `${region}: EventForwardRole buses`).toEqual(others);
  const trustDocument = template.Resources.EventForwardRole?.Properties?.AssumeRolePolicyDocument as
    | { Statement: (PolicyStatement & { Principal: unknown })[] }
    | undefined;
  expect(trustDocument?.Statement).toEqual([
    expect.objectContaining({ Principal: { Service: 'events.amazonaws.com' } }),
  ]);
}

describe('serverless package', () => {
  const config = loadConfig(CONFIG_FILE);
  const regions = configuredRegions(config);
  /** The default region (us-east-1, where the health checks go), packaged without --region. */
  let run: PackageRun;
  /** Every other configured region, packaged with --region. */
  const regionRuns = new Map<string, PackageRun>();

  /** The template of every configured region. */
  function templates(): [string, Template][] {
    return regions.map((region) => [
      region,
      expectPackaged(region === HEALTH_CHECK_REGION ? run : (regionRuns.get(region) as PackageRun)),
    ]);
  }

  beforeAll(
    () => {
      expect(regions, 'the infra tests expect us-east-1 in the default config').toContain(
        HEALTH_CHECK_REGION,
      );
      run = packageService();
      for (const region of regions.filter((name) => name !== HEALTH_CHECK_REGION)) {
        regionRuns.set(region, packageService('--region', region));
      }
    },
    (PACKAGE_TIMEOUT_MS + 10_000) * 4,
  );

  afterAll(() => {
    for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('produces a template cfn-lint accepts for every configured region when packaged offline', () => {
    const files = templates().map(([region]) => {
      const packaged =
        region === HEALTH_CHECK_REGION ? run : (regionRuns.get(region) as PackageRun);
      return join(packaged.dir, TEMPLATE);
    });
    const lint = cfnLint(...files);
    expect(lint.status, `cfn-lint reported findings:\n${output(lint)}`).toBe(0);
    console.log(`cfn-lint clean: ${regions.join(', ')}`);
  });

  it('encrypts, versions, blocks public access and enforces TLS on every bucket when packaged', () => {
    const template = expectPackaged(run);
    const buckets = ofType(template, 'AWS::S3::Bucket');
    const policies = ofType(template, 'AWS::S3::BucketPolicy');
    expect(buckets.map(([id]) => id)).toEqual(
      expect.arrayContaining(['BackupBucket', 'InstanceStoreBucket', 'ControlBucket']),
    );
    for (const [id, bucket] of buckets) {
      const props = bucket.Properties ?? {};
      const sse = (props.BucketEncryption as { ServerSideEncryptionConfiguration?: unknown[] })
        ?.ServerSideEncryptionConfiguration?.[0] as
        | { ServerSideEncryptionByDefault?: { SSEAlgorithm?: string }; BucketKeyEnabled?: boolean }
        | undefined;
      const algorithm = sse?.ServerSideEncryptionByDefault?.SSEAlgorithm;
      expect(['AES256', 'aws:kms', 'aws:kms:dsse'], `${id} encryption`).toContain(algorithm);
      if (algorithm !== 'AES256') expect(sse?.BucketKeyEnabled, `${id} bucket key`).toBe(true);
      expect(props.VersioningConfiguration, `${id} versioning`).toEqual({ Status: 'Enabled' });
      expect(props.PublicAccessBlockConfiguration, `${id} public access block`).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });

      const statements = policies
        .filter(([, policy]) => referencedId(policy.Properties?.Bucket) === id)
        .flatMap(([, policy]) =>
          asArray(
            (propertiesOf(policy).PolicyDocument as { Statement: PolicyStatement[] }).Statement,
          ),
        );
      const tlsOnly = statements.find(
        (s) =>
          s.Effect === 'Deny' &&
          asArray(s.Action).includes('s3:*') &&
          String(s.Condition?.Bool?.['aws:SecureTransport']) === 'false',
      );
      expect(tlsOnly, `${id} has no bucket policy denying requests without TLS`).toBeDefined();
      const resources = asArray(tlsOnly?.Resource).map((r) => JSON.stringify(r));
      expect(
        resources.some((r) => r.includes(id) && !r.includes('/*')),
        `${id} TLS deny on bucket`,
      ).toBe(true);
      expect(
        resources.some((r) => r.includes(id) && r.includes('/*')),
        `${id} TLS deny on objects`,
      ).toBe(true);
    }
    for (const id of ['BackupBucket', 'InstanceStoreBucket']) {
      expect(template.Resources[id], `${id} policies`).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
  });

  it('grants each function its own role with named actions and resources when packaged', () => {
    for (const [region, template] of templates()) expectLeastPrivilege(template, region);
  });

  function expectLeastPrivilege(template: Template, region: string): void {
    const roles = ofType(template, 'AWS::IAM::Role');
    expect(roles.length).toBeGreaterThan(0);
    expect(ofType(template, 'AWS::IAM::Policy')).toEqual([]);
    expect(ofType(template, 'AWS::IAM::ManagedPolicy')).toEqual([]);
    for (const [id, role] of roles) {
      // AWS managed policies (AWSLambdaBasicExecutionRole and friends) grant on Resource "*".
      expect(role.Properties?.ManagedPolicyArns ?? [], `${id} managed policies`).toEqual([]);
      const policies = deployedPolicies(template, role);
      for (const statement of policies.flatMap((p) =>
        asArray(p.PolicyDocument.Statement as PolicyStatement[]),
      )) {
        const where = `${region} ${id} ${statement.Sid ?? JSON.stringify(statement.Action)}`;
        expect(statement.NotAction, `${where} uses NotAction`).toBeUndefined();
        expect(statement.NotResource, `${where} uses NotResource`).toBeUndefined();
        const actions = asArray(statement.Action);
        expect(actions.length, `${where} names no action`).toBeGreaterThan(0);
        for (const action of actions) {
          expect(action, `${where}: wildcard action`).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
        }
        const resources = asArray(statement.Resource);
        expect(resources.length, `${where} names no resource`).toBeGreaterThan(0);
        const allowed = WILDCARD_RESOURCE_ALLOWLIST.some(
          (entry) => entry.role === id && entry.sid === statement.Sid,
        );
        for (const resource of resources) {
          if (!allowed) expect(resource, `${where}: Resource "*"`).not.toBe('*');
        }
      }
    }

    const functions = ofType(template, 'AWS::Lambda::Function');
    expect(functions.map(([id]) => id)).toEqual(
      expect.arrayContaining([
        'SnapshotLambdaFunction',
        'ProbeLambdaFunction',
        'DetectOutageLambdaFunction',
        ...RECOVERY_FUNCTIONS.map((f) => `${f.id}LambdaFunction`),
        `${FAILBACK_FUNCTION.id}LambdaFunction`,
        'ReconcileLambdaFunction',
      ]),
    );
    const roleOf = functions.map(([id, fn]) => [id, referencedId(fn.Properties?.Role)] as const);
    for (const [id, roleId] of roleOf) {
      expect(roleId, `${id} role`).toBeDefined();
      expect(roleId, `${id} uses the shared default role`).not.toBe('IamRoleLambdaExecution');
    }
    expect(new Set(roleOf.map(([, roleId]) => roleId)).size, 'functions share a role').toBe(
      roleOf.length,
    );
  }

  it('lets the probe only log and publish to the lifeboat bus when packaged', () => {
    const statements = rolePolicyStatements(expectPackaged(run), 'ProbeRole');
    expect(
      statements.map((s) => ({ actions: asArray(s.Action).sort(), resource: s.Resource })),
    ).toEqual([
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resource: { 'Fn::GetAtt': ['ProbeLogGroup', 'Arn'] },
      },
      { actions: ['events:PutEvents'], resource: { 'Fn::GetAtt': ['LifeboatEventBus', 'Arn'] } },
    ]);
  });

  it('lets the detector use only detector/ in its control bucket, its logs and its bus', () => {
    const statements = rolePolicyStatements(expectPackaged(run), 'DetectOutageRole');
    expect(
      statements.map((s) => ({ actions: asArray(s.Action).sort(), resource: s.Resource })),
    ).toEqual([
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resource: { 'Fn::GetAtt': ['DetectOutageLogGroup', 'Arn'] },
      },
      {
        actions: ['s3:GetObject', 's3:PutObject'],
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
        resource: { 'Fn::Sub': '${ControlBucket.Arn}/detector/*' },
      },
      // S3 answers a GetObject of a missing key with 403 unless the caller may list the bucket.
      { actions: ['s3:ListBucket'], resource: { 'Fn::GetAtt': ['ControlBucket', 'Arn'] } },
      { actions: ['events:PutEvents'], resource: { 'Fn::GetAtt': ['LifeboatEventBus', 'Arn'] } },
    ]);
  });

  describe('the recovery chain', () => {
    const s3 = (bucket: string, suffix = '') => `arn:aws:s3:::${bucket}${suffix}`;
    const buckets = config.regions.map((region) => regionBuckets(config, region));
    const control = (suffix = '') => buckets.map((b) => s3(b.control, suffix));
    const backup = (suffix = '') => buckets.map((b) => s3(b.backup, suffix));
    const store = (suffix = '') => buckets.map((b) => s3(b.instanceStore, suffix));
    const zones = [...new Set(config.instances.map((i) => i.dns.hostedZoneId))]
      .sort()
      .map((id) => `arn:aws:route53:::hostedzone/${id}`);
    /** `${Id.Attr}`, as arnText renders an `Fn::GetAtt` (and as an `Fn::Sub` names it). */
    const att = (name: string) => `\${${name}}`;
    const logs = (id: string) => ({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [att(`${id}LogGroup.Arn`)],
    });
    const runState = {
      sid: 'ReadWriteRunState',
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: control('/runs/*'),
    };
    const publish = {
      sid: 'PublishRecoveryEvents',
      actions: ['events:PutEvents'],
      resources: [att('LifeboatEventBus.Arn')],
    };
    const changeRecords = {
      sid: 'ChangeInstanceRecords',
      actions: ['route53:ChangeResourceRecordSets'],
      resources: zones,
      condition: {
        'ForAllValues:StringEquals': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': [
            ...new Set(config.instances.map((i) => i.dns.recordName.toLowerCase())),
          ].sort(),
          'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
          'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
        },
      },
    };
    const waitForChanges = {
      sid: 'WaitForChanges',
      actions: ['route53:GetChange'],
      resources: ['arn:aws:route53:::change/*'],
    };

    it("triggers each step on the previous step's event on the lifeboat bus when packaged", () => {
      // The chain as the code runs it: plan emits what restore waits for, and so on.
      expect(RECOVERY_FUNCTIONS.map((f) => f.detailType)).toEqual([
        'Region Outage Confirmed',
        RecoveryEvent.plan,
        RecoveryEvent.restore,
        RecoveryEvent.verify,
      ]);
      for (const [region, template] of templates()) {
        for (const f of RECOVERY_FUNCTIONS) {
          const functionId = `${f.id}LambdaFunction`;
          const fn = propertiesOf(template.Resources[functionId] as Resource);
          expect(fn, `${region} ${f.id}`).toMatchObject({
            Handler: f.handler,
            Timeout: f.timeout,
            MemorySize: f.memory,
            Environment: {
              Variables: {
                LIFEBOAT_CONFIG: 'lifeboat.config.yml',
                LIFEBOAT_REGION: region,
                POWERTOOLS_SERVICE_NAME: 'lifeboat',
              },
            },
          });
          expect(referencedId(fn.Role), `${region} ${f.id} role`).toBe(`${f.id}Role`);
          const rules = rulesTargeting(template, functionId);
          expect(rules, `${region} ${f.id} rules`).toHaveLength(1);
          const [id, rule] = rules[0] as [string, RuleProperties];
          expect(busOf(rule), `${region} ${id} bus`).toBe('lifeboat');
          expect(rule.EventPattern, `${region} ${id} pattern`).toEqual({
            source: [EVENT_SOURCE],
            'detail-type': [f.detailType],
          });
          expect(rule.Targets[0]?.RetryPolicy, `${region} ${id} retry`).toEqual({
            MaximumEventAgeInSeconds: f.eventAge,
            MaximumRetryAttempts: f.deliveryRetries,
          });
          const invokeConfig = ofType(template, 'AWS::Lambda::EventInvokeConfig').find(
            ([, c]) => referencedId(c.Properties?.FunctionName) === functionId,
          );
          expect(invokeConfig?.[1].Properties, `${region} ${f.id} async`).toMatchObject({
            MaximumEventAgeInSeconds: f.eventAge,
            MaximumRetryAttempts: 2,
          });
        }
      }
    });

    it('grants planRecovery run state, claims, capacity, detector state, backups, DNS changes', () => {
      for (const [region, template] of templates()) {
        expect(statementSummary(template, 'PlanRecoveryRole'), region).toEqual([
          logs('PlanRecovery'),
          runState,
          {
            sid: 'ClaimGenerations',
            actions: ['s3:GetObject', 's3:PutObject'],
            resources: control('/instances/*'),
          },
          {
            sid: 'ReserveCapacity',
            actions: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
            resources: control('/capacity/*'),
          },
          // Its own region's detector only: that is whose view it asks.
          {
            sid: 'ReadDetectorState',
            actions: ['s3:GetObject'],
            resources: [`${att('ControlBucket.Arn')}/detector/regions/*`],
          },
          {
            sid: 'ListControlAndBackups',
            actions: ['s3:ListBucket'],
            resources: [...control(), ...backup()],
          },
          { sid: 'ReadBackups', actions: ['s3:GetObject'], resources: backup('/*') },
          // The active-active drain: a change, no read-back.
          changeRecords,
          waitForChanges,
          publish,
        ]);
      }
    });

    it('grants restoreInstance run state, backups to read and instance stores to write', () => {
      for (const [region, template] of templates()) {
        expect(statementSummary(template, 'RestoreInstanceRole'), region).toEqual([
          logs('RestoreInstance'),
          runState,
          {
            sid: 'ListControlBackupsAndStores',
            actions: ['s3:ListBucket'],
            resources: [...control(), ...backup(), ...store()],
          },
          { sid: 'ReadBackups', actions: ['s3:GetObject'], resources: backup('/*') },
          {
            sid: 'WriteInstanceStores',
            actions: ['s3:DeleteObject', 's3:PutObject'],
            resources: store('/*'),
          },
          publish,
        ]);
      }
    });

    it('triggers failback on "Region Recovered" and on its own "Failback Requested" when packaged', async () => {
      const f = FAILBACK_FUNCTION;
      const pattern = { source: [EVENT_SOURCE], 'detail-type': [f.detailType] };
      const instancePattern = { source: [EVENT_SOURCE], 'detail-type': [f.instanceDetailType] };
      expect(f.detailType).toBe('Region Recovered');
      expect(f.instanceDetailType).toBe('Failback Requested');
      const ctx = deployContext(CONFIG_FILE, 'us-east-1');
      expect(await deployModule.regionRecoveredPattern(ctx)).toEqual(pattern);
      expect(await deployModule.failbackRequestedPattern(ctx)).toEqual(instancePattern);
      for (const [region, template] of templates()) {
        const functionId = `${f.id}LambdaFunction`;
        const fn = propertiesOf(template.Resources[functionId] as Resource);
        expect(fn, `${region} ${f.id}`).toMatchObject({
          Handler: f.handler,
          Timeout: f.timeout,
          MemorySize: f.memory,
          Environment: {
            Variables: {
              LIFEBOAT_CONFIG: 'lifeboat.config.yml',
              LIFEBOAT_REGION: region,
              POWERTOOLS_SERVICE_NAME: 'lifeboat',
            },
          },
        });
        expect(referencedId(fn.Role), `${region} ${f.id} role`).toBe(`${f.id}Role`);
        const rules = rulesTargeting(template, functionId).sort(([, a], [, b]) =>
          String(a.Name).localeCompare(String(b.Name)),
        );
        expect(
          rules.map(([, rule]) => [rule.Name, rule.EventPattern]),
          `${region} ${f.id} rules`,
        ).toEqual([
          ['lifeboat-dev-failback', pattern],
          ['lifeboat-dev-failback-instance', instancePattern],
        ]);
        for (const [id, rule] of rules) {
          expect(busOf(rule), `${region} ${id} bus`).toBe('lifeboat');
          expect(rule.Targets[0]?.RetryPolicy, `${region} ${id} retry`).toEqual({
            MaximumEventAgeInSeconds: f.ruleEventAge,
            MaximumRetryAttempts: f.deliveryRetries,
          });
        }
        const invokeConfig = ofType(template, 'AWS::Lambda::EventInvokeConfig').find(
          ([, c]) => referencedId(c.Properties?.FunctionName) === functionId,
        );
        expect(invokeConfig?.[1].Properties, `${region} ${f.id} async`).toMatchObject({
          MaximumEventAgeInSeconds: f.asyncEventAge,
          MaximumRetryAttempts: f.asyncRetries,
        });
        // Two retries after two full attempts, with Lambda's 1- and 2-minute waits between.
        expect(f.asyncEventAge).toBeGreaterThan(2 * f.timeout + 60 + 120);
      }
    });

    it('grants failback claims, run state, snapshot, restore, capacity release and DNS', () => {
      for (const [region, template] of templates()) {
        expect(statementSummary(template, 'FailbackRole'), region).toEqual([
          logs('Failback'),
          runState,
          {
            sid: 'ClaimGenerations',
            actions: ['s3:GetObject', 's3:PutObject'],
            resources: control('/instances/*'),
          },
          // Released, never read: no GetObject or PutObject on capacity/.
          {
            sid: 'ReleaseCapacity',
            actions: ['s3:DeleteObject'],
            resources: control('/capacity/*'),
          },
          {
            sid: 'ListControlBackupsAndStores',
            actions: ['s3:ListBucket'],
            resources: [...control(), ...backup(), ...store()],
          },
          // The final snapshot reads the recovered instance's store.
          { sid: 'ReadInstanceStores', actions: ['s3:GetObject'], resources: store('/*') },
          // The final snapshot: no retention GC (DeleteObject); locked like any snapshot when
          // the config uses Object Lock.
          {
            sid: 'WriteBackups',
            actions: [
              's3:GetObject',
              's3:PutObject',
              ...(config.instances.some((i) => i.snapshot.objectLock)
                ? ['s3:PutObjectRetention']
                : []),
            ],
            resources: backup('/*'),
          },
          {
            sid: 'WriteInstanceStores',
            actions: ['s3:DeleteObject', 's3:PutObject'],
            resources: store('/*'),
          },
          changeRecords,
          {
            sid: 'ReadInstanceRecords',
            actions: ['route53:ListResourceRecordSets'],
            resources: zones,
          },
          waitForChanges,
          publish,
        ]);
      }
    });

    it('grants snapshot writes only into the other active regions of critical instances', async () => {
      const mirrorRegions = new Set(
        config.instances
          .filter((i) => i.critical)
          .flatMap((i) => (i.activeRegions ?? []).filter((r) => r !== i.homeRegion)),
      );
      // The repository's config has one (payments), so the statement is exercised here.
      expect(mirrorRegions.size).toBeGreaterThan(0);
      const mirrors = buckets
        .filter((_, i) => mirrorRegions.has(config.regions[i]?.name as string))
        .map((b) => s3(b.instanceStore, '/*'));
      const backupActions = ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'];
      // Object Lock: set and extend retention, and read it before GC deletes.
      if (config.instances.some((i) => i.snapshot.objectLock))
        backupActions.push('s3:GetObjectRetention', 's3:PutObjectRetention');
      for (const [region, template] of templates()) {
        expect(statementSummary(template, 'SnapshotRole'), region).toEqual([
          logs('Snapshot'),
          {
            sid: 'ListStoresAndBackups',
            actions: ['s3:ListBucket'],
            resources: buckets.flatMap((b) => [s3(b.instanceStore), s3(b.backup)]),
          },
          { sid: 'ReadInstanceStores', actions: ['s3:GetObject'], resources: store('/*') },
          { sid: 'WriteBackups', actions: backupActions.sort(), resources: backup('/*') },
          {
            sid: 'MirrorActiveRegions',
            actions: ['s3:DeleteObject', 's3:PutObject'],
            resources: mirrors,
          },
          {
            sid: 'PublishEvents',
            actions: ['events:PutEvents'],
            resources: [att('LifeboatEventBus.Arn')],
          },
        ]);
      }

      // Without a critical instance, no statement at all (IAM refuses one without resources).
      const plain = writeConfig((raw) => {
        for (const instance of raw.instances as Record<string, unknown>[]) {
          delete instance.critical;
          delete instance.activeRegions;
        }
      });
      const statements = await deployModule.snapshotStatements(deployContext(plain, 'us-east-1'));
      expect(statements.map((s) => s.Sid)).toEqual([
        'WriteOwnLogs',
        'ListStoresAndBackups',
        'ReadInstanceStores',
        'WriteBackups',
        'PublishEvents',
      ]);
    });

    it('lets reconcile only list and read runs/ in the control buckets, log and publish', () => {
      for (const [region, template] of templates()) {
        expect(statementSummary(template, 'ReconcileRole'), region).toEqual([
          logs('Reconcile'),
          {
            sid: 'ListRuns',
            actions: ['s3:ListBucket'],
            resources: control(),
            condition: { StringLike: { 's3:prefix': ['runs/*'] } },
          },
          { sid: 'ReadRunState', actions: ['s3:GetObject'], resources: control('/runs/*') },
          // The RPO measure: commit marker listings only (their keys are the snapshot times).
          {
            sid: 'ListCommitMarkers',
            actions: ['s3:ListBucket'],
            resources: backup(),
            condition: { StringLike: { 's3:prefix': ['instances/*/commits/*'] } },
          },
          publish,
        ]);
      }
    });

    it('schedules restoreTest per tested instance in its home region only and lets it write only the scratch prefix', () => {
      const tested = config.instances.filter((i) => i.snapshot.restoreTest);
      expect(tested.length, 'the default config tests at least one instance').toBeGreaterThan(0);
      expect(SCRATCH_PREFIX).toBe('_lifeboat-restore-test');
      for (const [region, template] of templates()) {
        const here = tested.filter((i) => i.homeRegion === region);
        expect(
          propertiesOf(template.Resources.RestoreTestLambdaFunction as Resource),
        ).toMatchObject({
          Handler: 'functions/restore-test/handler.handler',
          MemorySize: 512,
          Timeout: 900,
          // Big Buffers go back to the system when freed (docs/benchmarks.md, "Snapshot at scale").
          Environment: { Variables: { MALLOC_MMAP_THRESHOLD_: '131072' } },
        });
        const rules = rulesTargeting(template, 'RestoreTestLambdaFunction');
        expect(
          rules.map(([, rule]) => ({
            schedule: rule.ScheduleExpression,
            input: JSON.parse(String((rule.Targets[0] as { Input?: string }).Input)),
          })),
          region,
        ).toEqual(
          here.map((i) => ({ schedule: i.snapshot.restoreTest, input: { instanceId: i.id } })),
        );
        const replicas = new Set(here.flatMap((i) => i.replicaRegions));
        const tb = config.regions
          .filter((r) => replicas.has(r.name))
          .map((r) => regionBuckets(config, r));
        const scratch = tb.length
          ? [
              {
                sid: 'ListBackups',
                actions: ['s3:ListBucket'],
                resources: tb.map((b) => s3(b.backup)),
                condition: { StringLike: { 's3:prefix': ['instances/*'] } },
              },
              {
                sid: 'ReadBackups',
                actions: ['s3:GetObject'],
                resources: tb.map((b) => s3(b.backup, '/instances/*')),
              },
              {
                sid: 'ListScratch',
                actions: ['s3:ListBucket'],
                resources: tb.map((b) => s3(b.instanceStore)),
                condition: { StringLike: { 's3:prefix': [`${SCRATCH_PREFIX}/*`] } },
              },
              {
                sid: 'WriteScratch',
                actions: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
                resources: tb.map((b) => s3(b.instanceStore, `/${SCRATCH_PREFIX}/*`)),
              },
            ]
          : [];
        expect(statementSummary(template, 'RestoreTestRole'), region).toEqual([
          logs('RestoreTest'),
          ...scratch,
          {
            sid: 'RecordResult',
            actions: ['s3:PutObject'],
            resources: [`${att('ControlBucket.Arn')}/restore-tests/*`],
          },
          { ...publish, sid: 'PublishResults' },
        ]);
      }
    });

    it("schedules practice per practised instance in its home region only, never granting DNS changes or an instance's own objects", () => {
      const practised = config.instances.filter((i) => i.practice);
      expect(
        practised.length,
        'the default config practises at least one instance',
      ).toBeGreaterThan(0);
      for (const [region, template] of templates()) {
        const here = practised.filter((i) => i.homeRegion === region);
        const rules = rulesTargeting(template, 'PracticeLambdaFunction');
        expect(
          rules.map(([, rule]) => ({
            schedule: rule.ScheduleExpression,
            input: JSON.parse(String((rule.Targets[0] as { Input?: string }).Input)),
          })),
          region,
        ).toEqual(
          here.map((i) => ({ schedule: i.practice?.schedule, input: { instanceId: i.id } })),
        );
        const others = config.regions
          .filter((r) => r.name !== region)
          .map((r) => regionBuckets(config, r));
        const backups = config.regions
          .filter((r) => here.some((i) => i.replicaRegions.includes(r.name)))
          .map((r) => regionBuckets(config, r).backup);
        const prefixes = here.map((i) => `${i.id}--practice`);
        const work = here.length
          ? [
              {
                sid: 'ListControlBuckets',
                actions: ['s3:ListBucket'],
                resources: others.map((b) => s3(b.control)),
              },
              {
                sid: 'ReserveCapacity',
                actions: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
                resources: others.map((b) => s3(b.control, '/capacity/*')),
              },
              {
                sid: 'WriteReports',
                actions: ['s3:GetObject', 's3:PutObject'],
                resources: others.map((b) => s3(b.control, '/reports/*')),
              },
              {
                sid: 'ListBackups',
                actions: ['s3:ListBucket'],
                resources: backups.map((b) => s3(b)),
                condition: { StringLike: { 's3:prefix': ['instances/*'] } },
              },
              {
                sid: 'ReadBackups',
                actions: ['s3:GetObject'],
                resources: backups.map((b) => s3(b, '/instances/*')),
              },
              {
                sid: 'ListPracticeCopies',
                actions: ['s3:ListBucket'],
                resources: others.map((b) => s3(b.instanceStore)),
                condition: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}/*`) } },
              },
              {
                sid: 'WritePracticeCopies',
                actions: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
                resources: others.flatMap((b) =>
                  prefixes.map((p) => s3(b.instanceStore, `/${p}/*`)),
                ),
              },
              {
                sid: 'ReadDns',
                actions: ['route53:ListResourceRecordSets'],
                resources: [
                  ...new Set(here.map((i) => `arn:aws:route53:::hostedzone/${i.dns.hostedZoneId}`)),
                ],
              },
            ]
          : [];
        expect(statementSummary(template, 'PracticeRole'), region).toEqual([
          logs('Practice'),
          {
            sid: 'ReadDetectorStates',
            actions: ['s3:GetObject'],
            resources: [`${att('ControlBucket.Arn')}/detector/*`],
          },
          ...work,
          { ...publish, sid: 'PublishResults' },
        ]);
        // Never an instance's own objects, never its home region's store.
        for (const st of statementSummary(template, 'PracticeRole'))
          for (const resource of st.resources.filter((r) => r.includes('-store-')))
            expect(resource, `${region} ${st.sid}`).not.toContain(`-store-${region}`);
      }
    });

    it("gives every step longer than its function's three attempts before reconcile nudges it", () => {
      // Lambda retries an async invocation twice, 1 then 2 minutes apart: a stall limit shorter
      // than that could nudge a step while a retry of it still runs.
      const attempts = (timeout: number) => 3 * timeout + 60 + 120;
      const stepFunctions: [RecoveryRunKind, string, string][] = [
        ['recovery', 'plan', 'PlanRecovery'],
        ['recovery', 'restore', 'RestoreInstance'],
        ['recovery', 'verify', 'VerifyInstance'],
        ['recovery', 'shift', 'ShiftTraffic'],
        ...Object.keys(RECONCILE_POLICY.stallLimitSeconds.failback).map(
          (step): [RecoveryRunKind, string, string] => ['failback', step, FAILBACK_FUNCTION.id],
        ),
      ];
      for (const [region, template] of templates()) {
        for (const [kind, step, id] of stepFunctions) {
          const fn = propertiesOf(template.Resources[`${id}LambdaFunction`] as Resource);
          const limit = RECONCILE_POLICY.stallLimitSeconds[kind][step] ?? 0;
          expect(limit, `${region} ${kind} ${step}`).toBeGreaterThanOrEqual(
            attempts(fn.Timeout as number),
          );
        }
      }
    });

    it('grants verifyInstance only its run state and its bus', () => {
      for (const [region, template] of templates()) {
        expect(statementSummary(template, 'VerifyInstanceRole'), region).toEqual([
          logs('VerifyInstance'),
          runState,
          { sid: 'ListControlBuckets', actions: ['s3:ListBucket'], resources: control() },
          publish,
        ]);
      }
    });

    it('grants shiftTraffic run state and the configured records of the configured zones', () => {
      for (const [region, template] of templates()) {
        expect(statementSummary(template, 'ShiftTrafficRole'), region).toEqual([
          logs('ShiftTraffic'),
          runState,
          { sid: 'ListControlBuckets', actions: ['s3:ListBucket'], resources: control() },
          changeRecords,
          {
            sid: 'ReadInstanceRecords',
            actions: ['route53:ListResourceRecordSets'],
            resources: zones,
          },
          waitForChanges,
          publish,
        ]);
      }
    });

    it('scopes every Route 53 grant to the configured hosted zones or to change ids', () => {
      expect(zones.length).toBeGreaterThan(0);
      for (const [region, template] of templates()) {
        for (const [roleId] of ofType(template, 'AWS::IAM::Role')) {
          for (const statement of statementSummary(template, roleId)) {
            if (!statement.actions.some((a) => a.startsWith('route53:'))) continue;
            const where = `${region} ${roleId} ${statement.sid}`;
            const allowed = statement.actions.includes('route53:GetChange')
              ? ['arn:aws:route53:::change/*']
              : zones;
            if (statement.actions.includes('route53:GetChange'))
              expect(statement.actions, where).toEqual(['route53:GetChange']);
            for (const resource of statement.resources) expect(allowed, where).toContain(resource);
          }
        }
        // Only the two functions that move weights may touch Route 53 at all.
        const withDns = ofType(template, 'AWS::IAM::Role')
          .filter(([roleId]) =>
            statementSummary(template, roleId).some((s) =>
              s.actions.some((a) => a.startsWith('route53:')),
            ),
          )
          .map(([roleId]) => roleId)
          .sort();
        // The practice of an instance homed here reads its records (to show they never moved).
        const practisesHere = config.instances.some((i) => i.practice && i.homeRegion === region);
        expect(withDns, region).toEqual(
          [
            'FailbackRole',
            'PlanRecoveryRole',
            ...(practisesHere ? ['PracticeRole'] : []),
            'ShiftTrafficRole',
          ].sort(),
        );
        const practiceDns = statementSummary(template, 'PracticeRole').filter((st) =>
          st.actions.some((a) => a.startsWith('route53:')),
        );
        for (const st of practiceDns)
          expect(st.actions, `${region} PracticeRole`).toEqual(['route53:ListResourceRecordSets']);
      }
    });

    it('normalises record names the way Route 53 does for its condition key', async () => {
      const file = writeConfig((raw) => {
        const [first] = raw.instances as { dns: Record<string, unknown> }[];
        if (first)
          first.dns = { hostedZoneId: '/hostedzone/Z0OTHER', recordName: '*.API.Example.com.' };
      });
      const ctx = deployContext(file, 'us-east-1');
      const condition = await deployModule.dnsChangeCondition(ctx);
      expect(
        condition['ForAllValues:StringEquals']?.[
          'route53:ChangeResourceRecordSetsNormalizedRecordNames'
        ],
      ).toContain('\\052.api.example.com');
      const arns = (await deployModule.hostedZoneArns(ctx)).map(arnText);
      expect(arns).toContain('arn:aws:route53:::hostedzone/Z0OTHER');
    });

    it('refuses a config without instances, whose Route 53 grants would name no zone', async () => {
      const file = writeConfig((raw) => {
        raw.instances = [];
      });
      await expect(deployModule.hostedZoneArns(deployContext(file, 'us-east-1'))).rejects.toThrow(
        /lists no instances/,
      );
    });
  });

  it('runs the probe every minute for a minute of rounds when packaged', () => {
    for (const [region, template] of templates()) {
      const fn = propertiesOf(template.Resources.ProbeLambdaFunction as Resource);
      expect(fn, `${region} probe`).toMatchObject({
        Handler: 'functions/probe/handler.handler',
        Timeout: 75,
        MemorySize: 256,
        Environment: {
          Variables: expect.objectContaining({
            LIFEBOAT_PROBE_INVOCATION_SECONDS: '60',
            LIFEBOAT_REGION: region,
          }),
        },
      });
      expect(referencedId(fn.Role), `${region} probe role`).toBe('ProbeRole');
      const rules = rulesTargeting(template, 'ProbeLambdaFunction');
      expect(rules, `${region} probe rules`).toHaveLength(1);
      expect(rules[0]?.[1].ScheduleExpression).toBe('rate(1 minute)');
      expect(rules[0]?.[1].EventBusName).toBeUndefined();
      // A lost tick is not made up for: the next one probes afresh a minute later.
      const invokeConfig = ofType(template, 'AWS::Lambda::EventInvokeConfig').find(
        ([, c]) => referencedId(c.Properties?.FunctionName) === 'ProbeLambdaFunction',
      );
      expect(invokeConfig?.[1].Properties, `${region} probe async retries`).toMatchObject({
        MaximumRetryAttempts: 0,
      });
    }
  });

  it('triggers the detector on observations, alarms, AWS Health issues and a tick when packaged', () => {
    const alarmPattern = {
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: { alarmName: [{ prefix: ALARM_PREFIX }] },
    };
    // The prefix the rules filter on is the one the detector recognises.
    expect(alarmNameFor('petstore', 'us-east-1').startsWith(ALARM_PREFIX)).toBe(true);
    for (const [region, template] of templates()) {
      const fn = propertiesOf(template.Resources.DetectOutageLambdaFunction as Resource);
      expect(fn, `${region} detectOutage`).toMatchObject({
        Handler: 'functions/detect-outage/handler.handler',
        Timeout: 30,
      });
      expect(referencedId(fn.Role), `${region} detectOutage role`).toBe('DetectOutageRole');
      const triggers = rulesTargeting(template, 'DetectOutageLambdaFunction').map(([, rule]) => ({
        bus: busOf(rule),
        pattern: rule.EventPattern,
        schedule: rule.ScheduleExpression,
      }));
      expect(triggers, `${region} detector triggers`).toEqual(
        expect.arrayContaining([
          { bus: 'lifeboat', pattern: OBSERVED_PATTERN, schedule: undefined },
          // Alarms in this region, and alarms forwarded from us-east-1.
          { bus: 'default', pattern: alarmPattern, schedule: undefined },
          { bus: 'lifeboat', pattern: alarmPattern, schedule: undefined },
          {
            bus: 'default',
            pattern: {
              source: ['aws.health'],
              'detail-type': ['AWS Health Event'],
              detail: { eventTypeCategory: ['issue'] },
            },
            schedule: undefined,
          },
          { bus: 'default', pattern: undefined, schedule: 'rate(1 minute)' },
        ]),
      );
      expect(triggers, `${region} detector triggers`).toHaveLength(5);
      for (const [id, rule] of rulesTargeting(template, 'DetectOutageLambdaFunction')) {
        const target = rule.Targets[0] as RuleTarget;
        expect(
          target.RetryPolicy?.MaximumEventAgeInSeconds,
          `${region} ${id} event age`,
        ).toBeLessThanOrEqual(600);
      }
    }
  });

  it('creates a liveness check with its alarm and a readiness check per instance endpoint in us-east-1 only', () => {
    const template = expectPackaged(run);
    const pairs = endpointPairs(config);
    expect(pairs.length).toBeGreaterThan(0);
    const checks = ofType(template, 'AWS::Route53::HealthCheck');
    // The health checks' alarms; the stack's own operational alarms (RPO, runs, vantages,
    // dead letters) are checked in "notifications, alarms and the dashboard".
    const alarms = ofType(template, 'AWS::CloudWatch::Alarm').filter(
      ([, alarm]) => alarm.Properties?.Namespace === 'AWS/Route53',
    );
    expect(checks).toHaveLength(2 * pairs.length);
    expect(alarms).toHaveLength(pairs.length);
    expect(alarms.map(([, alarm]) => alarm.Properties?.AlarmName).sort()).toEqual(
      pairs.map((p) => alarmNameFor(p.instanceId, p.region)).sort(),
    );
    const interval = config.detection.intervalSeconds < 30 ? 10 : 30;
    const outputs = Object.values(template.Outputs ?? {}).map((o) => referencedId(o.Value));
    for (const pair of pairs) {
      const name = alarmNameFor(pair.instanceId, pair.region);
      const [, alarm] = alarms.find(([, a]) => a.Properties?.AlarmName === name) ?? [];
      expect(alarm?.Properties, name).toMatchObject({
        ComparisonOperator: 'LessThanThreshold',
        EvaluationPeriods: 1,
        MetricName: 'HealthCheckStatus',
        Namespace: 'AWS/Route53',
        Period: 60,
        Statistic: 'Minimum',
        Threshold: 1,
        TreatMissingData: 'breaching',
      });
      const dimensions = alarm?.Properties?.Dimensions as { Name: string; Value: unknown }[];
      expect(dimensions.map((d) => d.Name)).toEqual(['HealthCheckId']);
      const checkId = referencedId(dimensions[0]?.Value) as string;
      const check = template.Resources[checkId];
      expect(check?.Type, `${name} dimension`).toBe('AWS::Route53::HealthCheck');
      const https = pair.url.protocol === 'https:';
      expect(check?.Properties?.HealthCheckConfig, `${checkId}`).toMatchObject({
        Type: https ? 'HTTPS' : 'HTTP',
        FullyQualifiedDomainName: pair.url.hostname,
        Port: pair.url.port ? Number(pair.url.port) : https ? 443 : 80,
        ResourcePath: `${pair.url.pathname.replace(/\/+$/, '')}/health`,
        RequestInterval: interval,
        FailureThreshold: config.detection.failureThreshold,
      });
      expect(check?.Properties?.HealthCheckTags).toContainEqual({ Key: 'Name', Value: name });
      // The DNS record is tied to the readiness check (its output): the same endpoint, /ready.
      const readyId = checkId.replace(/^HealthCheck/, 'ReadyCheck');
      const ready = template.Resources[readyId];
      expect(ready?.Type, `${readyId}`).toBe('AWS::Route53::HealthCheck');
      expect(ready?.Properties?.HealthCheckConfig, `${readyId}`).toEqual({
        ...(check?.Properties?.HealthCheckConfig as Record<string, unknown>),
        ResourcePath: `${pair.url.pathname.replace(/\/+$/, '')}/ready`,
      });
      expect(outputs, `${readyId} output`).toContain(readyId);
      expect(outputs, `${checkId} is no record's check`).not.toContain(checkId);
    }

    for (const [region, other] of templates().filter(([r]) => r !== HEALTH_CHECK_REGION)) {
      expect(ofType(other, 'AWS::Route53::HealthCheck'), `${region} health checks`).toEqual([]);
      expect(
        ofType(other, 'AWS::CloudWatch::Alarm').filter(
          ([, alarm]) => alarm.Properties?.Namespace === 'AWS/Route53',
        ),
        `${region} health-check alarms`,
      ).toEqual([]);
      expect(
        Object.keys(other.Outputs ?? {}).filter(
          (k) => k.startsWith('HealthCheck') || k.startsWith('ReadyCheck'),
        ),
      ).toEqual([]);
    }
  });

  it('forwards observations and alarms to every other region and never to its own', () => {
    for (const [region, template] of templates()) expectForwarding(template, region, regions);
  });

  it(
    'splits forwarding into rules of at most five targets when there are more regions',
    () => {
      const file = manyRegionsConfig();
      const many = [...regions, ...EXTRA_REGIONS.map((r) => r.name)];
      const packaged = packageService('--param', `config=${relative(ROOT, file)}`);
      const template = expectPackaged(packaged);
      expectForwarding(template, HEALTH_CHECK_REGION, many);
      expect(forwardingRules(template)).toHaveLength(4);
      const lint = cfnLint(join(packaged.dir, TEMPLATE));
      expect(lint.status, `cfn-lint reported findings:\n${output(lint)}`).toBe(0);
    },
    PACKAGE_TIMEOUT_MS + 60_000,
  );

  it('uses 10-second health checks when the probe interval is under 30 seconds', async () => {
    const file = writeConfig((raw) => {
      raw.detection = { intervalSeconds: 10, failureThreshold: 2 };
    });
    const resources = await deployModule.detectionResources(deployContext(file, 'us-east-1'));
    const checks = ofType(resources, 'AWS::Route53::HealthCheck');
    // Liveness and readiness, one each per endpoint.
    expect(checks).toHaveLength(2 * endpointPairs(config).length);
    for (const [, check] of checks) {
      expect(check.Properties?.HealthCheckConfig).toMatchObject({
        RequestInterval: 10,
        FailureThreshold: 2,
      });
    }
    const elsewhere = await deployModule.detectionResources(deployContext(file, 'eu-west-1'));
    expect(ofType(elsewhere, 'AWS::Route53::HealthCheck')).toEqual([]);
  });

  it('refuses a failure threshold Route 53 health checks cannot take', async () => {
    const file = writeConfig((raw) => {
      raw.detection = { failureThreshold: 11 };
    });
    await expect(deployModule.detectionResources(deployContext(file, 'us-east-1'))).rejects.toThrow(
      /detection\.failureThreshold: must be at most 10/,
    );
  });

  it('schedules the snapshot function at the shortest rate in the config when packaged', () => {
    const template = expectPackaged(run);
    const rules = ofType(template, 'AWS::Events::Rule').filter(([, rule]) =>
      asArray(rule.Properties?.Targets as { Arn: unknown }[]).some(
        (target) => referencedId(target.Arn) === 'SnapshotLambdaFunction',
      ),
    );
    expect(rules).toHaveLength(1);
    const expression = rules[0]?.[1].Properties?.ScheduleExpression as string;
    expect(rateToSeconds(expression)).toBe(shortestScheduleSeconds());
    // EventBridge rejects "rate(1 minutes)" and "rate(5 minute)".
    expect(expression).toMatch(
      /^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$/,
    );
    console.log(`snapshot schedule: ${expression}`);
  });

  it("ticks reconcile at its policy's sweep period without retries when packaged", () => {
    for (const [region, template] of templates()) {
      const rules = ofType(template, 'AWS::Events::Rule').filter(([, rule]) =>
        asArray(rule.Properties?.Targets as { Arn: unknown }[]).some(
          (target) => referencedId(target.Arn) === 'ReconcileLambdaFunction',
        ),
      );
      expect(rules, region).toHaveLength(1);
      const expression = rules[0]?.[1].Properties?.ScheduleExpression as string;
      expect(rateToSeconds(expression), region).toBe(RECONCILE_POLICY.sweepEverySeconds);
      const invokeConfig = ofType(template, 'AWS::Lambda::EventInvokeConfig').find(
        ([, c]) => referencedId(c.Properties?.FunctionName) === 'ReconcileLambdaFunction',
      );
      expect(invokeConfig?.[1].Properties, region).toMatchObject({ MaximumRetryAttempts: 0 });
    }
  });

  it('packages each function with the config in a zip under 1 MiB when packaged', () => {
    const template = expectPackaged(run);
    const functions = ofType(template, 'AWS::Lambda::Function');
    const zips = readdirSync(run.dir).filter((name) => name.endsWith('.zip'));
    expect(zips.length).toBe(functions.length);
    for (const zip of zips) {
      const size = statSync(join(run.dir, zip)).size;
      console.log(`${zip}: ${(size / 1024).toFixed(1)} KiB`);
      expect(size, `${zip} is ${size} bytes`).toBeLessThan(MIB);
    }
    for (const [id, fn] of functions) {
      const env = (propertiesOf(fn).Environment as { Variables: Record<string, string> }).Variables;
      expect(env.LIFEBOAT_CONFIG, `${id} LIFEBOAT_CONFIG`).toBe('lifeboat.config.yml');
      expect(env.POWERTOOLS_SERVICE_NAME).toBe('lifeboat');
      const key = (propertiesOf(fn).Code as { S3Key: string }).S3Key;
      const zip = key.slice(key.lastIndexOf('/') + 1);
      const entries = zipEntries(join(run.dir, zip));
      expect(entries, `${zip} entries`).toContain(env.LIFEBOAT_CONFIG);
      expect(
        entries.some((entry) => entry.endsWith('.cjs')),
        `${zip} has no .cjs handler`,
      ).toBe(true);
    }
  });

  it("bundles zod's English messages and no other locale when packaged", () => {
    expectPackaged(run);
    for (const zip of readdirSync(run.dir).filter((name) => name.endsWith('.zip'))) {
      const code = zipContents(join(run.dir, zip))
        .filter((entry) => entry.name.endsWith('.cjs'))
        .map((entry) => entry.read().toString())
        .join('\n');
      expect(code.includes('Invalid input'), `${zip}: English messages`).toBe(true);
      // deploy/esbuild-plugins.cjs keeps z.locales to `en`; German's word for a credit-card number stands for the other 40-odd (ASCII: esbuild escapes the rest).
      expect(code.includes('Kreditkartennummer'), `${zip}: other locales`).toBe(false);
    }
  });

  it(
    'creates the backup bucket with Object Lock when --param objectLock=true',
    () => {
      const locked = packageService('--param', 'objectLock=true');
      const template = expectPackaged(locked);
      expect(template.Resources.BackupBucket?.Properties?.ObjectLockEnabled).toBe(true);
      // Retention is per object (the instance's snapshot.objectLock), never a bucket default.
      expect(template.Resources.BackupBucket?.Properties?.ObjectLockConfiguration).toBeUndefined();
      expect(expectPackaged(run).Resources.BackupBucket?.Properties?.ObjectLockEnabled).toBe(false);
      const lint = cfnLint(join(locked.dir, TEMPLATE));
      expect(lint.status, `cfn-lint reported findings:\n${output(lint)}`).toBe(0);
    },
    PACKAGE_TIMEOUT_MS + 60_000,
  );

  it(
    'fails with one clear error when the deploy region is not in the config',
    () => {
      const failed = packageService('--region', 'ap-southeast-4');
      expect(failed.result.status, output(failed.result)).not.toBe(0);
      expect(output(failed.result)).toContain('region "ap-southeast-4" is not in');
    },
    PACKAGE_TIMEOUT_MS,
  );

  describe('notifications, alarms and the dashboard', () => {
    const stage = 'dev';
    const alarmsOf = (template: Template) =>
      ofType(template, 'AWS::CloudWatch::Alarm').filter(
        ([, alarm]) => !String(propertiesOf(alarm).AlarmName).startsWith(ALARM_PREFIX),
      );
    const dims = (alarm: Resource) =>
      Object.fromEntries(
        (propertiesOf(alarm).Dimensions as { Name: string; Value: unknown }[]).map((d) => [
          d.Name,
          d.Value,
        ]),
      );

    it('creates one topic encrypted with its own key in every region when packaged', () => {
      for (const [region, template] of templates()) {
        const topics = ofType(template, 'AWS::SNS::Topic');
        expect(
          topics.map(([id]) => id),
          region,
        ).toEqual(['NotificationTopic']);
        const topic = propertiesOf(topics[0]?.[1] as Resource);
        expect(topic.TopicName, region).toBe(`${config.naming.bucketPrefix}-notifications`);
        expect(referencedId(topic.KmsMasterKeyId), region).toBe('NotificationKey');
        const key = template.Resources.NotificationKey as Resource;
        expect(key.Type).toBe('AWS::KMS::Key');
        expect(propertiesOf(key).EnableKeyRotation).toBe(true);
        // CloudWatch publishes the alarms to the encrypted topic: the key lets it take data keys.
        const keyStatements = (
          propertiesOf(key).KeyPolicy as { Statement: (PolicyStatement & { Principal: unknown })[] }
        ).Statement;
        expect(keyStatements).toContainEqual(
          expect.objectContaining({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        );
        // The topic trusts CloudWatch for this stack's alarms only.
        const policy = ofType(template, 'AWS::SNS::TopicPolicy')[0]?.[1] as Resource;
        const [trust] = (propertiesOf(policy).PolicyDocument as { Statement: PolicyStatement[] })
          .Statement;
        expect(arnText(trust?.Condition?.ArnLike?.['aws:SourceArn'])).toBe(
          `arn:aws:cloudwatch:${region}:\${AWS::AccountId}:alarm:lifeboat-${stage}-*`,
        );
        expect(template.Outputs?.NotificationTopicArn?.Value).toEqual({ Ref: 'NotificationTopic' });
      }
    });

    it('creates an RPO-breach alarm for every instance at twice its schedule when packaged', () => {
      for (const [region, template] of templates()) {
        const rpo = alarmsOf(template).filter(
          ([, a]) => propertiesOf(a).MetricName === 'NewestSnapshotAge',
        );
        expect(rpo.map(([, a]) => dims(a).instance).sort(), region).toEqual(
          config.instances.map((i) => i.id).sort(),
        );
        for (const [id, a] of rpo) {
          const instance = config.instances.find((i) => i.id === dims(a).instance);
          const p = propertiesOf(a);
          expect(p.Threshold, id).toBe(2 * rateToSeconds(instance?.snapshot.schedule ?? ''));
          expect(p.ComparisonOperator, id).toBe('GreaterThanThreshold');
          expect(p.Namespace, id).toBe('lifeboat');
          // The dimensions Powertools writes: service, then the instance and this region.
          expect(dims(a), id).toEqual({ service: 'lifeboat', instance: instance?.id, region });
          // No measure (snapshots and the sweeper stopped) counts as a breach.
          expect(p.TreatMissingData, id).toBe('breaching');
          expect(p.AlarmName, id).toBe(`lifeboat-${stage}-rpo-${instance?.id}`);
        }
      }
    });

    it('wires the failed, stalled, vantage-silent and dead-letter alarms to the topic when packaged', () => {
      for (const [region, template] of templates()) {
        const alarms = alarmsOf(template);
        const byMetric = (metric: string) =>
          alarms.filter(([, a]) => propertiesOf(a).MetricName === metric).map(([, a]) => a);
        expect(byMetric('RunsFailed').map(dims), region).toEqual([{ service: 'lifeboat', region }]);
        expect(byMetric('RunsStalled').map(dims), region).toEqual([
          { service: 'lifeboat', region },
        ]);
        expect(
          byMetric('ObservationsReceived')
            .map((a) => dims(a).vantage)
            .sort(),
          region,
        ).toEqual([...regions].sort());
        for (const a of byMetric('ObservationsReceived')) {
          expect(dims(a).region).toBe(region);
          expect(propertiesOf(a).TreatMissingData).toBe('breaching');
        }
        expect(byMetric('ApproximateNumberOfMessagesVisible').map(dims)).toEqual([
          { QueueName: { 'Fn::GetAtt': ['NotifyDeadLetterQueue', 'QueueName'] } },
        ]);
        for (const [id, a] of alarms) {
          expect(propertiesOf(a).AlarmActions, `${region} ${id}`).toEqual([
            { Ref: 'NotificationTopic' },
          ]);
          // Never the detector's own alarms: those feed outage detection.
          expect(String(propertiesOf(a).AlarmName)).toMatch(new RegExp(`^lifeboat-${stage}-`));
        }
        expect(alarms.length, region).toBe(config.instances.length + 3 + regions.length);
      }
    });

    it('sends the notified events to notify with a dead-letter queue for the rule and the function', () => {
      for (const [region, template] of templates()) {
        const rules = rulesTargeting(template, 'NotifyLambdaFunction');
        expect(rules.length, region).toBe(1);
        const [, rule] = rules[0] as [string, RuleProperties];
        expect(rule.Name).toBe(`lifeboat-${stage}-notify`);
        expect(busOf(rule)).toBe('lifeboat');
        expect(rule.EventPattern).toEqual({
          source: [EVENT_SOURCE],
          'detail-type': [...NOTIFIED_EVENTS],
        });
        const [target] = rule.Targets as (RuleTarget & { DeadLetterConfig?: { Arn: unknown } })[];
        expect(referencedId(target?.DeadLetterConfig?.Arn), region).toBe('NotifyDeadLetterQueue');
        const queue = propertiesOf(template.Resources.NotifyDeadLetterQueue as Resource);
        expect(queue.SqsManagedSseEnabled, region).toBe(true);
        const invoke = ofType(template, 'AWS::Lambda::EventInvokeConfig').find(
          ([, c]) => referencedId(propertiesOf(c).FunctionName) === 'NotifyLambdaFunction',
        )?.[1] as Resource;
        expect(
          referencedId(
            (propertiesOf(invoke).DestinationConfig as { OnFailure: { Destination: unknown } })
              .OnFailure.Destination,
          ),
        ).toBe('NotifyDeadLetterQueue');
        // EventBridge may write this rule's dead letters, and nothing else may.
        const queuePolicy = ofType(template, 'AWS::SQS::QueuePolicy')[0]?.[1] as Resource;
        const [allow] = (
          propertiesOf(queuePolicy).PolicyDocument as { Statement: PolicyStatement[] }
        ).Statement;
        expect(arnText(allow?.Condition?.ArnEquals?.['aws:SourceArn'])).toBe(
          `arn:aws:events:${region}:\${AWS::AccountId}:rule/${config.naming.eventBusName}/lifeboat-${stage}-notify`,
        );
        const fn = propertiesOf(template.Resources.NotifyLambdaFunction as Resource);
        expect(
          (fn.Environment as { Variables: Record<string, unknown> }).Variables
            .LIFEBOAT_NOTIFICATION_TOPIC,
        ).toEqual({ Ref: 'NotificationTopic' });
      }
    });

    it('lets notify only log, publish to the topic, use its key and write its dead letters', () => {
      for (const [region, template] of templates()) {
        expect(statementSummary(template, 'NotifyRole'), region).toEqual([
          {
            sid: 'WriteOwnLogs',
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            resources: [`\${NotifyLogGroup.Arn}`],
          },
          {
            sid: 'PublishNotifications',
            actions: ['sns:Publish'],
            resources: [`\${NotificationTopic}`],
          },
          {
            sid: 'EncryptNotifications',
            actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
            resources: [`\${NotificationKey.Arn}`],
          },
          {
            sid: 'DeadLetters',
            actions: ['sqs:SendMessage'],
            resources: [`\${NotifyDeadLetterQueue.Arn}`],
          },
        ]);
      }
    });

    it('creates a dashboard of the snapshot ages, runs, RTO/RPO, steps, detection and probes', () => {
      for (const [region, template] of templates()) {
        const dashboards = ofType(template, 'AWS::CloudWatch::Dashboard');
        expect(dashboards.length, region).toBe(1);
        const body = propertiesOf(dashboards[0]?.[1] as Resource).DashboardBody as {
          'Fn::Sub': string;
        };
        const text = body['Fn::Sub'];
        for (const metric of [
          'NewestSnapshotAge',
          'SnapshotDuration',
          'SnapshotBytesUploaded',
          'RunsStarted',
          'RunsFailed',
          'RunsStalled',
          'RTO',
          'RPO',
          'StepDuration',
          'DetectionTime',
          'ProbeLatency',
          'ProbeFailures',
          'ObservationsReceived',
        ]) {
          expect(text, `${region} dashboard ${metric}`).toContain(metric);
        }
        const widgets = (
          JSON.parse(text) as { widgets: { type: string; properties: { alarms?: string[] } }[] }
        ).widgets;
        const alarmWidget = widgets.find((w) => w.type === 'alarm');
        expect(alarmWidget?.properties.alarms?.length).toBe(alarmsOf(template).length);
      }
    });

    it("subscribes each of the config's endpoints to the topic, and only those", async () => {
      const file = writeConfig((raw) => {
        raw.notifications = {
          subscriptions: [
            { protocol: 'email', endpoint: 'oncall@example.com' },
            { protocol: 'https', endpoint: 'https://hooks.example.com/lifeboat' },
            { protocol: 'sqs', endpoint: 'arn:aws:sqs:us-east-1:123456789012:alerts' },
            {
              protocol: 'lambda',
              endpoint: 'arn:aws:lambda:us-east-1:123456789012:function:pager',
            },
          ],
        };
      });
      const built = await (
        deployModule as unknown as { notificationResources(ctx: DeployContext): Promise<Template> }
      ).notificationResources(deployContext(file, 'eu-west-1'));
      const subscriptions = ofType(built, 'AWS::SNS::Subscription').map(([, s]) => propertiesOf(s));
      expect(subscriptions).toEqual([
        {
          TopicArn: { Ref: 'NotificationTopic' },
          Protocol: 'email',
          Endpoint: 'oncall@example.com',
        },
        {
          TopicArn: { Ref: 'NotificationTopic' },
          Protocol: 'https',
          Endpoint: 'https://hooks.example.com/lifeboat',
        },
        {
          TopicArn: { Ref: 'NotificationTopic' },
          Protocol: 'sqs',
          Endpoint: 'arn:aws:sqs:us-east-1:123456789012:alerts',
        },
        {
          TopicArn: { Ref: 'NotificationTopic' },
          Protocol: 'lambda',
          Endpoint: 'arn:aws:lambda:us-east-1:123456789012:function:pager',
        },
      ]);
      expect(ofType(expectPackaged(run), 'AWS::SNS::Subscription')).toEqual([]);
    });
  });

  describe('with an API Gateway instance in the config', () => {
    let apigw: PackageRun;
    beforeAll(() => {
      apigw = packageService('--param', 'config=test/infra/configs/apigateway.config.yml');
    }, PACKAGE_TIMEOUT_MS + 10_000);

    it('creates the secrets key and its alias in every stack, whatever the config lists', () => {
      for (const template of [expectPackaged(run), expectPackaged(apigw)]) {
        // Besides the notification topic's own key (see "notifications, alarms and the dashboard").
        expect(
          ofType(template, 'AWS::KMS::Key')
            .map(([id]) => id)
            .filter((id) => id !== 'NotificationKey'),
        ).toEqual(['SecretsKey']);
        expect(propertiesOf(template.Resources.SecretsKey as Resource).EnableKeyRotation).toBe(
          true,
        );
        expect(
          ofType(template, 'AWS::KMS::Alias').map(([, r]) => propertiesOf(r).AliasName),
        ).toHaveLength(1);
      }
      expect(
        propertiesOf(expectPackaged(apigw).Resources.SecretsKeyAlias as Resource).AliasName,
      ).toBe('alias/lifeboat-apigw-secrets');
    });

    it('gives no role an API Gateway or KMS grant when the config has no apigateway instance', () => {
      const template = expectPackaged(run);
      for (const [id] of ofType(template, 'AWS::IAM::Role')) {
        // The notify role's data keys come from the notification topic's own key (checked in
        // "notifications, alarms and the dashboard"), not from the secrets key.
        const actions = rolePolicyStatements(template, id)
          .filter((s) => !(id === 'NotifyRole' && referencedId(s.Resource) === 'NotificationKey'))
          .flatMap((s) => asArray(s.Action));
        expect(
          actions.filter((a) => /^(apigateway|kms):/.test(a)),
          id,
        ).toEqual([]);
      }
    });

    it('grants restoring roles API Gateway writes and reading roles only reads, KMS by alias, least privilege', () => {
      const template = expectPackaged(apigw);
      expectLeastPrivilege(template, 'us-east-1');
      const actionsOf = (role: string) =>
        rolePolicyStatements(template, role).flatMap((s) => asArray(s.Action));
      expect(actionsOf('RestoreInstanceRole')).toEqual(
        expect.arrayContaining(['apigateway:POST', 'apigateway:DELETE', 'kms:Decrypt']),
      );
      expect(actionsOf('FailbackRole')).toEqual(
        expect.arrayContaining(['apigateway:POST', 'kms:GenerateDataKey']),
      );
      expect(actionsOf('SnapshotRole')).toEqual(
        expect.arrayContaining(['apigateway:GET', 'kms:GenerateDataKey', 'kms:Encrypt']),
      );
      expect(actionsOf('SnapshotRole')).not.toContain('apigateway:POST');
      for (const role of ['VerifyInstanceRole', 'PlanRecoveryRole', 'ShiftTrafficRole']) {
        expect(
          actionsOf(role).filter((a) => a.startsWith('apigateway:')),
          role,
        ).toEqual(['apigateway:GET']);
      }
      for (const statement of rolePolicyStatements(template, 'RestoreInstanceRole')) {
        const actions = asArray(statement.Action);
        if (actions.some((a) => a.startsWith('kms:'))) {
          expect(statement.Condition).toEqual({
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/lifeboat-apigw-secrets' },
          });
        }
        if (actions.some((a) => a.startsWith('apigateway:'))) {
          for (const arn of asArray(statement.Resource).map(arnText))
            expect(arn).toMatch(
              /:apigateway:[a-z0-9-]+::\/(restapis|usageplans|apikeys|domainnames|tags)/,
            );
        }
      }
      const lint = cfnLint(join(apigw.dir, TEMPLATE));
      expect(lint.status, `cfn-lint:\n${lint.stdout}${lint.stderr}`).toBe(0);
    });
  });
});
