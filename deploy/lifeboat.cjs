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

const fs = require('node:fs');
const path = require('node:path');
const { parse: parseYaml } = require('yaml');

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

  /**
   * Every region's instance-store and backup buckets: an instance's home and its replica
   * regions can be any configured region, wherever this copy of the function runs.
   */
  async listBucketArns(ctx) {
    const { doc } = await loadConfig(ctx);
    return allBuckets(doc).flatMap((b) => [s3Arn(b.store), s3Arn(b.backup)]);
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
};
