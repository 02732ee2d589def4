import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetadataCache } from '../domain/ports.ts';

/** At most this many entries; the least recently written go first. */
const MAX_ENTRIES = 256;
const ID = /^[0-9a-f]{64}$/;

/**
 * Snapshot metadata layers cached on local disk (in Lambda, /tmp, which survives between warm
 * invocations). Entries are named by their SHA-256 and re-hashed by every reader, so a stale,
 * partial or foreign file only costs a download. Failures are never errors: a cache that
 * cannot be read or written is an empty cache.
 */
export class FileMetadataCache implements MetadataCache {
  constructor(readonly dir: string = defaultCacheDir()) {}

  async get(id: string): Promise<Uint8Array | undefined> {
    if (!ID.test(id)) return undefined;
    return readFile(join(this.dir, id)).catch(() => undefined);
  }

  async put(id: string, bytes: Uint8Array): Promise<void> {
    if (!ID.test(id)) return;
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(join(this.dir, id), bytes);
      await this.trim();
    } catch {
      // A full or read-only disk: the next run downloads the layer again.
    }
  }

  private async trim(): Promise<void> {
    const names = (await readdir(this.dir)).filter((n) => ID.test(n));
    if (names.length <= MAX_ENTRIES) return;
    const aged = await Promise.all(
      names.map(async (n) => ({ n, t: (await stat(join(this.dir, n))).mtimeMs })),
    );
    aged.sort((a, b) => a.t - b.t);
    for (const { n } of aged.slice(0, aged.length - MAX_ENTRIES)) {
      await rm(join(this.dir, n), { force: true });
    }
  }
}

/** `LIFEBOAT_CACHE_DIR`, else `<tmpdir>/lifeboat-cache` (Lambda: /tmp/lifeboat-cache). */
export function defaultCacheDir(): string {
  return process.env.LIFEBOAT_CACHE_DIR || join(tmpdir(), 'lifeboat-cache');
}
