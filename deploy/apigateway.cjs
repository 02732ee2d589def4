'use strict';

/**
 * What the API Gateway instance kind needs from each region's stack (docs/apigateway.md):
 *
 * - the lifeboat secrets key and its alias `alias/<bucketPrefix>-secrets`, in every region,
 *   whatever instances the config lists, so an instance added later needs no new provisioning;
 * - when the config has an `apigateway` instance, one more inline policy on the roles of the
 *   functions that read or write API Gateway (CloudFormation condition `HasApiGateway`):
 *   reads of the control plane, writes for the restoring ones, the key ring and fence markers.
 *
 * KMS grants name keys by their alias (`kms:ResourceAliases`), so they reach the secrets key of
 * every region (a restore unwraps the key ring with its target region's key) and no other key.
 */

const { kmsKey } = require('./cfn.cjs');
const { loadConfig, naming, allBuckets, instances, s3Arn } = require('./config.cjs');

const READ = ['apigateway:GET'];
const WRITE = [
  'apigateway:GET',
  'apigateway:POST',
  'apigateway:PUT',
  'apigateway:PATCH',
  'apigateway:DELETE',
];
/** The account-level and per-API paths of API Gateway's REST control plane that lifeboat calls. */
const PATHS = [
  '/restapis',
  '/restapis/*',
  '/usageplans',
  '/usageplans/*',
  '/apikeys',
  '/apikeys/*',
  '/domainnames',
  '/domainnames/*',
  '/tags/*',
];

function apiGatewayInstances(doc) {
  return instances(doc).filter((instance) => instance.kind === 'apigateway');
}

function apiGatewayArns(doc) {
  return doc.regions.flatMap((region) =>
    PATHS.map((path) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:apigateway:${region.name}::${path}`]],
    })),
  );
}

function secretsAlias(doc) {
  return `alias/${naming(doc).bucketPrefix}-secrets`;
}

function kmsStatement(doc, sid, actions) {
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: actions,
    Resource: {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':kms:*:', { Ref: 'AWS::AccountId' }, ':key/*'],
      ],
    },
    Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': secretsAlias(doc) } },
  };
}

/** The statements each role gets when the config has an apigateway instance. */
function statementsFor(doc, role) {
  const buckets = allBuckets(doc);
  const keyrings = buckets.map((b) => s3Arn(b.backup, '/keyrings/*'));
  const fences = buckets.map((b) => s3Arn(b.control, '/fences/*'));
  const read = {
    Sid: 'ReadApiGateway',
    Effect: 'Allow',
    Action: READ,
    Resource: apiGatewayArns(doc),
  };
  const write = {
    Sid: 'RestoreApiGateway',
    Effect: 'Allow',
    Action: WRITE,
    Resource: apiGatewayArns(doc),
  };
  const openRing = kmsStatement(doc, 'OpenKeyRing', ['kms:Decrypt']);
  const readRing = {
    Sid: 'ReadKeyRing',
    Effect: 'Allow',
    Action: ['s3:GetObject'],
    Resource: keyrings,
  };
  const readFences = {
    Sid: 'ReadFences',
    Effect: 'Allow',
    Action: ['s3:GetObject'],
    Resource: fences,
  };
  const writeFences = {
    Sid: 'WriteFences',
    Effect: 'Allow',
    Action: ['s3:GetObject', 's3:PutObject'],
    Resource: fences,
  };
  // The first snapshot of an instance makes its key ring: a data key, wrapped in every region.
  const makeRing = kmsStatement(doc, 'MakeKeyRing', [
    'kms:GenerateDataKey',
    'kms:Encrypt',
    'kms:Decrypt',
  ]);
  const storeRing = {
    Sid: 'StoreKeyRing',
    Effect: 'Allow',
    Action: ['s3:GetObject', 's3:PutObject'],
    Resource: keyrings,
  };
  switch (role) {
    case 'snapshot':
      return [read, makeRing, storeRing];
    case 'restoreInstance':
      return [write, openRing, readRing, writeFences];
    case 'failback':
      return [write, makeRing, storeRing, writeFences];
    // A practice copy is restored, fenced and removed: its fence mark goes with it.
    case 'practice':
      return [
        write,
        openRing,
        readRing,
        { ...writeFences, Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] },
      ];
    case 'shiftTraffic':
      return [read, openRing, readRing, writeFences];
    case 'verifyInstance':
    case 'planRecovery':
      return [read, openRing, readRing, readFences];
    default:
      throw new Error(`no API Gateway statements for role ${role}`);
  }
}

function policy(role) {
  return async (ctx) => {
    const { doc } = await loadConfig(ctx);
    if (apiGatewayInstances(doc).length === 0) {
      // Never deployed (HasApiGateway is false), but a policy document must still be valid.
      return {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Deny', Action: 'apigateway:DELETE', Resource: '*' }],
      };
    }
    return { Version: '2012-10-17', Statement: statementsFor(doc, role) };
  };
}

/** Whether the config has an apigateway instance ("true"/"false", for a CloudFormation condition). */
async function hasApiGateway(ctx) {
  const { doc } = await loadConfig(ctx);
  return apiGatewayInstances(doc).length > 0 ? 'true' : 'false';
}

/** The secrets key and its alias, in every region's stack. */
async function secretsKeyResources(ctx) {
  const { doc } = await loadConfig(ctx);
  return {
    Resources: {
      // The account administers the key; IAM policies (the roles' OpenKeyRing/MakeKeyRing
      // grants, scoped by alias) decide who uses it.
      SecretsKey: kmsKey(
        `lifeboat secrets (${naming(doc).bucketPrefix}): wraps the API Gateway kind's key rings`,
      ),
      SecretsKeyAlias: {
        Type: 'AWS::KMS::Alias',
        Properties: { AliasName: secretsAlias(doc), TargetKeyId: { Ref: 'SecretsKey' } },
      },
    },
    // A parameter (its default from the config) rather than a literal comparison, which
    // cfn-lint flags as always true or false.
    Parameters: {
      ApiGatewayKind: {
        Type: 'String',
        Default: await hasApiGateway(ctx),
        AllowedValues: ['true', 'false'],
        Description: 'Whether the config protects API Gateway instances (set from the config)',
      },
    },
    Conditions: {
      HasApiGateway: { 'Fn::Equals': [{ Ref: 'ApiGatewayKind' }, 'true'] },
    },
  };
}

module.exports = {
  statementsFor,
  secretsKeyResources,
  apiGatewayPolicySnapshot: policy('snapshot'),
  apiGatewayPolicyRestoreInstance: policy('restoreInstance'),
  apiGatewayPolicyPractice: policy('practice'),
  apiGatewayPolicyFailback: policy('failback'),
  apiGatewayPolicyShiftTraffic: policy('shiftTraffic'),
  apiGatewayPolicyVerifyInstance: policy('verifyInstance'),
  apiGatewayPolicyPlanRecovery: policy('planRecovery'),
};
