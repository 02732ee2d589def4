import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiGatewayClientFor,
  ControlPlane,
  pacingFor,
} from './adapters/apigateway/control-plane.ts';
import { ApiGatewayInstanceControl, fenceKey } from './adapters/apigateway/instance-control.ts';
import { ApiGatewayInstanceStore } from './adapters/apigateway/instance-store.ts';
import { KmsKeyring } from './adapters/apigateway/kms-keyring.ts';
import { eventBridgeClientFor, kmsClientFor, s3ClientFor } from './adapters/aws-clients.ts';
import { EventBridgeBus } from './adapters/eventbridge-bus.ts';
import { FileMetadataCache } from './adapters/file-metadata-cache.ts';
import { HttpInstanceControl } from './adapters/http-instance-control.ts';
import { KindRoutedInstanceControl } from './adapters/kind-routed-instance-control.ts';
import { KindRoutedInstanceStore } from './adapters/kind-routed-instance-store.ts';
import {
  practiceKeyring,
  practiceTags,
  practiceView,
  ReadOnlyDns,
  StoreReadbackControl,
} from './adapters/practice-identity.ts';
import { Route53Dns, route53ClientFor } from './adapters/route53-dns.ts';
import { S3BlobStore } from './adapters/s3-blob-store.ts';
import { S3DocumentStore } from './adapters/s3-document-store.ts';
import { S3InstanceStore } from './adapters/s3-instance-store.ts';
import { findInstance, findRegion, regionBuckets, snapshotQuorum } from './config/load.ts';
import { type InstanceConfig, type LifeboatConfig, rateToSeconds } from './config/schema.ts';
import { AWS_PACING, UNPACED } from './domain/apigateway/pacing.ts';
import { regionStateKey } from './domain/detection/detect.ts';
import {
  type BlobStore,
  type DocumentStore,
  type EventBus,
  type InstanceStore,
  systemClock,
} from './domain/ports.ts';
import type { InstanceControl, RecoveryDeps } from './domain/recovery/ports.ts';
import { type PracticeDeps, practiceIdFor } from './domain/recovery/practice.ts';
import type { RestoreTestInput } from './domain/snapshot/restore-test.ts';
import type { SnapshotJob } from './domain/snapshot/run.ts';
import type { ReplicaTarget } from './domain/snapshot/take-snapshot.ts';

/**
 * The composition root: turns config into adapters. Handlers, the CLI and the local world all
 * build their ports here, so every path talks to AWS the same way.
 */

function endpointOf(config: LifeboatConfig, regionName: string) {
  const region = findRegion(config, regionName);
  return { region, target: { region: region.name, endpointUrl: region.endpointUrl } };
}

/** A region's backup bucket. */
export function backupVault(config: LifeboatConfig, regionName: string): BlobStore {
  const { region, target } = endpointOf(config, regionName);
  return new S3BlobStore(s3ClientFor(target), regionBuckets(config, region).backup, region.name);
}

/** A region's control bucket (run claims, detector state, reservations). */
export function controlStore(config: LifeboatConfig, regionName: string): BlobStore {
  const { region, target } = endpointOf(config, regionName);
  return new S3BlobStore(s3ClientFor(target), regionBuckets(config, region).control, region.name);
}

/** A region's control bucket as compare-and-swap documents (detector state, run claims). */
export function controlDocuments(config: LifeboatConfig, regionName: string): DocumentStore {
  const { region, target } = endpointOf(config, regionName);
  return new S3DocumentStore(
    s3ClientFor(target),
    regionBuckets(config, region).control,
    region.name,
  );
}

/** A region's object-store instance bucket (the reference runtime's config). */
function objectInstanceStore(config: LifeboatConfig, regionName: string): InstanceStore {
  const { region, target } = endpointOf(config, regionName);
  return new S3InstanceStore(
    s3ClientFor(target),
    regionBuckets(config, region).instanceStore,
    region.name,
  );
}

/** The KMS alias of lifeboat's secrets key in every region (each region's stack creates it). */
export function secretsKeyAlias(config: LifeboatConfig): string {
  return `alias/${config.naming.bucketPrefix}-secrets`;
}

/**
 * The key ring that seals API Gateway secrets (API key values). It is wrapped under every
 * configured region's key and stored in every region's backup bucket, so a restore into any
 * region opens it there, whatever instances the config lists.
 */
export function secretsKeyring(config: LifeboatConfig, here: string): KmsKeyring {
  return new KmsKeyring(
    config.regions.map((region) => ({
      region: region.name,
      vault: backupVault(config, region.name),
      kms: kmsClientFor({ region: region.name, endpointUrl: region.endpointUrl }),
      keyAlias: secretsKeyAlias(config),
    })),
    here,
  );
}

/** A region's API Gateway control plane, paced for AWS unless it is a local emulator. */
export function apiGatewayPlane(
  config: LifeboatConfig,
  regionName: string,
  pacing?: 'aws' | 'none',
): ControlPlane {
  const { target } = endpointOf(config, regionName);
  const policy = pacing ? (pacing === 'aws' ? AWS_PACING : UNPACED) : pacingFor(target.endpointUrl);
  return new ControlPlane(apiGatewayClientFor(target), regionName, { pacing: policy });
}

/**
 * The pacing of the account's control plane: AWS's limits if any instance asks for them, none
 * if one asks for none, else by endpoint. One pacer serves the region's every instance, since
 * AWS's limits are per account.
 */
function configuredPacing(config: LifeboatConfig): 'aws' | 'none' | undefined {
  const asked = config.instances.flatMap((i) =>
    i.apigateway?.pacing ? [i.apigateway.pacing] : [],
  );
  return asked.includes('aws') ? 'aws' : asked.includes('none') ? 'none' : undefined;
}

/** A region's API Gateway seen as an instance store (canonical documents). */
export function apiGatewayStore(
  config: LifeboatConfig,
  regionName: string,
): ApiGatewayInstanceStore {
  return new ApiGatewayInstanceStore(
    apiGatewayPlane(config, regionName, configuredPacing(config)),
    (instanceId) => findInstance(config, instanceId).apigateway?.references ?? {},
    secretsKeyring(config, regionName),
  );
}

/**
 * A region's instance store: where instances keep their configuration, whatever their kind.
 * Each call goes to the store of the instance's kind.
 */
export function instanceStore(config: LifeboatConfig, regionName: string): InstanceStore {
  const objects = objectInstanceStore(config, regionName);
  let apigateway: ApiGatewayInstanceStore | undefined;
  return new KindRoutedInstanceStore((instanceId) => {
    const kind = config.instances.find((i) => i.id === instanceId)?.kind ?? 'object-store';
    if (kind !== 'apigateway') return objects;
    apigateway ??= apiGatewayStore(config, regionName);
    return apigateway;
  }, objects.location);
}

/**
 * The control of every instance, whatever its kind: the reference runtime's admin API for the
 * object-store kind, the control plane (and fence markers) for API Gateway.
 */
export function instanceControl(config: LifeboatConfig): InstanceControl {
  const runtime = new HttpInstanceControl(config);
  const apigateway = new ApiGatewayInstanceControl(
    (region) => instanceStore(config, region),
    (region) => controlDocuments(config, region),
  );
  return new KindRoutedInstanceControl((instanceId) =>
    config.instances.find((i) => i.id === instanceId)?.kind === 'apigateway' ? apigateway : runtime,
  );
}

/** Lifeboat's event bus in a region. */
export function eventBus(config: LifeboatConfig, regionName: string): EventBus {
  const { target } = endpointOf(config, regionName);
  return new EventBridgeBus(eventBridgeClientFor(target), config.naming.eventBusName);
}

/** The backup buckets every snapshot of an instance goes to. */
export function replicaTargets(config: LifeboatConfig, instance: InstanceConfig): ReplicaTarget[] {
  return instance.replicaRegions.map((region) => ({ region, vault: backupVault(config, region) }));
}

/** Everything a snapshot of one instance needs, built from config. */
export function snapshotJob(config: LifeboatConfig, instance: InstanceConfig): SnapshotJob {
  return {
    instanceId: instance.id,
    intervalSeconds: rateToSeconds(instance.snapshot.schedule),
    quorum: snapshotQuorum(instance),
    retention: instance.snapshot.retention,
    objectLock: instance.snapshot.objectLock,
    // The instance is read where it normally lives. While it runs elsewhere after a
    // recovery, the recovery run's own final snapshot covers failback.
    sourceRegion: instance.homeRegion,
    source: instanceStore(config, instance.homeRegion),
    replicas: replicaTargets(config, instance),
    // Metadata layers on local disk (Lambda /tmp), re-hashed on every use: a warm run downloads
    // only the previous snapshot's root, as restic does with its cache.
    cache: new FileMetadataCache(),
    sleep: (ms) => sleep(ms).then(() => undefined),
    ...(instance.critical
      ? {
          mirrors: (instance.activeRegions ?? [])
            .filter((region) => region !== instance.homeRegion)
            .map((region) => ({
              region,
              store: instanceStore(config, region),
              activate: () => instanceControl(config).activate(instance.id, region),
            })),
        }
      : {}),
  };
}

/**
 * The recovery chain's ports, for a function running in `here`. Route 53's control plane is
 * global (us-east-1); per-region endpoint overrides do not apply to it.
 */
export function recoveryDeps(config: LifeboatConfig, here: string): RecoveryDeps {
  return {
    config,
    region: here,
    clock: systemClock,
    documents: (region) => controlDocuments(config, region),
    deleteControlKey: (region, key) => controlStore(config, region).delete([key]),
    controlBlobs: (region) => controlStore(config, region),
    vault: (region) => backupVault(config, region),
    instanceStore: (region) => instanceStore(config, region),
    dns: new Route53Dns(route53ClientFor()),
    instances: instanceControl(config),
    bus: eventBus(config, here),
    unhealthyRegions: async () => {
      const store = controlDocuments(config, here);
      const unhealthy = new Set<string>();
      for (const region of config.regions) {
        try {
          const state = (await store.load(regionStateKey(region.name)))?.value as
            | { status?: string }
            | undefined;
          if (state?.status === 'outage' || state?.status === 'recovering')
            unhealthy.add(region.name);
        } catch {
          // No detector state readable: judge by capacity and reachability alone.
        }
      }
      return unhealthy;
    },
    sleep: (ms) => sleep(ms).then(() => undefined),
  };
}

/**
 * The ports of a practice run of one instance (shared/domain/recovery/practice.ts): the
 * recovery ports, with the practice copy under its own identity (`<id>--practice`: a prefix of
 * the instance store, or API Gateway's `lifeboat:instance` tag, its secrets under the real
 * instance's key ring), DNS read-only, and a way to remove the copy and its fence mark.
 */
export function practiceDeps(
  config: LifeboatConfig,
  instance: InstanceConfig,
  here: string,
): PracticeDeps {
  const practiceId = practiceIdFor(instance.id);
  const practice: InstanceConfig = {
    ...instance,
    id: practiceId,
    critical: false,
    activeRegions: undefined,
    practice: undefined,
  };
  const withPractice: LifeboatConfig = {
    ...config,
    instances: [...config.instances.filter((i) => i.id !== practiceId), practice],
  };
  const base = recoveryDeps(withPractice, here);
  const stores = new Map<string, InstanceStore>();
  const storeOf = (region: string): InstanceStore => {
    let store = stores.get(region);
    if (!store) {
      store =
        instance.kind === 'apigateway'
          ? practiceTags(
              new ApiGatewayInstanceStore(
                apiGatewayPlane(withPractice, region, configuredPacing(withPractice)),
                () => instance.apigateway?.references ?? {},
                practiceKeyring(secretsKeyring(withPractice, region), practiceId, instance.id),
              ),
              instance.id,
              practiceId,
            )
          : objectInstanceStore(withPractice, region);
      stores.set(region, store);
    }
    return store;
  };
  const instances: InstanceControl =
    instance.kind === 'apigateway'
      ? new ApiGatewayInstanceControl(storeOf, (region) => controlDocuments(config, region))
      : new StoreReadbackControl(storeOf);
  return {
    ...base,
    practiceId,
    instanceStore: storeOf,
    practiceStore: (region) => practiceView(storeOf(region), practiceId),
    instances,
    dns: new ReadOnlyDns(base.dns),
    discard: async (region) => {
      const store = storeOf(region);
      const keys = (await store.list(practiceId)).map((e) => e.key);
      if (keys.length > 0) await store.delete(practiceId, keys);
      if (instance.kind === 'apigateway')
        await controlStore(config, region).delete([fenceKey(practiceId)]);
    },
  };
}

/**
 * A restore test of one instance, built from config: its replica buckets, a scratch prefix in
 * each region's instance store, the home region's bus and control bucket (for the record
 * `lifeboat status` shows). The replica region is picked at random.
 */
export function restoreTestInput(
  config: LifeboatConfig,
  instance: InstanceConfig,
  options: { region?: string } = {},
): RestoreTestInput {
  const replicas = replicaTargets(config, instance).filter(
    (r) => !options.region || r.region === options.region,
  );
  return {
    instanceId: instance.id,
    replicas,
    scratchStore: (region) => instanceStore(config, region),
    pick: (n) => Math.floor(Math.random() * n),
    clock: systemClock,
    bus: eventBus(config, instance.homeRegion),
    record: controlStore(config, instance.homeRegion),
  };
}
