import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  ENTRIES_FORMAT,
  type Entries,
  encodeMember,
  keys,
  type MemberRef,
  sha256Hex,
} from '../../../../../shared/domain/snapshot/format.ts';
import { readEntries } from '../../../../../shared/domain/snapshot/members.ts';
import { SnapshotIntegrityError } from '../../../../../shared/errors.ts';
import { InMemoryBlobStore } from '../../../../fakes/blob-store.ts';
import { INSTANCE } from '../../../../worlds/snapshot.ts';

const SNAPSHOT = '20261125T060000Z';
const entries: Entries = { format: ENTRIES_FORMAT, objects: [], deleted: ['gone'] };

/** A pack holding `member` after a few bytes of padding, stored in a fresh bucket. */
async function stored(member: Buffer) {
  const raw = encodeMember(entries);
  const pack = Buffer.concat([Buffer.from('pad'), member]);
  const ref: MemberRef = {
    id: sha256Hex(raw),
    pack: sha256Hex(pack),
    offset: 3,
    length: member.length,
    size: raw.length,
  };
  const vault = new InMemoryBlobStore();
  await vault.put(keys.pack(INSTANCE, ref.pack), pack);
  return { vault, ref, raw };
}

async function problemOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SnapshotIntegrityError);
  return (error as SnapshotIntegrityError).problems[0];
}

describe('readEntries', () => {
  it('returns the member cut from its pack when its bytes hash to its id', async () => {
    const { vault, ref } = await stored(gzipSync(encodeMember(entries)));
    expect(await readEntries(vault, INSTANCE, SNAPSHOT, ref)).toEqual(entries);
  });

  it('names the pack as missing when the bucket lacks it', async () => {
    const { ref } = await stored(gzipSync(encodeMember(entries)));
    const problem = await problemOf(readEntries(new InMemoryBlobStore(), INSTANCE, SNAPSHOT, ref));
    expect(problem?.kind).toBe('missing-pack');
    expect(problem?.detail).toContain(`metadata entries ${ref.id}`);
  });

  it('reports a bad member when it does not gunzip', async () => {
    const { vault, ref } = await stored(Buffer.from('not gzip at all'));
    const problem = await problemOf(readEntries(vault, INSTANCE, SNAPSHOT, ref));
    expect(problem).toMatchObject({ kind: 'bad-manifest', detail: 'does not decompress' });
  });

  it('reads the pack again when a cached copy no longer hashes to the id', async () => {
    const { vault, ref, raw } = await stored(gzipSync(encodeMember(entries)));
    const puts: string[] = [];
    const cache = {
      get: async () => Buffer.from('tampered'),
      put: async (id: string, bytes: Uint8Array) => {
        puts.push(`${id}:${bytes.length}`);
      },
    };
    expect(await readEntries(vault, INSTANCE, SNAPSHOT, ref, { cache })).toEqual(entries);
    expect(puts).toEqual([`${ref.id}:${raw.length}`]);
  });

  it('reads a member once for every caller when the reads are shared', async () => {
    const { vault, ref } = await stored(gzipSync(encodeMember(entries)));
    let reads = 0;
    const shared = {
      seen: new Map<string, Promise<unknown>>(),
      member<T>(id: string, read: () => Promise<T>): Promise<T> {
        if (!this.seen.has(id)) {
          reads += 1;
          this.seen.set(id, read());
        }
        return this.seen.get(id) as Promise<T>;
      },
    };
    const [a, b] = await Promise.all([
      readEntries(vault, INSTANCE, SNAPSHOT, ref, { shared }),
      readEntries(vault, INSTANCE, SNAPSHOT, ref, { shared }),
    ]);
    expect(a).toBe(b);
    expect(reads).toBe(1);
  });
});
