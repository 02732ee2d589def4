import { CreateEventBusCommand, ResourceAlreadyExistsException } from '@aws-sdk/client-eventbridge';
import {
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { eventBridgeClientFor, s3ClientFor } from '../shared/adapters/aws-clients.ts';
import { regionBuckets } from '../shared/config/load.ts';
import type { LifeboatConfig } from '../shared/config/schema.ts';

/** What provisioning created, region by region. */
export interface ProvisionedRegion {
  region: string;
  buckets: string[];
  eventBus: string;
}

/**
 * Creates what `serverless deploy` would create in each region, against whatever endpoint the
 * config and environment name (moto locally): the three buckets, hardened the same way, and
 * the event bus. Safe to run twice.
 */
export async function provisionWorld(config: LifeboatConfig): Promise<ProvisionedRegion[]> {
  return Promise.all(
    config.regions.map(async (region) => {
      const target = { region: region.name, endpointUrl: region.endpointUrl };
      const s3 = s3ClientFor(target);
      const buckets = Object.values(regionBuckets(config, region));
      for (const bucket of buckets) {
        try {
          await s3.send(
            new CreateBucketCommand({
              Bucket: bucket,
              ...(region.name === 'us-east-1'
                ? {}
                : { CreateBucketConfiguration: { LocationConstraint: region.name as never } }),
            }),
          );
        } catch (error) {
          if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
        }
        await s3.send(
          new PutBucketVersioningCommand({
            Bucket: bucket,
            VersioningConfiguration: { Status: 'Enabled' },
          }),
        );
        await s3.send(
          new PutBucketEncryptionCommand({
            Bucket: bucket,
            ServerSideEncryptionConfiguration: {
              Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
            },
          }),
        );
        await s3.send(
          new PutPublicAccessBlockCommand({
            Bucket: bucket,
            PublicAccessBlockConfiguration: {
              BlockPublicAcls: true,
              BlockPublicPolicy: true,
              IgnorePublicAcls: true,
              RestrictPublicBuckets: true,
            },
          }),
        );
      }
      try {
        await eventBridgeClientFor(target).send(
          new CreateEventBusCommand({ Name: config.naming.eventBusName }),
        );
      } catch (error) {
        if (!(error instanceof ResourceAlreadyExistsException)) throw error;
      }
      return { region: region.name, buckets, eventBus: config.naming.eventBusName };
    }),
  );
}
