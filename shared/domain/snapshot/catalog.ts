import { SnapshotIntegrityError, SnapshotNotFoundError } from '../../errors.ts';
import { firstProblem } from '../../validation.ts';
import type { BlobStore } from '../ports.ts';
import { idFromKey, isSnapshotId, keys, type Manifest, ManifestSchema } from './format.ts';

/** Ids of the snapshots committed in one backup bucket, newest first. */
export async function listCommittedSnapshotIds(
  vault: BlobStore,
  instanceId: string,
): Promise<string[]> {
  const markers = await vault.list(keys.commitsPrefix(instanceId));
  return markers
    .map((m) => idFromKey(m.key))
    .filter(isSnapshotId)
    .sort()
    .reverse();
}

/** Reads and validates one manifest; a malformed one is an integrity failure, named. */
export async function readManifest(
  vault: BlobStore,
  instanceId: string,
  snapshotId: string,
): Promise<Manifest> {
  const key = keys.manifest(instanceId, snapshotId);
  const bytes = await vault.get(key);
  if (!bytes) throw new SnapshotNotFoundError(instanceId, vault.location, snapshotId);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw badManifest(instanceId, snapshotId, key, 'not JSON', cause);
  }
  const result = ManifestSchema.safeParse(parsed);
  if (!result.success) {
    // Name the field, so whoever restores by hand knows where in the manifest to look.
    const { field, message } = firstProblem(result.error);
    throw badManifest(
      instanceId,
      snapshotId,
      key,
      field ? `${field}: ${message}` : message,
      result.error,
    );
  }
  for (const [field, expected] of [
    ['instanceId', instanceId],
    ['snapshotId', snapshotId],
  ] as const) {
    if (result.data[field] !== expected) {
      const found = JSON.stringify(result.data[field].slice(0, 100));
      const detail = `${field}: names another instance or snapshot (${found}, expected "${expected}")`;
      throw badManifest(instanceId, snapshotId, key, detail);
    }
  }
  return result.data;
}

function badManifest(
  instanceId: string,
  snapshotId: string,
  key: string,
  detail: string,
  cause?: unknown,
) {
  return new SnapshotIntegrityError(
    instanceId,
    snapshotId,
    [{ kind: 'bad-manifest', name: key, affectedObjects: [], detail }],
    { cause },
  );
}

/** The newest committed manifest in a bucket, or undefined when none is committed yet. */
export async function latestCommittedManifest(
  vault: BlobStore,
  instanceId: string,
): Promise<Manifest | undefined> {
  const [newest] = await listCommittedSnapshotIds(vault, instanceId);
  return newest ? readManifest(vault, instanceId, newest) : undefined;
}
