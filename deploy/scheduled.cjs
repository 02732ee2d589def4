'use strict';

/**
 * What serverless.yml derives for the scheduled functions that act on one instance at a time,
 * restoreTest and practice: one rule per instance in its home region's stack, and their
 * roles' statements. Spread into deploy/lifeboat.cjs's exports, so serverless.yml reads them
 * as `${file(./deploy/lifeboat.cjs):<export>}` like every other value.
 */

const deployConfig = require('./config.cjs');
const { loadConfig, instances, s3Arn, route53Arn } = deployConfig;

/** shared/domain/snapshot/restore-test.ts SCRATCH_PREFIX: where restore tests put their copy. */
const RESTORE_TEST_SCRATCH = '_lifeboat-restore-test';

/** The instances homed in `region` that ask for scheduled restore tests. */
function restoreTestedHere(doc, region) {
  return instances(doc).filter(
    (instance) => instance.homeRegion === region && instance.snapshot?.restoreTest,
  );
}

/** shared/domain/recovery/practice.ts PRACTICE_SUFFIX: the identity of practice copies. */
const PRACTICE_SUFFIX = '--practice';

/** The instances homed in `region` that ask for scheduled practice runs. */
function practisedHere(doc, region) {
  return instances(doc).filter((instance) => instance.homeRegion === region && instance.practice);
}

module.exports = {
  /**
   * The restoreTest function's schedules: one rule per instance with `snapshot.restoreTest`,
   * in the stack of the instance's home region only (every region deploys the same function,
   * and an instance is tested once per period, not once per region). The rule's input is the
   * instance id, which the handler validates.
   */
  async restoreTestEvents(ctx) {
    const { doc } = await loadConfig(ctx);
    const region = await deployConfig.deployRegion(ctx);
    const stage = await deployConfig.deployStage(ctx);
    return restoreTestedHere(doc, region).map((instance) => {
      const name = `lifeboat-${stage}-restore-test-${instance.id}`;
      return {
        schedule: {
          // EventBridge rule names stop at 64 characters; a longer one is left to CloudFormation.
          ...(name.length <= 64 ? { name } : {}),
          description: `Restore test of ${instance.id}: newest snapshot of a random replica into a scratch prefix.`,
          rate: [instance.snapshot.restoreTest],
          input: { instanceId: instance.id },
        },
      };
    });
  },

  /**
   * The restoreTest role's statements: read the backups of the tested instances' replica
   * regions, and list, write, read back and delete only under the scratch prefix of those
   * regions' instance stores (never an instance's own objects); record the result in this
   * region's control bucket; publish the result. A region that tests no instance gets only its
   * logs, the record and the bus (IAM refuses a statement without resources).
   */
  async restoreTestStatements(ctx) {
    const { doc } = await loadConfig(ctx);
    const region = await deployConfig.deployRegion(ctx);
    const replicas = new Set(
      restoreTestedHere(doc, region).flatMap((instance) => instance.replicaRegions),
    );
    const buckets = doc.regions
      .filter((r) => replicas.has(r.name))
      .map((r) => deployConfig.bucketsOf(doc, r));
    const s3 =
      buckets.length === 0
        ? []
        : [
            {
              Sid: 'ListBackups',
              Effect: 'Allow',
              Action: 's3:ListBucket',
              Resource: buckets.map((b) => s3Arn(b.backup)),
              Condition: { StringLike: { 's3:prefix': ['instances/*'] } },
            },
            {
              Sid: 'ReadBackups',
              Effect: 'Allow',
              Action: 's3:GetObject',
              Resource: buckets.map((b) => s3Arn(b.backup, '/instances/*')),
            },
            {
              Sid: 'ListScratch',
              Effect: 'Allow',
              Action: 's3:ListBucket',
              Resource: buckets.map((b) => s3Arn(b.store)),
              Condition: { StringLike: { 's3:prefix': [`${RESTORE_TEST_SCRATCH}/*`] } },
            },
            // The scratch copy is written, read back for its digest, and deleted.
            {
              Sid: 'WriteScratch',
              Effect: 'Allow',
              Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
              Resource: buckets.map((b) => s3Arn(b.store, `/${RESTORE_TEST_SCRATCH}/*`)),
            },
          ];
    return [
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': ['RestoreTestLogGroup', 'Arn'] },
      },
      ...s3,
      // The last result, for `lifeboat status`, in the home region's control bucket.
      {
        Sid: 'RecordResult',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: {
          'Fn::Join': ['', [{ 'Fn::GetAtt': ['ControlBucket', 'Arn'] }, '/restore-tests/*']],
        },
      },
      {
        Sid: 'PublishResults',
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': ['LifeboatEventBus', 'Arn'] },
      },
    ];
  },

  /**
   * The practice function's schedules: one rule per instance with `practice.schedule`, in the
   * stack of the instance's home region only (as restore tests). Input: the instance id.
   */
  async practiceEvents(ctx) {
    const { doc } = await loadConfig(ctx);
    const region = await deployConfig.deployRegion(ctx);
    const stage = await deployConfig.deployStage(ctx);
    return practisedHere(doc, region).map((instance) => {
      const name = `lifeboat-${stage}-practice-${instance.id}`;
      return {
        schedule: {
          ...(name.length <= 64 ? { name } : {}),
          description: `Practice run of ${instance.id}: restore under ${instance.id}${PRACTICE_SUFFIX}, verify, measure, remove.`,
          rate: [instance.practice.schedule],
          input: { instanceId: instance.id },
        },
      };
    });
  },

  /**
   * The practice role's statements. A practice of an instance homed here restores into another
   * region: it reads the detector states here; lists the control buckets and takes and gives
   * back capacity slots and writes reports in the other regions'; reads the practised
   * instances' backups; lists, writes, reads back and deletes only under their
   * `<id>--practice/` prefix of the other regions' instance stores (never an instance's own
   * objects); reads (never changes) their DNS records; publishes its result. A region that
   * practises nothing gets only its logs, the detector states and the bus.
   */
  async practiceStatements(ctx) {
    const { doc } = await loadConfig(ctx);
    const region = await deployConfig.deployRegion(ctx);
    const practised = practisedHere(doc, region);
    const others = doc.regions
      .filter((r) => r.name !== region)
      .map((r) => deployConfig.bucketsOf(doc, r));
    const replicas = new Set(practised.flatMap((instance) => instance.replicaRegions));
    const backups = doc.regions
      .filter((r) => replicas.has(r.name))
      .map((r) => deployConfig.bucketsOf(doc, r).backup);
    const prefixes = practised.map((instance) => `${instance.id}${PRACTICE_SUFFIX}`);
    const zones = [
      ...new Set(practised.map((instance) => String(instance.dns.hostedZoneId).trim())),
    ];
    const work =
      practised.length === 0 || others.length === 0
        ? []
        : [
            {
              Sid: 'ListControlBuckets',
              Effect: 'Allow',
              Action: 's3:ListBucket',
              Resource: others.map((b) => s3Arn(b.control)),
            },
            {
              Sid: 'ReserveCapacity',
              Effect: 'Allow',
              Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
              Resource: others.map((b) => s3Arn(b.control, '/capacity/*')),
            },
            {
              Sid: 'WriteReports',
              Effect: 'Allow',
              Action: ['s3:GetObject', 's3:PutObject'],
              Resource: others.map((b) => s3Arn(b.control, '/reports/*')),
            },
            {
              Sid: 'ListBackups',
              Effect: 'Allow',
              Action: 's3:ListBucket',
              Resource: backups.map((b) => s3Arn(b)),
              Condition: { StringLike: { 's3:prefix': ['instances/*'] } },
            },
            {
              Sid: 'ReadBackups',
              Effect: 'Allow',
              Action: 's3:GetObject',
              Resource: backups.map((b) => s3Arn(b, '/instances/*')),
            },
            {
              Sid: 'ListPracticeCopies',
              Effect: 'Allow',
              Action: 's3:ListBucket',
              Resource: others.map((b) => s3Arn(b.store)),
              Condition: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}/*`) } },
            },
            {
              Sid: 'WritePracticeCopies',
              Effect: 'Allow',
              Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
              Resource: others.flatMap((b) => prefixes.map((p) => s3Arn(b.store, `/${p}/*`))),
            },
            {
              Sid: 'ReadDns',
              Effect: 'Allow',
              Action: 'route53:ListResourceRecordSets',
              Resource: zones.map((zone) => route53Arn(`hostedzone/${zone}`)),
            },
          ];
    return [
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': ['PracticeLogGroup', 'Arn'] },
      },
      // The detector's view here: a region it holds in outage is never a practice target.
      {
        Sid: 'ReadDetectorStates',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['ControlBucket', 'Arn'] }, '/detector/*']] },
      },
      ...work,
      {
        Sid: 'PublishResults',
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': ['LifeboatEventBus', 'Arn'] },
      },
    ];
  },
};
