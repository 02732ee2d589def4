import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import {
  buildDetectOutageHandler,
  detectorDepsFor,
} from '../../functions/detect-outage/handler.ts';
import { buildFailbackHandler } from '../../functions/failback/handler.ts';
import { buildPlanRecoveryHandler } from '../../functions/plan-recovery/handler.ts';
import { buildProbeHandler, probeDepsFor } from '../../functions/probe/handler.ts';
import { buildSnapshotHandler, snapshotDepsFor } from '../../functions/snapshot/handler.ts';
import { EventPump } from '../../local/event-pump.ts';
import { eventBus, recoveryDeps } from '../../shared/composition.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { LifeboatConfig } from '../../shared/config/schema.ts';
import type { RecoveryDeps } from '../../shared/domain/recovery/run-store.ts';
import { logger } from '../../shared/observability.ts';
import { buildStepHandler } from '../../shared/runtime/recovery-handler.ts';
import {
  createRecoveryWorld,
  HERE,
  outageEvent,
  type RecoveryWorld,
} from '../worlds/moto-recovery.ts';

/**
 * Credentials shaped like the temporary ones Lambda hands a function (an ASIA key id, a
 * 40-character secret, a session token), but recognisable wherever they turn up. Set before any
 * module reads the environment: the logger reads its level when it is built, at import.
 */
const CANARY = vi.hoisted(() => {
  const credentials = {
    AWS_ACCESS_KEY_ID: 'ASIACANARYLIFEBOAT01',
    AWS_SECRET_ACCESS_KEY: 'cAnArY/LifeboatSecret+0123456789abcdEFGH',
    AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjCanarySessionTokenLifeboat0123456789',
  };
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  // Operators turn this on when they debug; the events must not carry secrets either.
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
  delete process.env.AWS_PROFILE;
  return credentials;
});

// The local world swaps in its own fake credentials whenever it points the SDK at moto; here it
// swaps in the canaries instead, so every client in this file signs with them.
vi.mock('../../bin/commands/local.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../bin/commands/local.ts')>();
  return {
    ...actual,
    LOCAL_CREDENTIALS: { ...CANARY, AWS_REGION: 'us-east-1' },
    useLocalEndpoint: (endpoint: string) => {
      Object.assign(process.env, CANARY, { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: endpoint });
    },
  };
});

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const context = { functionName: 'no-secrets', awsRequestId: 'no-secrets-test' } as Context;

/** One thing in the captured output that looks like a credential or a signed request. */
interface Leak {
  rule: string;
  excerpt: string;
}

const LEAK_RULES: readonly [string, RegExp][] = [
  ['access key id canary', new RegExp(CANARY.AWS_ACCESS_KEY_ID)],
  ['secret key canary', new RegExp(CANARY.AWS_SECRET_ACCESS_KEY.replace(/[/+]/g, '\\$&'))],
  ['session token canary', new RegExp(CANARY.AWS_SESSION_TOKEN)],
  ['access key id', /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/],
  ['Authorization header', /authorization["']?\s*[:=]/i],
  ['SigV4 credential scope', /credential=/i],
  ['SigV4 signature', /x-amz-signature|\bsignature=[0-9a-f]{16}/i],
  ['session token header', /x-amz-security-token/i],
];

/**
 * A secret access key: 40 base64 characters on their own. Hex digests (SHA-1 ids in AWS Health
 * events) are 40 characters too, so a match must mix upper case, lower case and digits.
 */
const SECRET_SHAPE = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/g;

function findLeaks(text: string): Leak[] {
  const leaks: Leak[] = [];
  const excerptAt = (index: number) => text.slice(Math.max(0, index - 60), index + 100);
  for (const [rule, pattern] of LEAK_RULES) {
    const match = pattern.exec(text);
    if (match) leaks.push({ rule, excerpt: excerptAt(match.index) });
  }
  for (const match of text.matchAll(SECRET_SHAPE)) {
    const [candidate] = match;
    if (/[A-Z]/.test(candidate) && /[a-z]/.test(candidate) && /[0-9]/.test(candidate))
      leaks.push({ rule: '40-character secret', excerpt: excerptAt(match.index) });
  }
  return leaks;
}

/**
 * What the Lambda Node.js runtime writes when an invocation fails: the error with its own
 * enumerable properties (where the SDK puts the fields of a service's error response), applied
 * to nested errors too, and the stack as lines. Re-stated from the runtime interface client,
 * which is not something a test here can run.
 */
function asTheLambdaRuntimeLogs(error: unknown): string {
  return `ERROR\tInvoke Error \t${JSON.stringify(error, (_key, value: unknown) =>
    value instanceof Error
      ? {
          errorType: value.name,
          errorMessage: value.message,
          ...value,
          stack: value.stack?.split('\n'),
        }
      : value,
  )}\n`;
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir'] as const;

/**
 * Everything the code under test writes: raw writes to stdout and stderr (Powertools' own
 * Console) and the global console (which the test runner reroutes past process.stdout).
 */
async function captureOutput(run: () => Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const restore: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    stream.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = original;
    });
  }
  for (const method of CONSOLE_METHODS) {
    const original = console[method];
    console[method] = (...args: unknown[]) => {
      chunks.push(`${format(...args)}\n`);
    };
    restore.push(() => {
      console[method] = original;
    });
  }
  try {
    await run();
  } finally {
    for (const undo of restore) undo();
  }
  return chunks.join('');
}

/** Invokes a handler as Lambda would, logging a failure the way the runtime does. */
async function invoke(
  handler: (event: unknown, context: Context) => Promise<unknown>,
  event: unknown,
): Promise<{ failed: boolean }> {
  try {
    await handler(event, context);
    return { failed: false };
  } catch (error) {
    process.stdout.write(asTheLambdaRuntimeLogs(error));
    return { failed: true };
  }
}

function sampleEvent(name: string): unknown {
  return JSON.parse(readFileSync(join(ROOT, 'events', name), 'utf8'));
}

/** A local endpoint that rejects every signature, and the access key ids it was sent. */
interface RejectingEndpoint {
  url: string;
  server: Server;
  keyIds: Set<string>;
}

/**
 * An endpoint that answers every request the way S3 answers a bad signature: 403
 * SignatureDoesNotMatch, with the caller's access key id, the signature and the canonical
 * request (session token included) in the error body. The SDK copies those fields onto the
 * error it throws, which is how credentials end up in logs.
 */
async function startSignatureRejectingEndpoint(): Promise<RejectingEndpoint> {
  const keyIds = new Set<string>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    const authorization = request.headers.authorization ?? '';
    const keyId = /Credential=([^/]+)\//.exec(authorization)?.[1] ?? '';
    keyIds.add(keyId);
    const signature = /Signature=([0-9a-f]+)/.exec(authorization)?.[1] ?? '';
    const token = String(request.headers['x-amz-security-token'] ?? '');
    const message =
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.';
    if (request.headers['x-amz-target']) {
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({ __type: 'InvalidSignatureException', message, AccessKeyId: keyId }),
      );
      return;
    }
    response.writeHead(403, { 'content-type': 'application/xml', 'x-amz-request-id': 'CANARY' });
    response.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>${message}</Message><AWSAccessKeyId>${keyId}</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20261125T060000Z\n20261125/us-east-1/s3/aws4_request</StringToSign><SignatureProvided>${signature}</SignatureProvided><CanonicalRequest>${request.method}\n${request.url}\n\nhost:${request.headers.host}\nx-amz-security-token:${token}\n</CanonicalRequest><RequestId>CANARY</RequestId></Error>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}`, server, keyIds };
}

/** The same world with every region's AWS endpoint replaced. */
function withEndpoint(config: LifeboatConfig, endpointUrl: string): LifeboatConfig {
  const raw = JSON.parse(JSON.stringify(config));
  for (const region of raw.regions) region.endpointUrl = endpointUrl;
  return parseConfig(raw, 'signature-rejecting world');
}

/** Runs the CLI in its own process, with the canaries and nothing else from this shell's AWS. */
async function cli(args: string[], endpoint: string): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...CANARY,
    AWS_ENDPOINT_URL: endpoint,
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  };
  delete env.AWS_PROFILE;
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bin/lifeboat.ts', ...args],
      { cwd: ROOT, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    );
    return `${stdout}${stderr}`;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: number };
    return `${failed.stdout ?? ''}${failed.stderr ?? ''}\n(exit ${failed.code})`;
  }
}

let rw: RecoveryWorld;
let rejecting: RejectingEndpoint;

beforeAll(async () => {
  rw = await createRecoveryWorld({ instances: ['petstore'] });
  rejecting = await startSignatureRejectingEndpoint();
}, 120_000);

afterAll(async () => {
  await rw?.close();
  await new Promise((resolve) => rejecting?.server.close(resolve));
});

describe('the leak check', () => {
  it('flags credentials planted in a log line, a console call and a raw write', async () => {
    const planted = await captureOutput(async () => {
      logger.info('planted', { secret: process.env.AWS_SECRET_ACCESS_KEY });
      console.error({ token: process.env.AWS_SESSION_TOKEN });
      process.stderr.write(`key ${process.env.AWS_ACCESS_KEY_ID}\n`);
    });

    const rules = findLeaks(planted).map((leak) => leak.rule);
    expect(rules).toEqual(
      expect.arrayContaining([
        'secret key canary',
        '40-character secret',
        'session token canary',
        'access key id canary',
        'access key id',
      ]),
    );
  });

  it('flags the raw SDK error of a rejected signature as the Lambda runtime would log it', async () => {
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: rejecting.url,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    const text = await captureOutput(async () => {
      await invoke(() => s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' })), {});
    });

    expect(text).toContain('SignatureDoesNotMatch');
    expect(findLeaks(text).map((leak) => leak.rule)).toEqual(
      expect.arrayContaining(['access key id canary', 'session token canary']),
    );
  });

  it('ignores a SHA-1 digest, which is 40 characters but no secret', () => {
    expect(findLeaks('"communicationId": "01b0993207d81a09dcd552ebd1e633e36cf1f09a-1"')).toEqual(
      [],
    );
  });
});

describe('logs at DEBUG, with credentials in the environment', () => {
  it('hold no credential when snapshot, probe and detectOutage run against moto', async () => {
    const { config } = rw;
    const results: Record<string, { failed: boolean }> = {};
    const text = await captureOutput(async () => {
      const snapshot = buildSnapshotHandler(() =>
        snapshotDepsFor(config, { LIFEBOAT_REGION: 'us-east-1' }),
      );
      results.snapshot = await invoke(snapshot, sampleEvent('snapshot-request.json'));
      const probe = buildProbeHandler(() =>
        probeDepsFor(config, { LIFEBOAT_REGION: HERE, LIFEBOAT_PROBE_INVOCATION_SECONDS: '1' }),
      );
      results.probe = await invoke(probe, sampleEvent('schedule.json'));
      const detect = buildDetectOutageHandler(() =>
        detectorDepsFor(config, { LIFEBOAT_REGION: HERE }),
      );
      for (const name of [
        'health-observed.json',
        'alarm-state-alarm.json',
        'alarm-state-ok.json',
        'aws-health-issue.json',
        'schedule.json',
      ])
        results[name] = await invoke(detect, sampleEvent(name));
    });

    expect(results).toEqual({
      snapshot: { failed: false },
      probe: { failed: false },
      'health-observed.json': { failed: false },
      'alarm-state-alarm.json': { failed: false },
      'alarm-state-ok.json': { failed: false },
      'aws-health-issue.json': { failed: false },
      'schedule.json': { failed: false },
    });
    // The capture saw the functions' own lines and the events logged at DEBUG.
    expect(text).toContain('snapshot committed');
    expect(text).toContain('Lambda invocation event');
    expect(findLeaks(text)).toEqual([]);
  });

  it('hold no credential through a recovery and a failback driven by EventBridge', async () => {
    const { config, world } = rw;
    const getDeps = (): RecoveryDeps => rw.deps;
    const pump = new EventPump(world.endpoint, `${config.naming.bucketPrefix}-leaks`);
    const bus = config.naming.eventBusName;
    const plan = buildPlanRecoveryHandler(getDeps);
    await pump.subscribe({
      name: 'plan',
      region: HERE,
      bus,
      pattern: { source: ['lifeboat'], 'detail-type': ['Region Outage Confirmed'] },
      handler: (event) => plan(event, context),
    });
    for (const [step, detailType, fn] of [
      ['restore', 'Recovery Planned', 'restoreInstance'],
      ['verify', 'Instance Restored', 'verifyInstance'],
      ['shift', 'Instance Verified', 'shiftTraffic'],
    ] as const) {
      const handler = buildStepHandler(fn, getDeps);
      await pump.subscribe({
        name: step,
        region: HERE,
        bus,
        pattern: { source: ['lifeboat'], 'detail-type': [detailType] },
        handler: (event) => handler(event, context),
      });
    }
    // Failback fans "Region Recovered" out into one "Failback Requested" per instance, which
    // its second rule delivers back to it.
    const failbackHandler = buildFailbackHandler(getDeps);
    await pump.subscribe({
      name: 'failback',
      region: HERE,
      bus,
      pattern: { source: ['lifeboat'], 'detail-type': ['Failback Requested'] },
      handler: (event) => failbackHandler(event, context),
    });
    let failback = { failed: true };
    const text = await captureOutput(async () => {
      await rw.failHome();
      await eventBus(config, HERE).publish([
        { detailType: 'Region Outage Confirmed', detail: outageEvent('unused').detail },
      ]);
      await pump.drain();
      for (const failure of pump.failures)
        process.stdout.write(asTheLambdaRuntimeLogs(failure.error));
      await rw.restoreHome();
      const now = new Date().toISOString();
      failback = await invoke(failbackHandler, {
        ...(outageEvent('recovered-1') as Record<string, unknown>),
        'detail-type': 'Region Recovered',
        detail: { region: 'us-east-1', recoveredAt: now },
      });
      await pump.drain();
      for (const failure of pump.failures)
        process.stdout.write(asTheLambdaRuntimeLogs(failure.error));
    });
    await pump.close();

    expect(pump.failures).toEqual([]);
    expect(failback).toEqual({ failed: false });
    expect(text).toContain('outage response');
    expect(text).toContain('recovery step shift done');
    expect(text).toContain('failback requested');
    expect(text).toContain('recovery response');
    expect(findLeaks(text)).toEqual([]);
  });

  it('hold no credential when every AWS call is rejected for a bad signature', async () => {
    const config = withEndpoint(rw.config, rejecting.url);
    const deps = recoveryDeps(config, HERE);
    const results: Record<string, { failed: boolean }> = {};
    const text = await captureOutput(async () => {
      results.snapshot = await invoke(
        buildSnapshotHandler(() => snapshotDepsFor(config, { LIFEBOAT_REGION: 'us-east-1' })),
        sampleEvent('snapshot-request.json'),
      );
      results.detectOutage = await invoke(
        buildDetectOutageHandler(() => detectorDepsFor(config, { LIFEBOAT_REGION: HERE })),
        sampleEvent('health-observed.json'),
      );
      results.planRecovery = await invoke(
        buildPlanRecoveryHandler(() => deps),
        outageEvent('rejected-1'),
      );
      results.restoreInstance = await invoke(
        buildStepHandler('restoreInstance', () => deps),
        {
          ...(outageEvent('rejected-2') as Record<string, unknown>),
          'detail-type': 'Recovery Planned',
          detail: { runId: 'petstore-g1', instanceId: 'petstore', claimSet: ['us-east-2'] },
        },
      );
    });

    // Every function met the rejection: it failed, or (snapshot) reported the failure itself.
    expect(results).toMatchObject({
      detectOutage: { failed: true },
      restoreInstance: { failed: true },
    });
    expect(results.snapshot?.failed || text.includes('snapshot failed')).toBe(true);
    expect(results.planRecovery?.failed || text.includes('"outcome":"failed"')).toBe(true);
    expect(text).toMatch(/does not match the signature/);
    // The requests really were signed with the canaries.
    expect([...rejecting.keyIds]).toContain(CANARY.AWS_ACCESS_KEY_ID);
    expect(findLeaks(text)).toEqual([]);
  });
});

describe('the CLI output, with credentials in the environment', () => {
  it('holds no credential against moto or when every call is rejected for a bad signature', async () => {
    const configFile = join(tmpdir(), `lifeboat-no-secrets-${process.pid}.yml`);
    writeFileSync(configFile, stringifyYaml(rw.config));
    const rejectingFile = join(tmpdir(), `lifeboat-no-secrets-rejecting-${process.pid}.yml`);
    writeFileSync(rejectingFile, stringifyYaml(withEndpoint(rw.config, rejecting.url)));
    const verbs = [
      ['status', '--json'],
      ['snapshots', '--instance', 'petstore'],
      ['plan', '--region', 'us-east-1'],
    ];

    const outputs: string[] = [];
    rejecting.keyIds.clear();
    for (const verb of verbs) {
      outputs.push(await cli([...verb, '--config', configFile], rw.world.endpoint));
      outputs.push(await cli([...verb, '--config', rejectingFile], rejecting.url));
    }
    const text = outputs.join('\n');

    expect(text).toContain('petstore');
    expect(text).toMatch(/does not match the signature/);
    expect([...rejecting.keyIds]).toEqual([CANARY.AWS_ACCESS_KEY_ID]);
    expect(findLeaks(text)).toEqual([]);
  }, 240_000);
});
