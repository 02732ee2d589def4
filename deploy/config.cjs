'use strict';

/**
 * The lifeboat config as the deploy modules see it: loaded through the same TypeScript loader
 * and schema the functions use (shared/config/load.ts, through tsx, which `npx serverless` has
 * beside it as a dev dependency), so defaults, rate expressions and validation are one code.
 * Also the event catalog (shared/domain/events.ts) the stack's rules are built from.
 */

const path = require('node:path');
const tsx = require('tsx/cjs/api');

const load = (file) => tsx.require(file, __filename);
const configLoader = load('../shared/config/load.ts');
const { rateToSeconds } = load('../shared/config/schema.ts');
/** The routes the stack's rules deploy: the same table the local world and the simulator use. */
const catalog = load('../shared/domain/events.ts');

/** The service directory: this file lives in `<service>/deploy/`. */
const SERVICE_DIR = path.resolve(__dirname, '..');

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

/** The config, parsed and validated by shared/config/load.ts; a ConfigError stops packaging. */
function readConfig(file) {
  if (documents.has(file)) return documents.get(file);
  let config;
  try {
    config = configLoader.loadConfig(file);
  } catch (cause) {
    throw new LifeboatDeployError(cause.message, { cause });
  }
  documents.set(file, config);
  return config;
}

async function loadConfig(ctx) {
  const location = await configLocation(ctx);
  return { ...location, doc: readConfig(location.absolute) };
}

function naming(doc) {
  return doc.naming;
}

/** shared/config/load.ts regionBuckets, under the names the templates use. */
function bucketsOf(doc, region) {
  const b = configLoader.regionBuckets(doc, region);
  return { backup: b.backup, store: b.instanceStore, control: b.control };
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

/** An EventBridge rate expression for `seconds`, in the largest unit that divides it. */
function rateExpression(seconds) {
  const [count, unit] =
    seconds % 86_400 === 0
      ? [seconds / 86_400, 'day']
      : seconds % 3600 === 0
        ? [seconds / 3600, 'hour']
        : [seconds / 60, 'minute'];
  // EventBridge wants "1 minute" but "5 minutes".
  return `rate(${count} ${unit}${count === 1 ? '' : 's'})`;
}

/** A rule's pattern, from the event catalog. */
function patternOf(rule) {
  const route = catalog.ROUTES.find((r) => r.rule === rule);
  if (!route) throw new LifeboatDeployError(`the event catalog has no rule "${rule}"`);
  return structuredClone(route.pattern);
}

function s3Arn(name, suffix = '') {
  // Joined with AWS::Partition so the stack also deploys to aws-cn and aws-us-gov.
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${name}${suffix}`]] };
}

function allBuckets(doc) {
  return doc.regions.map((region) => bucketsOf(doc, region));
}

function instances(doc) {
  return doc.instances;
}

/** Whether any instance asks for S3 Object Lock retention on its snapshots. */
function configUsesObjectLock(doc) {
  return instances(doc).some((instance) => instance?.snapshot?.objectLock != null);
}

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

/** `petstore` -> `Petstore`, `us-east-2` -> `UsEast2`: logical ids are alphanumeric. */
function pascal(text) {
  return String(text)
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

module.exports = {
  pascal,
  catalog,
  rateToSeconds,
  LifeboatDeployError,
  SERVICE_DIR,
  configLocation,
  loadConfig,
  naming,
  bucketsOf,
  deployRegion,
  deployStage,
  configuredRegion,
  rateExpression,
  patternOf,
  s3Arn,
  allBuckets,
  instances,
  configUsesObjectLock,
  DNS_CHANGE_ACTIONS,
  DNS_RECORD_TYPES,
  normalizedRecordName,
  mirrorStoreObjectArns,
  dnsOf,
  route53Arn,
};
