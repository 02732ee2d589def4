'use strict';

/** CloudFormation building blocks the deploy modules share. */

/** Every taggable resource of the stack carries this tag. */
const TAGS = [{ Key: 'app', Value: 'lifeboat' }];

const partition = { Ref: 'AWS::Partition' };
const account = { Ref: 'AWS::AccountId' };
/** `Fn::Join` with no separator: an ARN built from literal parts and references. */
const join = (...parts) => ({ 'Fn::Join': ['', parts] });

/**
 * A KMS key with rotation on, whose policy lets the account administer it and adds
 * `statements`. moto's CloudFormation requires an explicit key policy. No Tags: moto's
 * CloudFormation hands them to its KMS tagger in the wrong shape (KeyError 'TagKey'), and the
 * deploy test deploys the template into moto.
 */
function kmsKey(description, statements = []) {
  return {
    Type: 'AWS::KMS::Key',
    Properties: {
      Description: description,
      EnableKeyRotation: true,
      KeyPolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AccountAdministers',
            Effect: 'Allow',
            Principal: { AWS: join('arn:', partition, ':iam::', account, ':root') },
            Action: 'kms:*',
            Resource: '*',
          },
          ...statements,
        ],
      },
    },
  };
}

module.exports = { TAGS, account, join, kmsKey, partition };
