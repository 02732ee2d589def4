import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config/load.ts';
import { rateToSeconds } from '../../shared/config/schema.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG_FILE = join(ROOT, 'lifeboat.config.yml');
const TEMPLATE = 'cloudformation-template-update-stack.json';
const MIB = 1024 * 1024;
/** osls with serverless-esbuild takes a few seconds here; two busy cores can stretch that a lot. */
const PACKAGE_TIMEOUT_MS = 240_000;

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
}

interface Template {
  Resources: Record<string, Resource>;
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
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
  // The assertions below are about the repository's default config and credentials-free runs.
  for (const name of ['LIFEBOAT_CONFIG', 'AWS_PROFILE', 'AWS_SESSION_TOKEN']) delete env[name];
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

function cfnLint(file: string): SpawnSyncReturns<string> {
  return spawnSync('cfn-lint', [file], { encoding: 'utf8', timeout: 120_000 });
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
function zipEntries(file: string): string[] {
  const zip = readFileSync(file);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error(`${file} is not a zip`);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i += 1) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    names.push(zip.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

/** The EventBridge form of the config's shortest snapshot schedule. */
function shortestScheduleSeconds(): number {
  const config = loadConfig(CONFIG_FILE);
  const schedules = config.instances.map((instance) => instance.snapshot.schedule);
  return Math.min(...(schedules.length > 0 ? schedules : ['rate(1 day)']).map(rateToSeconds));
}

describe('serverless package', () => {
  let run: PackageRun;

  beforeAll(() => {
    run = packageService();
  }, PACKAGE_TIMEOUT_MS + 10_000);

  afterAll(() => {
    for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('produces a template cfn-lint accepts when packaged offline', () => {
    expectPackaged(run);
    const lint = cfnLint(join(run.dir, TEMPLATE));
    expect(lint.status, `cfn-lint reported findings:\n${output(lint)}`).toBe(0);
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
    const template = expectPackaged(run);
    const roles = ofType(template, 'AWS::IAM::Role');
    expect(roles.length).toBeGreaterThan(0);
    expect(ofType(template, 'AWS::IAM::Policy')).toEqual([]);
    expect(ofType(template, 'AWS::IAM::ManagedPolicy')).toEqual([]);
    for (const [id, role] of roles) {
      // AWS managed policies (AWSLambdaBasicExecutionRole and friends) grant on Resource "*".
      expect(role.Properties?.ManagedPolicyArns ?? [], `${id} managed policies`).toEqual([]);
      const policies = (role.Properties?.Policies ?? []) as {
        PolicyDocument: { Statement: unknown };
      }[];
      for (const statement of policies.flatMap((p) =>
        asArray(p.PolicyDocument.Statement as PolicyStatement[]),
      )) {
        const where = `${id} ${statement.Sid ?? JSON.stringify(statement.Action)}`;
        expect(statement.NotAction, `${where} uses NotAction`).toBeUndefined();
        expect(statement.NotResource, `${where} uses NotResource`).toBeUndefined();
        const actions = asArray(statement.Action);
        expect(actions.length, `${where} names no action`).toBeGreaterThan(0);
        for (const action of actions) {
          expect(action, `${where}: wildcard action`).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
        }
        const resources = asArray(statement.Resource);
        expect(resources.length, `${where} names no resource`).toBeGreaterThan(0);
        for (const resource of resources) expect(resource, `${where}: Resource "*"`).not.toBe('*');
      }
    }

    const functions = ofType(template, 'AWS::Lambda::Function');
    expect(functions.map(([id]) => id)).toContain('SnapshotLambdaFunction');
    const roleOf = functions.map(([id, fn]) => [id, referencedId(fn.Properties?.Role)] as const);
    for (const [id, roleId] of roleOf) {
      expect(roleId, `${id} role`).toBeDefined();
      expect(roleId, `${id} uses the shared default role`).not.toBe('IamRoleLambdaExecution');
    }
    expect(new Set(roleOf.map(([, roleId]) => roleId)).size, 'functions share a role').toBe(
      roleOf.length,
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
});
