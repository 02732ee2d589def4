import { randomUUID } from 'node:crypto';
import {
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { z } from 'zod';
import type { DataKey, Keyring } from '../../domain/apigateway/sealing.ts';
import type { BlobStore } from '../../domain/ports.ts';
import { AlreadyExistsError, SealingError } from '../../errors.ts';

/*
 * The key ring of an instance: one AES-256 data key, generated once by KMS and wrapped under
 * the lifeboat KMS key of every replica region. The wrapped copies sit in every replica
 * region's backup bucket at `keyrings/<instance>.json` (outside `instances/`, so retention
 * never touches them). A restore into any region unwraps the data key with that region's own
 * KMS key: it needs neither the home region nor KMS multi-Region keys. Who can decrypt: the
 * roles with kms:Decrypt on a region's lifeboat key (the snapshot, restore and verify
 * functions, and operators the key policy names); reading the bucket alone is not enough.
 */

const KeyringDocumentSchema = z.strictObject({
  format: z.literal('lifeboat.keyring/1'),
  instanceId: z.string().min(1),
  keyId: z.string().min(1),
  /** Region → base64 KMS ciphertext of the data key under that region's lifeboat key. */
  wrapped: z.record(z.string(), z.string().min(1)),
  createdAt: z.string(),
});

/** The key of an instance's key ring in a backup bucket. */
export function keyringKey(instanceId: string): string {
  return `keyrings/${instanceId}.json`;
}

/** One region of the ring: its backup bucket and its KMS key. */
export interface KeyringRegion {
  region: string;
  vault: BlobStore;
  kms: KMSClient;
  /** The region's lifeboat key, e.g. `alias/<bucketPrefix>-secrets`. */
  keyAlias: string;
}

/** A key ring over KMS and the backup buckets; `here` is the region this code runs in. */
export class KmsKeyring implements Keyring {
  private readonly cache = new Map<string, DataKey>();

  constructor(
    private readonly regions: readonly KeyringRegion[],
    private readonly here: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async current(instanceId: string): Promise<DataKey> {
    const cached = this.cache.get(instanceId);
    if (cached) return cached;
    const found = await this.load(instanceId);
    const key = found ? await this.unwrap(instanceId, found) : await this.create(instanceId);
    this.cache.set(instanceId, key);
    return key;
  }

  async byId(instanceId: string, keyId: string): Promise<DataKey> {
    const key = await this.current(instanceId);
    if (key.keyId !== keyId) {
      throw new SealingError(
        `instance "${instanceId}": sealed under data key ${keyId}, but its key ring holds ${key.keyId}`,
      );
    }
    return key;
  }

  /** This region first, then the others: any copy of the ring serves. */
  private ordered(): KeyringRegion[] {
    return [...this.regions].sort(
      (a, b) => Number(b.region === this.here) - Number(a.region === this.here),
    );
  }

  private async load(instanceId: string) {
    let lastError: unknown;
    for (const region of this.ordered()) {
      try {
        const bytes = await region.vault.get(keyringKey(instanceId));
        if (!bytes) continue;
        const parsed = KeyringDocumentSchema.safeParse(
          JSON.parse(Buffer.from(bytes).toString('utf8')),
        );
        if (!parsed.success) {
          lastError = new SealingError(
            `${region.vault.location}: ${keyringKey(instanceId)}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
          );
          continue;
        }
        return parsed.data;
      } catch (error) {
        lastError = error;
      }
    }
    if (lastError && !(lastError instanceof SealingError)) return undefined;
    if (lastError) throw lastError;
    return undefined;
  }

  private async unwrap(
    instanceId: string,
    ring: z.infer<typeof KeyringDocumentSchema>,
  ): Promise<DataKey> {
    let lastError: unknown;
    for (const region of this.ordered()) {
      const wrapped = ring.wrapped[region.region];
      if (!wrapped) continue;
      try {
        const out = await region.kms.send(
          new DecryptCommand({
            CiphertextBlob: Buffer.from(wrapped, 'base64'),
            KeyId: region.keyAlias,
          }),
        );
        if (out.Plaintext) return { keyId: ring.keyId, key: Buffer.from(out.Plaintext) };
      } catch (error) {
        lastError = error;
      }
    }
    throw new SealingError(
      `instance "${instanceId}": no region could unwrap data key ${ring.keyId}`,
      {
        cause: lastError,
      },
    );
  }

  private async create(instanceId: string): Promise<DataKey> {
    const home = this.ordered()[0];
    if (!home) throw new SealingError('no region configured for the key ring');
    let generated: { Plaintext?: Uint8Array };
    try {
      generated = await home.kms.send(
        new GenerateDataKeyCommand({ KeyId: home.keyAlias, KeySpec: 'AES_256' }),
      );
    } catch (error) {
      throw new SealingError(
        `KMS ${home.keyAlias} in ${home.region} could not generate a data key`,
        { cause: error },
      );
    }
    const plaintext = Buffer.from(generated.Plaintext ?? []);
    const keyId = randomUUID();
    const wrapped: Record<string, string> = {};
    for (const region of this.regions) {
      try {
        const out = await region.kms.send(
          new EncryptCommand({ KeyId: region.keyAlias, Plaintext: plaintext }),
        );
        if (out.CiphertextBlob)
          wrapped[region.region] = Buffer.from(out.CiphertextBlob).toString('base64');
      } catch {
        // A region whose KMS is out now gets no copy; the ring still opens in the others.
      }
    }
    const document = {
      format: 'lifeboat.keyring/1',
      instanceId,
      keyId,
      wrapped,
      createdAt: this.clock().toISOString(),
    };
    const body = Buffer.from(`${JSON.stringify(document, null, 1)}\n`);
    let written = 0;
    for (const region of this.regions) {
      if (!wrapped[region.region]) continue;
      try {
        await region.vault.put(keyringKey(instanceId), body, {
          ifNoneMatch: true,
          contentType: 'application/json',
        });
        written += 1;
      } catch (error) {
        if (error instanceof AlreadyExistsError) {
          // Another snapshot created the ring first: use its key, never two.
          const theirs = await this.load(instanceId);
          if (theirs) return this.unwrap(instanceId, theirs);
        }
      }
    }
    if (written === 0)
      throw new SealingError(
        `instance "${instanceId}": the key ring could not be stored in any region`,
      );
    return { keyId, key: plaintext };
  }
}
