import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { SealingError } from '../../errors.ts';

/*
 * Sealing of secrets (API key values) inside canonical documents: envelope encryption with an
 * instance data key that KMS wraps under every region's key (the key ring, see
 * shared/adapters/apigateway/kms-keyring.ts). AES-256-GCM with a synthetic IV, HMAC-SHA-256 of
 * the plaintext under the data key: the same value always seals to the same bytes, so an
 * unchanged API key keeps its document hash and a snapshot uploads nothing for it. What that
 * reveals is only whether two sealed values are equal.
 */

const PREFIX = 'lifeboat-sealed:v1';

/** An instance's data key, in the clear, in memory only. */
export interface DataKey {
  keyId: string;
  key: Buffer;
}

/** Where data keys come from. The domain owns the port; KMS implements it. */
export interface Keyring {
  /** The instance's current data key, created (and wrapped for every region) on first use. */
  current(instanceId: string): Promise<DataKey>;
  /** A data key by id, unwrapped with this region's KMS key. */
  byId(instanceId: string, keyId: string): Promise<DataKey>;
}

function syntheticIv(key: Buffer, plaintext: Buffer): Buffer {
  return createHmac('sha256', key).update('iv\0').update(plaintext).digest().subarray(0, 12);
}

/** Seals `value` under `dataKey`: `lifeboat-sealed:v1:<keyId>:<base64 iv|ciphertext|tag>`. */
export function seal(value: string, dataKey: DataKey): string {
  const plaintext = Buffer.from(value, 'utf8');
  const iv = syntheticIv(dataKey.key, plaintext);
  const cipher = createCipheriv('aes-256-gcm', dataKey.key, iv);
  cipher.setAAD(Buffer.from(dataKey.keyId, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const sealed = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
  return `${PREFIX}:${dataKey.keyId}:${sealed}`;
}

/** The key id a sealed value was sealed under. */
export function sealedKeyId(sealed: string): string {
  const parts = sealed.split(':');
  if (parts.length !== 4 || `${parts[0]}:${parts[1]}` !== PREFIX || !parts[2]) {
    throw new SealingError(`not a sealed value (expected ${PREFIX}:<key id>:<data>)`);
  }
  return parts[2];
}

/** Opens a sealed value; a tampered or wrongly keyed one is refused. */
export function unseal(sealed: string, dataKey: DataKey): string {
  const keyId = sealedKeyId(sealed);
  if (keyId !== dataKey.keyId) {
    throw new SealingError(`sealed under key ${keyId}, not ${dataKey.keyId}`);
  }
  const raw = Buffer.from(sealed.split(':')[3] ?? '', 'base64');
  if (raw.length < 12 + 16) throw new SealingError('sealed value is truncated');
  const iv = raw.subarray(0, 12);
  const tag = raw.subarray(raw.length - 16);
  const decipher = createDecipheriv('aes-256-gcm', dataKey.key, iv);
  decipher.setAAD(Buffer.from(keyId, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([
      decipher.update(raw.subarray(12, raw.length - 16)),
      decipher.final(),
    ]).toString('utf8');
  } catch (error) {
    throw new SealingError('sealed value does not authenticate (tampered, or another key)', {
      cause: error,
    });
  }
}
