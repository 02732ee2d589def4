'use strict';

/**
 * Values that serverless.yml derives from the lifeboat config file, resolved through
 * `${file(./deploy/lifeboat.cjs):<export>}`.
 *
 * It is CommonJS because osls loads `file()` sources with `require`, and the project's
 * package.json says `"type": "module"`. It reads the YAML itself (with the `yaml` package the
 * functions use) instead of importing shared/config/schema.ts, so `serverless package` needs
 * no TypeScript loader; the handlers validate the full schema when they start.
 *
 * Every export is a function of `{ options, resolveConfigurationProperty }`, which osls calls
 * once the properties it reads (custom.lifeboat.*, provider.region) are resolved.
 */

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parse: parseYaml } = require('yaml');
const tsx = require('tsx/cjs/api');

/**
 * The event catalog (shared/domain/events.ts): the routes the stack's rules deploy, the same
 * table the local world and the simulator route by. Loaded through tsx, which `npx serverless`
 * has beside it as a dev dependency.
 */
const catalog = tsx.require('../shared/domain/events.ts', __filename);
const { ALARM_PREFIX } = catalog;

/** A rule's pattern, from the catalog. */
function patternOf(rule) {
  const route = catalog.ROUTES.find((r) => r.rule === rule);
  if (!route) throw new LifeboatDeployError(`the event catalog has no rule "${rule}"`);
  return structuredClone(route.pattern);
}

/** The service directory: this file lives in `<service>/deploy/`. */
const SERVICE_DIR = path.resolve(__dirname, '..');

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const UNIT_SECONDS = { minute: 60, hour: 3600, day: 86_400 };
const DEFAULT_SCHEDULE = 'rate(1 day)';
const DEFAULT_NAMING = { bucketPrefix: 'lifeboat', eventBusName: 'lifeboat' };

class LifeboatDeployError extends Error {
  constructor(message, options) {
    super(`lifeboat deploy config: ${message}`, options);
    this.name = 'LifeboatDeployError';
    // osls prints the stack; for a config mistake the message alone is the useful part.
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** `package` and `deploy` ship the config inside the zip, so it has to be in the service. */
function isPackaging() {
  return process.argv.slice(2).some((arg) => arg === 'package' || arg === 'deploy');
}

async function configLocation({ resolveConfigurationProperty }) {
  const raw = await resolveConfigurationProperty(['custom', 'lifeboat', 'config']);
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new LifeboatDeployError('custom.lifeboat.config must name the config file');
  }
  const absolute = path.resolve(SERVICE_DIR, raw.trim());
  const relative = path.relative(SERVICE_DIR, absolute);
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  if (!inside && isPackaging()) {
    throw new LifeboatDeployError(
      `the config file ${absolute} is outside the service directory ${SERVICE_DIR}; ` +
        'it is packaged into every function, so copy it into the repository and pass that path ' +
        '(--param config=path/inside/repo.yml)',
    );
  }
  // Lambda's working directory is /var/task, the root of the zip, so a path relative to the
  // service directory is also the path inside the function.
  return { absolute, env: inside ? relative.split(path.sep).join('/') : absolute };
}

const documents = new Map();

function readConfig(file) {
  if (documents.has(file)) return documents.get(file);
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new LifeboatDeployError(`cannot read ${file} (${cause.message})`, { cause });
  }
  let doc;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new LifeboatDeployError(`${file} is not valid YAML: ${cause.message.split('\n')[0]}`, {
      cause,
    });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new LifeboatDeployError(`${file} must hold a mapping`);
  }
  if (!Array.isArray(doc.regions) || doc.regions.length === 0) {
    throw new LifeboatDeployError(`${file}: "regions" must list at least one region`);
  }
  doc.regions.forEach((region, i) => {
    if (!region || typeof region.name !== 'string') {
      throw new LifeboatDeployError(`${file}: regions[${i}].name is missing`);
    }
  });
  if (doc.instances !== undefined && !Array.isArray(doc.instances)) {
    throw new LifeboatDeployError(`${file}: "instances" must be a list`);
  }
  documents.set(file, doc);
  return doc;
}

async function loadConfig(ctx) {
  const location = await configLocation(ctx);
  return { ...location, doc: readConfig(location.absolute) };
}

function naming(doc) {
  return { ...DEFAULT_NAMING, ...(doc.naming ?? {}) };
}

/** Same defaults as shared/config/load.ts regionBuckets. */
function bucketsOf(doc, region) {
  const prefix = naming(doc).bucketPrefix;
  return {
    backup: region.backupBucket ?? `${prefix}-backup-${region.name}`,
    store: region.instanceStoreBucket ?? `${prefix}-store-${region.name}`,
    control: region.controlBucket ?? `${prefix}-control-${region.name}`,
  };
}

async function deployRegion({ options, resolveConfigurationProperty }) {
  if (options && typeof options.region === 'string' && options.region) return options.region;
  const region = await resolveConfigurationProperty(['provider', 'region']);
  return region || 'us-east-1';
}

async function deployStage({ options, resolveConfigurationProperty }) {
  if (options && typeof options.stage === 'string' && options.stage) return options.stage;
  const stage = await resolveConfigurationProperty(['provider', 'stage']);
  return stage || 'dev';
}

/** The deploy region's entry in the config; packaging stops when the region is not configured. */
async function configuredRegion(ctx) {
  const { absolute, doc } = await loadConfig(ctx);
  const name = await deployRegion(ctx);
  const region = doc.regions.find((r) => r.name === name);
  if (!region) {
    throw new LifeboatDeployError(
      `region "${name}" is not in ${absolute} (configured: ${doc.regions
        .map((r) => r.name)
        .join(', ')}); add it under "regions" or deploy with --region <one of those>`,
    );
  }
  return { absolute, doc, region };
}

function parseRate(expression, where) {
  const match = RATE.exec(expression);
  if (!match) {
    throw new LifeboatDeployError(
      `${where} is "${expression}"; it must be a rate expression such as "rate(1 day)" or "rate(5 minutes)"`,
    );
  }
  const count = Number(match[1]);
  const unit = match[2].replace(/s$/, '');
  if (count < 1) throw new LifeboatDeployError(`${where} must run at least once per period`);
  return { count, unit, seconds: count * UNIT_SECONDS[unit] };
}

function s3Arn(name, suffix = '') {
  // Joined with AWS::Partition so the stack also deploys to aws-cn and aws-us-gov.
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${name}${suffix}`]] };
}

function allBuckets(doc) {
  return doc.regions.map((region) => bucketsOf(doc, region));
}

function instances(doc) {
  return doc.instances ?? [];
}

/** Whether any instance asks for S3 Object Lock retention on its snapshots. */
function configUsesObjectLock(doc) {
  return instances(doc).some((instance) => instance?.snapshot?.objectLock != null);
}

// ---------------------------------------------------------------------------------------------
// Detection: cross-region fan-in of events, Route 53 health checks and their alarms.

/** Route 53 publishes health-check metrics only here, so health checks and alarms live here. */
const HEALTH_CHECK_REGION = 'us-east-1';
/** EventBridge allows at most 5 targets per rule. */
const MAX_TARGETS_PER_RULE = 5;
/**
 * Each (instance, endpoint region) pair adds two health checks, an alarm and an output; a
 * template holds at most 200 outputs and 500 resources, about 60 of which the functions, roles,
 * rules and buckets take.
 */
const MAX_HEALTH_CHECKS = 140;
const DEFAULT_DETECTION = { intervalSeconds: 30, failureThreshold: 3 };

/**
 * The only change the recovery functions make to Route 53 (shared/adapters/route53-dns.ts
 * applyWeights): UPSERT of the weighted CNAME records of the configured instances.
 */
const DNS_CHANGE_ACTIONS = ['UPSERT'];
const DNS_RECORD_TYPES = ['CNAME'];

/**
 * A record name as Route 53 puts it in `route53:ChangeResourceRecordSetsNormalizedRecordNames`:
 * lowercase, no trailing dot, and every character other than a-z 0-9 - _ . as a backslash and
 * three octal digits (`*` is `\052`).
 */
function normalizedRecordName(name) {
  return String(name)
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/[^a-z0-9\-_.]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * Objects of the instance stores a snapshot is mirrored into: the active regions of each
 * critical instance other than its home (shared/composition.ts snapshotJob), in config order.
 */
function mirrorStoreObjectArns(doc, file) {
  const regions = new Set();
  instances(doc).forEach((instance, i) => {
    if (!instance?.critical) return;
    for (const name of instance.activeRegions ?? []) {
      if (name === instance.homeRegion) continue;
      if (!doc.regions.some((r) => r.name === name)) {
        throw new LifeboatDeployError(
          `${file}: instances[${i}].activeRegions names "${name}", which is not under "regions"`,
        );
      }
      regions.add(name);
    }
  });
  return doc.regions
    .filter((region) => regions.has(region.name))
    .map((region) => s3Arn(bucketsOf(doc, region).store, '/*'));
}

/** The instances' `dns` blocks; packaging stops when there is none to grant Route 53 on. */
function dnsOf(doc, file) {
  const list = instances(doc).map((instance, i) => {
    const dns = instance?.dns;
    if (!dns || typeof dns.hostedZoneId !== 'string' || dns.hostedZoneId.trim() === '') {
      throw new LifeboatDeployError(`${file}: instances[${i}].dns.hostedZoneId is missing`);
    }
    if (typeof dns.recordName !== 'string' || dns.recordName.trim() === '') {
      throw new LifeboatDeployError(`${file}: instances[${i}].dns.recordName is missing`);
    }
    return { hostedZoneId: dns.hostedZoneId.trim(), recordName: dns.recordName.trim() };
  });
  if (list.length === 0) {
    // IAM refuses a statement without resources, and a role that may change any zone's
    // records is not an option; an empty config protects nothing anyway.
    throw new LifeboatDeployError(
      `${file} lists no instances; the recovery functions' Route 53 permissions are scoped to ` +
        "the instances' hosted zones, so add at least one instance before deploying",
    );
  }
  return list;
}

function route53Arn(resource) {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:route53:::${resource}`]] };
}

/** Same name as shared/schemas/detection-events.ts alarmNameFor. */
function alarmNameFor(instanceId, region) {
  return `${ALARM_PREFIX}${instanceId}-${region}`;
}

function detectionOf(doc, file) {
  const detection = { ...DEFAULT_DETECTION, ...(doc.detection ?? {}) };
  const { intervalSeconds, failureThreshold } = detection;
  if (typeof intervalSeconds !== 'number' || !(intervalSeconds > 0)) {
    throw new LifeboatDeployError(`${file}: detection.intervalSeconds must be a positive number`);
  }
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
    throw new LifeboatDeployError(
      `${file}: detection.failureThreshold must be a whole number >= 1`,
    );
  }
  return detection;
}

/** `us-east-2` -> `UsEast2`: logical ids are alphanumeric. */
function pascal(text) {
  return String(text)
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

function chunk(list, size) {
  const chunks = [];
  for (let i = 0; i < list.length; i += size) chunks.push(list.slice(i, i + size));
  return chunks;
}

function eventBusArn(region, name) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        `:events:${region}:`,
        { Ref: 'AWS::AccountId' },
        `:event-bus/${name}`,
      ],
    ],
  };
}

const TAGS = [{ Key: 'app', Value: 'lifeboat' }];

/**
 * Rules that forward `pattern` from one bus of this region to the lifeboat bus of each region
 * in `regions`, five targets to a rule.
 */
function forwardRules({ logicalPrefix, name, description, eventBus, pattern, regions, busName }) {
  const resources = {};
  chunk(regions, MAX_TARGETS_PER_RULE).forEach((group, i) => {
    resources[`${logicalPrefix}${i + 1}`] = {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: `${name}-${i + 1}`,
        Description: description,
        ...(eventBus ? { EventBusName: eventBus } : {}),
        EventPattern: pattern,
        State: 'ENABLED',
        // Event bus targets take no RetryPolicy: EventBridge retries them for up to 24 hours.
        Targets: group.map((region) => ({
          Id: `lifeboat-bus-${region}`,
          Arn: eventBusArn(region, busName),
          RoleArn: { 'Fn::GetAtt': ['EventForwardRole', 'Arn'] },
        })),
      },
    };
  });
  return resources;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** What a Route 53 health check needs to request the same `/health` the probe function does. */
/**
 * A Route 53 health check of `<url>/<path>`. Two per endpoint: `health` (liveness: the region
 * answers; its alarm feeds the detector) and `ready` (readiness: the instance serves its config
 * there; the DNS record is tied to it). Route 53 answers with every healthy zero-weight record
 * once the weighted ones fail, so a standby region must fail the record's check, or clients
 * would be spread over regions without the instance when weights cannot change (Route 53's
 * control plane is in us-east-1).
 */
function healthCheckConfig(url, where, detection, path = 'health') {
  let parsed;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new LifeboatDeployError(`${where} is not a URL: "${url}"`, { cause });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new LifeboatDeployError(`${where} must be an http(s) URL, not "${url}"`);
  }
  if (parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw new LifeboatDeployError(
      `${where} is "${url}"; the probes request <url>/health, so it may carry no query, ` +
        'fragment or credentials',
    );
  }
  const https = parsed.protocol === 'https:';
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const literalIp = IPV4.test(host) || host.includes(':');
  return {
    Type: https ? 'HTTPS' : 'HTTP',
    ...(literalIp ? { IPAddress: host } : { FullyQualifiedDomainName: host }),
    Port: parsed.port ? Number(parsed.port) : https ? 443 : 80,
    // The probe's path: the endpoint URL without trailing slashes, then /health.
    ResourcePath: `${parsed.pathname.replace(/\/+$/, '')}/${path}`,
    RequestInterval: detection.intervalSeconds < 30 ? 10 : 30,
    FailureThreshold: detection.failureThreshold,
    ...(https && !literalIp ? { EnableSNI: true } : {}),
  };
}

/** One Route 53 health check and one alarm on it per instance and endpoint region. */
function healthCheckResources(doc, file) {
  const detection = detectionOf(doc, file);
  if (detection.failureThreshold > 10) {
    throw new LifeboatDeployError(
      `${file}: detection.failureThreshold is ${detection.failureThreshold}; the Route 53 health ` +
        'checks created in us-east-1 take 1 to 10',
    );
  }
  const pairs = [];
  const ids = new Set();
  instances(doc).forEach((instance, i) => {
    if (!instance || typeof instance.id !== 'string') {
      throw new LifeboatDeployError(`${file}: instances[${i}].id is missing`);
    }
    if (ids.has(instance.id)) {
      throw new LifeboatDeployError(`${file}: instances[${i}].id "${instance.id}" is used twice`);
    }
    ids.add(instance.id);
    for (const [region, endpoint] of Object.entries(instance.endpoints ?? {})) {
      const where = `${file}: instances[${i}].endpoints.${region}.url`;
      pairs.push({ instanceId: instance.id, region, url: endpoint?.url, where });
    }
  });
  if (pairs.length > MAX_HEALTH_CHECKS) {
    throw new LifeboatDeployError(
      `${file} lists ${pairs.length} instance endpoints; one us-east-1 stack holds at most ` +
        `${MAX_HEALTH_CHECKS} health checks with their alarms and outputs`,
    );
  }
  // Logical ids must stay stable (DNS records attach the health checks by id), so a collision
  // of two names is settled by a hash of each name, never by the order in the config.
  const base = (p) => `${pascal(p.instanceId)}${pascal(p.region)}`;
  const counts = new Map();
  for (const p of pairs) counts.set(base(p), (counts.get(base(p)) ?? 0) + 1);
  const suffixOf = (p) =>
    counts.get(base(p)) > 1
      ? `${base(p)}${crypto.createHash('sha256').update(`${p.instanceId}/${p.region}`).digest('hex').slice(0, 8)}`
      : base(p);

  const Resources = {};
  const Outputs = {};
  for (const p of pairs) {
    if (typeof p.url !== 'string') throw new LifeboatDeployError(`${p.where} is missing`);
    const suffix = suffixOf(p);
    const check = `HealthCheck${suffix}`;
    const alarmName = alarmNameFor(p.instanceId, p.region);
    Resources[check] = {
      Type: 'AWS::Route53::HealthCheck',
      Properties: {
        HealthCheckConfig: healthCheckConfig(p.url, p.where, detection),
        HealthCheckTags: [{ Key: 'Name', Value: alarmName }, ...TAGS],
      },
    };
    Resources[`HealthAlarm${suffix}`] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: alarmName,
        AlarmDescription: `Route 53 health check of ${p.instanceId} in ${p.region}`,
        Namespace: 'AWS/Route53',
        MetricName: 'HealthCheckStatus',
        Dimensions: [{ Name: 'HealthCheckId', Value: { Ref: check } }],
        Statistic: 'Minimum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        Tags: TAGS,
      },
    };
    const ready = `ReadyCheck${suffix}`;
    Resources[ready] = {
      Type: 'AWS::Route53::HealthCheck',
      Properties: {
        HealthCheckConfig: healthCheckConfig(p.url, p.where, detection, 'ready'),
        HealthCheckTags: [
          { Key: 'Name', Value: `lifeboat-ready-${p.instanceId}-${p.region}` },
          ...TAGS,
        ],
      },
    };
    // The DNS records are tied to the readiness checks (config: dns.healthChecks).
    Outputs[`ReadyCheckId${suffix}`] = {
      Description: `Route 53 readiness check of ${p.instanceId} in ${p.region}: tie its DNS record to it`,
      Value: { Ref: ready },
    };
  }
  return { Resources, Outputs };
}

module.exports = {
  /** Path of the config file relative to the service directory: the package pattern and the env value. */
  async configPath(ctx) {
    return (await configLocation(ctx)).env;
  },

  /**
   * The one schedule of the snapshot function: the shortest `instances[].snapshot.schedule`.
   * The handler decides on each tick which instances are due.
   */
  async snapshotSchedule(ctx) {
    const { absolute, doc } = await loadConfig(ctx);
    let shortest;
    instances(doc).forEach((instance, i) => {
      const expression = instance?.snapshot?.schedule ?? DEFAULT_SCHEDULE;
      const rate = parseRate(expression, `${absolute}: instances[${i}].snapshot.schedule`);
      if (!shortest || rate.seconds < shortest.seconds) shortest = rate;
    });
    if (!shortest) shortest = parseRate(DEFAULT_SCHEDULE, 'the default schedule');
    // EventBridge wants "1 minute" but "5 minutes"; the config schema accepts either.
    return `rate(${shortest.count} ${shortest.unit}${shortest.count === 1 ? '' : 's'})`;
  },

  /** The deploy region's three bucket names. */
  async buckets(ctx) {
    const { doc, region } = await configuredRegion(ctx);
    return bucketsOf(doc, region);
  },

  /** The custom EventBridge bus every lifeboat event goes through. */
  async eventBusName(ctx) {
    const { doc } = await loadConfig(ctx);
    return naming(doc).eventBusName;
  },

  /**
   * Whether the deploy region's backup bucket is created with S3 Object Lock. `--param
   * objectLock=true|false` decides; without it, Object Lock is on when an instance that lists
   * this region as a replica sets `snapshot.objectLock` (its snapshots carry a retention date,
   * which S3 refuses on a bucket without Object Lock).
   */
  async objectLock(ctx) {
    const { doc } = await loadConfig(ctx);
    const region = await deployRegion(ctx);
    const needed = instances(doc).filter(
      (instance) =>
        instance?.snapshot?.objectLock != null &&
        Array.isArray(instance.replicaRegions) &&
        instance.replicaRegions.includes(region),
    );
    const raw = await ctx.resolveConfigurationProperty(['custom', 'lifeboat', 'objectLock']);
    const value = String(raw ?? 'auto')
      .trim()
      .toLowerCase();
    if (value === 'auto' || value === '') return needed.length > 0;
    if (value === 'true') return true;
    if (value === 'false') {
      if (needed.length > 0) {
        throw new LifeboatDeployError(
          `--param objectLock=false, but instance "${needed[0].id}" replicates into ${region} with ` +
            'snapshot.objectLock, whose retention S3 refuses on a bucket without Object Lock; ' +
            'drop the param or the instance setting',
        );
      }
      return false;
    }
    throw new LifeboatDeployError(`--param objectLock must be true or false, not "${raw}"`);
  },

  /** Objects of every region's instance store. */
  async storeObjectArns(ctx) {
    const { doc } = await loadConfig(ctx);
    return allBuckets(doc).map((b) => s3Arn(b.store, '/*'));
  },

  /** Objects of every region's backup bucket: snapshots go to replica regions anywhere. */
  async backupObjectArns(ctx) {
    const { doc } = await loadConfig(ctx);
    return allBuckets(doc).map((b) => s3Arn(b.backup, '/*'));
  },

  /**
   * What the snapshot function does to backup objects: write chunks, packs and manifests, read
   * indexes back, delete what retention expired. `s3:PutObjectRetention` only when the config
   * asks for Object Lock, because a PutObject that carries a retention date needs it.
   */
  async snapshotBackupObjectActions(ctx) {
    const { doc } = await loadConfig(ctx);
    const actions = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'];
    if (configUsesObjectLock(doc)) actions.push('s3:PutObjectRetention');
    return actions;
  },

  /** detectOutage's pattern for "Health Observed" on the lifeboat bus. */
  async observedPattern() {
    return patternOf('detect-observed');
  },

  /**
   * detectOutage's pattern for lifeboat's health-check alarms: on the default bus, where
   * CloudWatch puts them in us-east-1, and on the lifeboat bus, where us-east-1 forwards them.
   */
  async alarmPattern() {
    return patternOf('detect-alarm');
  },

  /** detectOutage's pattern for AWS Health issues, on the default bus. */
  async healthPattern() {
    return patternOf('detect-health');
  },

  /** planRecovery's trigger: the detector's "Region Outage Confirmed" on the lifeboat bus. */
  async outageConfirmedPattern() {
    return patternOf('plan-recovery');
  },

  /** restoreInstance's trigger: "Recovery Planned". */
  async recoveryPlannedPattern() {
    return patternOf('restore-instance');
  },

  /** verifyInstance's trigger: "Instance Restored". */
  async instanceRestoredPattern() {
    return patternOf('verify-instance');
  },

  /** shiftTraffic's trigger: "Instance Verified". */
  async instanceVerifiedPattern() {
    return patternOf('shift-traffic');
  },

  /** failback's trigger: the detector's "Region Recovered" on the lifeboat bus. */
  async regionRecoveredPattern() {
    return patternOf('failback');
  },

  /** failback's per-instance trigger: "Failback Requested", which it publishes itself. */
  async failbackRequestedPattern() {
    return patternOf('failback-instance');
  },

  /**
   * The snapshot role's statements. Written here rather than in serverless.yml because one of
   * them exists only for some configs: after each committed snapshot of a critical
   * (active-active) instance, the function restores it into the instance store of each of the
   * instance's other active regions (shared/domain/snapshot/run.ts `mirrors`). It may write and
   * delete objects in exactly those stores; IAM refuses a statement with no resource, so a
   * config without such an instance gets no statement at all.
   */
  async snapshotStatements(ctx) {
    const { absolute, doc } = await loadConfig(ctx);
    const buckets = allBuckets(doc);
    const mirrors = mirrorStoreObjectArns(doc, absolute);
    const backupActions = await module.exports.snapshotBackupObjectActions(ctx);
    return [
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': ['SnapshotLogGroup', 'Arn'] },
      },
      // Change detection lists the instance stores; incremental upload and retention list the
      // backup buckets; a mirror restore lists its target store. Home, replica and active
      // regions can be any configured region.
      {
        Sid: 'ListStoresAndBackups',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: buckets.flatMap((b) => [s3Arn(b.store), s3Arn(b.backup)]),
      },
      {
        Sid: 'ReadInstanceStores',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: buckets.map((b) => s3Arn(b.store, '/*')),
      },
      // Put: chunks, packs, manifests. Get: indexes and manifests (and packs, for a mirror
      // restore). Delete: retention GC, which runs in this function after each snapshot.
      {
        Sid: 'WriteBackups',
        Effect: 'Allow',
        Action: backupActions,
        Resource: buckets.map((b) => s3Arn(b.backup, '/*')),
      },
      ...(mirrors.length > 0
        ? [
            {
              Sid: 'MirrorActiveRegions',
              Effect: 'Allow',
              Action: ['s3:PutObject', 's3:DeleteObject'],
              Resource: mirrors,
            },
          ]
        : []),
      {
        Sid: 'PublishEvents',
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': ['LifeboatEventBus', 'Arn'] },
      },
    ];
  },

  /**
   * Every region's control bucket, for s3:ListBucket: a run's claim set, the generation claims
   * and capacity slots span the configured regions, and without ListBucket S3 answers a read
   * of a missing key with 403 rather than 404.
   */
  async controlBucketArns(ctx) {
    const { doc } = await loadConfig(ctx);
    return allBuckets(doc).map((b) => s3Arn(b.control));
  },

  /** Recorded runs (`runs/<runId>.json`) in every region's control bucket. */
  async runStateArns(ctx) {
    const { doc } = await loadConfig(ctx);
    return allBuckets(doc).map((b) => s3Arn(b.control, '/runs/*'));
  },

  /** Generation claims (`instances/<id>/generations/…`) in every region's control bucket. */
  async generationClaimArns(ctx) {
    const { doc } = await loadConfig(ctx);
    return allBuckets(doc).map((b) => s3Arn(b.control, '/instances/*'));
  },

  /** Capacity slots (`capacity/<region>/slot-…`) in every region's control bucket. */
  async capacitySlotArns(ctx) {
    const { doc } = await loadConfig(ctx);
    return allBuckets(doc).map((b) => s3Arn(b.control, '/capacity/*'));
  },

  /**
   * planRecovery's s3:ListBucket: every control bucket (see controlBucketArns) and every backup
   * bucket (the committed snapshots of an instance are listed in each replica region).
   */
  async controlAndBackupBucketArns(ctx) {
    const { doc } = await loadConfig(ctx);
    const buckets = allBuckets(doc);
    return [...buckets.map((b) => s3Arn(b.control)), ...buckets.map((b) => s3Arn(b.backup))];
  },

  /**
   * restoreInstance's and failback's s3:ListBucket: every control bucket, every backup bucket,
   * and every instance store (a restore lists its target's objects; failback's final snapshot
   * lists the recovered instance's store).
   */
  async controlBackupAndStoreBucketArns(ctx) {
    const { doc } = await loadConfig(ctx);
    const buckets = allBuckets(doc);
    return [
      ...buckets.map((b) => s3Arn(b.control)),
      ...buckets.map((b) => s3Arn(b.backup)),
      ...buckets.map((b) => s3Arn(b.store)),
    ];
  },

  /** The distinct hosted zones of the configured instances. */
  async hostedZoneArns(ctx) {
    const { absolute, doc } = await loadConfig(ctx);
    const zones = [...new Set(dnsOf(doc, absolute).map((d) => d.hostedZoneId))].sort();
    return zones.map((id) => route53Arn(`hostedzone/${id.replace(/^\/?hostedzone\//, '')}`));
  },

  /**
   * GetChange takes a change id that exists only once the change is submitted, so
   * `change/*` is as narrow as it gets (still a Route 53 ARN, not "*").
   */
  async route53ChangeArn() {
    return route53Arn('change/*');
  },

  /**
   * What a ChangeResourceRecordSets of the recovery functions may do: UPSERT the instances'
   * weighted CNAME records, nothing else in those zones.
   */
  async dnsChangeCondition(ctx) {
    const { absolute, doc } = await loadConfig(ctx);
    const names = [...new Set(dnsOf(doc, absolute).map((d) => normalizedRecordName(d.recordName)))];
    return {
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': names.sort(),
        'route53:ChangeResourceRecordSetsRecordTypes': [...DNS_RECORD_TYPES],
        'route53:ChangeResourceRecordSetsActions': [...DNS_CHANGE_ACTIONS],
      },
    };
  },

  /**
   * The resources that depend on the config and the deploy region:
   *
   * - rules on this region's lifeboat bus forwarding the "Health Observed" events probed from
   *   here (`detail.vantage` = this region, so forwarded events are never forwarded again) to
   *   every other configured region's lifeboat bus, and the role EventBridge uses to put them;
   * - in us-east-1 only: a Route 53 health check and its alarm `lifeboat-health-<instance>-
   *   <region>` per instance and endpoint region, an output per health check, and rules on the
   *   default bus forwarding those alarms' state changes to every other region's lifeboat bus.
   */
  async detectionResources(ctx) {
    const { absolute, doc, region } = await configuredRegion(ctx);
    const stage = await deployStage(ctx);
    const busName = naming(doc).eventBusName;
    const others = doc.regions.map((r) => r.name).filter((name) => name !== region.name);
    const healthChecks =
      region.name === HEALTH_CHECK_REGION
        ? healthCheckResources(doc, absolute)
        : { Resources: {}, Outputs: {} };
    if (others.length === 0) return healthChecks;

    const forwardRole = {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: `lifeboat event forwarding to the other regions (${stage}, ${region.name})`,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'forward',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'PutOnOtherRegionsBuses',
                  Effect: 'Allow',
                  Action: 'events:PutEvents',
                  Resource: others.map((name) => eventBusArn(name, busName)),
                },
              ],
            },
          },
        ],
        Tags: TAGS,
      },
    };
    const observations = forwardRules({
      logicalPrefix: 'ForwardObservationsRule',
      name: `lifeboat-${stage}-forward-observations`,
      description: `Sends the probes made from ${region.name} to the other regions' detectors`,
      eventBus: { 'Fn::GetAtt': ['LifeboatEventBus', 'Name'] },
      pattern: { ...patternOf('detect-observed'), detail: { vantage: [region.name] } },
      regions: others,
      busName,
    });
    const alarms =
      region.name === HEALTH_CHECK_REGION
        ? forwardRules({
            logicalPrefix: 'ForwardAlarmsRule',
            name: `lifeboat-${stage}-forward-alarms`,
            description:
              "Sends lifeboat's health-check alarm changes to the other regions' detectors",
            pattern: patternOf('detect-alarm'),
            regions: others,
            busName,
          })
        : {};
    return {
      Resources: {
        ...healthChecks.Resources,
        EventForwardRole: forwardRole,
        ...observations,
        ...alarms,
      },
      Outputs: healthChecks.Outputs,
    };
  },
};
