import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { BlobStore } from '../../../../../shared/domain/ports.ts';
import { FORMAT_V2, RootSchema, sha256Hex } from '../../../../../shared/domain/snapshot/format.ts';
import { RegionWriter } from '../../../../../shared/domain/snapshot/region-writer.ts';
import {
  packRetention,
  type SnapshotIdentity,
  writeMetadata,
} from '../../../../../shared/domain/snapshot/write-metadata.ts';
import { InMemoryBlobStore } from '../../../../fakes/blob-store.ts';
import { DAY } from '../../../../fakes/clock.ts';

const IDENTITY: SnapshotIdentity = {
  instanceId: 'orders',
  snapshotId: '20261125T060000Z',
  sourceRegion: 'us-east-1',
};
const BODY = Buffer.from('{"a":1}');
const OBJECT = {
  key: 'config.json',
  size: BODY.length,
  etag: '"e"',
  sha256: sha256Hex(BODY),
  md5: '0'.repeat(32),
  chunks: [sha256Hex(BODY)],
};
const META = {
  digest: 'd'.repeat(64),
  bytesTotal: BODY.length,
  createdAt: '2026-11-25T06:00:00.000Z',
  retainUntil: () => undefined,
};

async function writerHoldingTheChunk(vault: InMemoryBlobStore): Promise<RegionWriter> {
  const w = new RegionWriter({ region: 'us-west-2', vault }, 'orders', 1 << 20, () => ({}));
  await w.offer({ id: OBJECT.chunks[0] as string, size: BODY.length, compressed: gzipSync(BODY) });
  await w.finish();
  return w;
}

describe('packRetention', () => {
  it('locks a pack half a period longer than the root when given the root lock', () => {
    const until = new Date('2026-12-25T06:00:00Z');

    const pack = packRetention({ mode: 'COMPLIANCE', until }, 30);

    expect(pack.mode).toBe('COMPLIANCE');
    expect(pack.until.getTime() - until.getTime()).toBe(15 * DAY);
  });
});

describe('writeMetadata', () => {
  it('uploads an entries pack and a locations pack and returns a readable root naming all three packs when every chunk is located', async () => {
    const vault = new InMemoryBlobStore();
    const w = await writerHoldingTheChunk(vault);

    const root = await writeMetadata(IDENTITY, w, [OBJECT], META);

    expect(root).toBeDefined();
    expect(RootSchema.safeParse(root).success).toBe(true);
    expect(root?.layers).toHaveLength(1);
    expect(root?.packs).toHaveLength(3);
    expect(root?.layers[0]?.packs).toEqual(root?.packs);
    expect(root?.region).toBe('us-west-2');
    expect(root?.retainUntil).toBeUndefined();
    expect(vault.keys('instances/orders/packs/')).toHaveLength(3);
    expect(w.packsUploaded).toBe(1);
    expect(w.metadataBytes).toBeGreaterThan(0);
  });

  it('fails the region and returns no root when a chunk has no pack in it', async () => {
    const w = new RegionWriter(
      { region: 'us-west-2', vault: new InMemoryBlobStore() },
      'orders',
      1 << 20,
      () => ({}),
    );

    const root = await writeMetadata(IDENTITY, w, [OBJECT], META);

    expect(root).toBeUndefined();
    expect(w.failure).toMatch(/has no pack in this region/);
  });

  it('fails the region when the vault cannot extend the lock of a pack it reuses', async () => {
    const vault = new InMemoryBlobStore();
    const id = OBJECT.chunks[0] as string;
    const location = (await writerHoldingTheChunk(vault)).written.get(id);
    // A vault without Object Lock support, holding the chunk from an older snapshot whose
    // pack's lock is not known to last as long as the new root's.
    const noLock: BlobStore = {
      location: vault.location,
      put: (key, body, options) => vault.put(key, body, options),
      get: (key) => vault.get(key),
      list: (prefix) => vault.list(prefix),
      delete: (keys) => vault.delete(keys),
    };
    const w = new RegionWriter(
      { region: 'us-west-2', vault: noLock },
      'orders',
      1 << 20,
      () => ({}),
    );
    // The previous snapshot (format 2, so its locations are known) holds the chunk.
    if (location) {
      w.held = new Set([id]);
      w.previous = {
        snapshotId: '20261124T060000Z',
        format: FORMAT_V2,
        packs: [location.pack],
        objects: [OBJECT],
        held: w.held,
        locations: { [id]: location },
      };
    }
    const until = new Date('2026-12-25T06:00:00Z');

    const root = await writeMetadata(
      { ...IDENTITY, objectLock: { mode: 'GOVERNANCE', days: 30 } },
      w,
      [OBJECT],
      { ...META, retainUntil: () => ({ mode: 'GOVERNANCE', until }) },
    );

    expect(location).toBeDefined();
    expect(root).toBeUndefined();
    expect(w.failure).toMatch(/cannot extend Object Lock retention/);
  });
});
