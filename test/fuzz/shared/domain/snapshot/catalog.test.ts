import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readManifest } from '../../../../../shared/domain/snapshot/catalog.ts';
import { FORMAT_V1, keys } from '../../../../../shared/domain/snapshot/format.ts';
import { SnapshotIntegrityError } from '../../../../../shared/errors.ts';
import { InMemoryBlobStore } from '../../../../fakes/blob-store.ts';
import { isoUtc, word } from '../../../support/events.ts';
import { fuzzParser } from '../../../support/harness.ts';
import { matchesAny } from '../../../support/json-paths.ts';

/**
 * Version-1 manifests (what writers stored before version 2; still restorable) are read back
 * from S3 by every restore: a corrupt or hand-edited one must be a
 * named integrity problem (kind bad-manifest, detail naming the field), never a crash.
 */

const INSTANCE = 'petstore';
const SNAPSHOT = '20261125T060000Z';

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
const sha = hex(32);

const manifest = fc.uniqueArray(sha, { maxLength: 4 }).chain((chunkIds) =>
  fc.record({
    format: fc.constant(FORMAT_V1),
    instanceId: fc.constant(INSTANCE),
    snapshotId: fc.constant(SNAPSHOT),
    createdAt: isoUtc,
    sourceRegion: word,
    region: word,
    configDigest: sha,
    totals: fc.record({ objects: fc.nat(), bytes: fc.nat() }),
    objects: fc.array(
      fc.record({
        key: word,
        size: fc.nat(),
        etag: fc.string({ maxLength: 34 }),
        sha256: sha,
        md5: hex(16),
        chunks: fc.subarray(chunkIds),
      }),
      { maxLength: 3 },
    ),
    chunks: fc
      .tuple(
        ...chunkIds.map(() =>
          fc.record({
            pack: sha,
            offset: fc.nat(),
            length: fc.integer({ min: 1, max: 1 << 24 }),
            size: fc.nat(),
          }),
        ),
      )
      .map((locations) => Object.fromEntries(chunkIds.map((id, i) => [id, locations[i]]))),
  }),
);

/** The bytes S3 would hold for an input: raw bytes as they are, anything else as JSON. */
function stored(input: unknown): Uint8Array {
  if (input instanceof Uint8Array) return input;
  try {
    return Buffer.from(JSON.stringify(input) ?? 'undefined');
  } catch {
    return Buffer.from(String(typeof input)); // bigint, cycles: not JSON, which is the point
  }
}

/**
 * The field a detail names: "objects[0].sha256: <zod message>" → "objects[0].sha256". Found by
 * stripping one of zod's own messages from the end rather than by parsing the path, since
 * record keys (chunk ids) may hold any character.
 */
function fieldOfDetail(error: unknown): string {
  const integrity = error as SnapshotIntegrityError;
  const detail = detailOf(error);
  const issues = integrity.cause instanceof z.ZodError ? integrity.cause.issues : [];
  for (const { message } of issues) {
    if (detail === message) return '';
    if (detail.endsWith(`: ${message}`)) return detail.slice(0, -(message.length + 2));
  }
  return /^(\w+): (names another |unknown snapshot format)/.exec(detail)?.[1] ?? '';
}

const detailOf = (error: unknown) => (error as SnapshotIntegrityError).problems[0]?.detail ?? '';

describe('readManifest regressions', () => {
  it('names the field of a malformed manifest in the problem detail', async () => {
    // Found by the fuzzer: the detail was zod's bare message, with no field.
    const [doc] = fc.sample(manifest, 1);
    const vault = new InMemoryBlobStore();
    await vault.put(
      keys.manifest(INSTANCE, SNAPSHOT),
      stored({ ...(doc as object), configDigest: 'x' }),
    );
    const error = await readManifest(vault, INSTANCE, SNAPSHOT).catch((e: unknown) => e);
    expect(detailOf(error)).toMatch(/^configDigest: /);
  });
});

describe('readManifest', () => {
  fuzzParser({
    name: 'snapshot manifest',
    valid: manifest,
    async parse(input) {
      const vault = new InMemoryBlobStore();
      await vault.put(keys.manifest(INSTANCE, SNAPSHOT), stored(input));
      return readManifest(vault, INSTANCE, SNAPSHOT);
    },
    check(input, output) {
      const doc = input as { chunks: Record<string, { pack: string }> };
      const packs = [...new Set(Object.values(doc.chunks).map((c) => c.pack))].sort();
      expect(output).toEqual({ ...doc, packs });
    },
    isValidationError: (error) =>
      error instanceof SnapshotIntegrityError && error.problems[0]?.kind === 'bad-manifest',
    fieldOf: fieldOfDetail,
    // The error's message lists the problem's kind and key; the detail carries the field.
    messageOf: detailOf,
    // The schema does not tie chunk locations to the objects listing them; restore reports
    // a chunk without a location as a bad-manifest problem of its own.
    optional: ['chunks.*'],
    // Chunk ids are keys of a record; zod drops a "__proto__" key there rather than failing,
    // which loses nothing a restore reads (every chunk an object lists must still be found).
    objectMode: (path) => (matchesAny(path, ['chunks']) ? 'record' : 'strict'),
    junk: fc.oneof(
      fc.uint8Array({ maxLength: 512 }),
      fc.string({ unit: 'binary' }).map((s) => Buffer.from(s)),
    ),
    runs: 400,
  });
});
