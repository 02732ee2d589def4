import { createHash } from 'node:crypto';
import type { InstanceStore, ObjectEntry } from '../../shared/domain/ports.ts';
import { StorageUnavailableError } from '../../shared/errors.ts';
import { nextSeq } from './sequence.ts';

/** The operations of the InstanceStore port. */
export type InstanceOp = 'list' | 'read' | 'write' | 'delete';

/** One call the code under test made. */
export interface InstanceCall {
  op: InstanceOp;
  instanceId: string;
  /** The object key (read/write) or the first key (delete). */
  key: string;
  keys?: string[];
  bytes?: number;
  seq: number;
}

/** One piece a `read` handed out, so tests can see that large bodies are streamed. */
export interface YieldedPiece {
  key: string;
  bytes: number;
  seq: number;
}

/**
 * An instance store in memory. ETags are the quoted MD5 of the body, as S3 gives for
 * single-part uploads; `read` streams bodies in `pieceSize` pieces, as an HTTP body would.
 */
export class InMemoryInstanceStore implements InstanceStore {
  readonly location: string;
  readonly calls: InstanceCall[] = [];
  readonly pieces: YieldedPiece[] = [];
  unreachable = false;
  /** Size of the pieces `read` yields. */
  pieceSize: number;
  private readonly data = new Map<string, Map<string, Buffer>>();

  constructor(options: { region?: string; pieceSize?: number } = {}) {
    this.location = `memory://store (${options.region ?? 'test-region-1'})`;
    this.pieceSize = options.pieceSize ?? 4096;
  }

  async list(instanceId: string): Promise<ObjectEntry[]> {
    this.enter({ op: 'list', instanceId, key: '' });
    return [...this.objectsOf(instanceId)]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, body]) => ({ key, etag: etagOf(body), size: body.length }));
  }

  async *read(instanceId: string, key: string): AsyncIterable<Uint8Array> {
    this.enter({ op: 'read', instanceId, key });
    const body = this.data.get(instanceId)?.get(key);
    if (!body)
      throw new StorageUnavailableError(`${this.location} ${instanceId}/${key}: NoSuchKey`);
    for (let at = 0; at < body.length; at += this.pieceSize) {
      const piece = Buffer.from(body.subarray(at, at + this.pieceSize));
      this.pieces.push({ key, bytes: piece.length, seq: nextSeq() });
      yield piece;
    }
  }

  async write(instanceId: string, key: string, body: Uint8Array): Promise<void> {
    this.enter({ op: 'write', instanceId, key, bytes: body.byteLength });
    this.objectsOf(instanceId).set(key, Buffer.from(body));
  }

  async delete(instanceId: string, keys: readonly string[]): Promise<void> {
    this.enter({ op: 'delete', instanceId, key: keys[0] ?? '', keys: [...keys] });
    const objects = this.objectsOf(instanceId);
    for (const key of keys) objects.delete(key);
  }

  private enter(call: Omit<InstanceCall, 'seq'>): void {
    this.calls.push({ ...call, seq: nextSeq() });
    if (this.unreachable) {
      throw new StorageUnavailableError(
        `${this.location} ${call.instanceId}/${call.key}: connect ECONNREFUSED`,
      );
    }
  }

  private objectsOf(instanceId: string): Map<string, Buffer> {
    let objects = this.data.get(instanceId);
    if (!objects) {
      objects = new Map();
      this.data.set(instanceId, objects);
    }
    return objects;
  }

  /** Puts an object in place without recording a call: test set-up. */
  seed(instanceId: string, key: string, body: Uint8Array | string): void {
    this.objectsOf(instanceId).set(key, Buffer.from(body));
  }

  /** Removes an object without recording a call. */
  unseed(instanceId: string, key: string): void {
    this.objectsOf(instanceId).delete(key);
  }

  /** Every object of an instance, key → copy of its bytes, in key order. */
  contents(instanceId: string): Map<string, Buffer> {
    return new Map(
      [...this.objectsOf(instanceId)]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, Buffer.from(v)]),
    );
  }

  callsOf(op: InstanceOp): InstanceCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  count(op: InstanceOp): number {
    return this.callsOf(op).length;
  }

  /** Keys passed to `read`, in call order. */
  readKeys(): string[] {
    return this.callsOf('read').map((c) => c.key);
  }

  resetCalls(): void {
    this.calls.length = 0;
    this.pieces.length = 0;
  }
}

/** The ETag S3 gives a single-part upload: the body's MD5 in double quotes. */
export function etagOf(body: Uint8Array): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}
