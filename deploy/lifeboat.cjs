'use strict';

/**
 * Values that serverless.yml derives from the lifeboat config file, resolved through
 * `${file(./deploy/lifeboat.cjs):<export>}`.
 *
 * It is CommonJS because osls loads `file()` sources with `require`, and the project's
 * package.json says `"type": "module"`. The config is read by the functions' own loader and
 * schema (deploy/config.cjs); the rules' patterns come from the event catalog.
 *
 * Every export is a function of `{ options, resolveConfigurationProperty }`, which osls calls
 * once the properties it reads (custom.lifeboat.*, provider.region) are resolved.
 */

const deployConfig = require('./config.cjs');
// The names used in many places, by name; the rest as deployConfig.<name>.
const {
  LifeboatDeployError,
  loadConfig,
  patternOf,
  s3Arn,
  allBuckets,
  instances,
  configUsesObjectLock,
  dnsOf,
  route53Arn,
} = deployConfig;
const { detectionResources } = require('./detection.cjs');
const { notificationResources, notifyPattern } = require('./notifications.cjs');

module.exports = {
  /** Path of the config file relative to the service directory: the package pattern and the env value. */
  async configPath(ctx) {
    return (await deployConfig.configLocation(ctx)).env;
  },

  /**
   * The one schedule of the snapshot function: the shortest `instances[].snapshot.schedule`.
   * The handler decides on each tick which instances are due.
   */
  async snapshotSchedule(ctx) {
    const { doc } = await loadConfig(ctx);
    const seconds = instances(doc).map((instance) =>
      deployConfig.rateToSeconds(instance.snapshot.schedule),
    );
    // Without instances the tick has nothing to do: once a day, the schema's default schedule.
    return deployConfig.rateExpression(seconds.length > 0 ? Math.min(...seconds) : 86_400);
  },

  // The restoreTest and practice functions' schedules and policies.
  ...require('./scheduled.cjs'),

  /** The deploy region's three bucket names. */
  async buckets(ctx) {
    const { doc, region } = await deployConfig.configuredRegion(ctx);
    return deployConfig.bucketsOf(doc, region);
  },

  /** The custom EventBridge bus every lifeboat event goes through. */
  async eventBusName(ctx) {
    const { doc } = await loadConfig(ctx);
    return deployConfig.naming(doc).eventBusName;
  },

  /**
   * Whether the deploy region's backup bucket is created with S3 Object Lock. `--param
   * objectLock=true|false` decides; without it, Object Lock is on when an instance that lists
   * this region as a replica sets `snapshot.objectLock` (its snapshots carry a retention date,
   * which S3 refuses on a bucket without Object Lock).
   */
  async objectLock(ctx) {
    const { doc } = await loadConfig(ctx);
    const region = await deployConfig.deployRegion(ctx);
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

  /** Every region's backup bucket, for s3:ListBucket (reconcile lists the commit markers). */
  async backupBucketArns(ctx) {
    const { doc } = await loadConfig(ctx);
    return allBuckets(doc).map((b) => s3Arn(b.backup));
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
    // Object Lock: PutObjectRetention sets and extends retention (reused packs); GC reads
    // retention (HEAD reports it only with GetObjectRetention) so it never deletes what is locked.
    if (configUsesObjectLock(doc)) actions.push('s3:PutObjectRetention', 's3:GetObjectRetention');
    return actions;
  },

  /**
   * The failback's final snapshot writes the backups like any snapshot (no GC), so with Object
   * Lock it sets and extends retention too.
   */
  async failbackBackupObjectActions(ctx) {
    const { doc } = await loadConfig(ctx);
    const actions = ['s3:GetObject', 's3:PutObject'];
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
    const mirrors = deployConfig.mirrorStoreObjectArns(doc, absolute);
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
    const names = [
      ...new Set(dnsOf(doc, absolute).map((d) => deployConfig.normalizedRecordName(d.recordName))),
    ];
    return {
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': names.sort(),
        'route53:ChangeResourceRecordSetsRecordTypes': [...deployConfig.DNS_RECORD_TYPES],
        'route53:ChangeResourceRecordSetsActions': [...deployConfig.DNS_CHANGE_ACTIONS],
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
  detectionResources,

  /** The notify function's trigger: every notified event of the catalog (NOTIFIED_EVENTS). */
  async notifyPattern() {
    return notifyPattern();
  },

  /**
   * The notification topic with its key and subscriptions, the notify role and dead-letter
   * queue, the alarms and the dashboard (deploy/notifications.cjs).
   */
  notificationResources,
};
