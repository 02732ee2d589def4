import { MemoryInstanceStore } from '../../shared/adapters/memory/instance-store.ts';
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
  private readonly objects = new MemoryInstanceStore();

  constructor(options: { region?: string; pieceSize?: number } = {}) {
    this.location = `memory://store (${options.region ?? 'test-region-1'})`;
    this.pieceSize = options.pieceSize ?? 4096;
  }

  async list(instanceId: string): Promise<ObjectEntry[]> {
    this.enter({ op: 'list', instanceId, key: '' });
    return this.objects.list(instanceId);
  }

  async *read(instanceId: string, key: string): AsyncIterable<Uint8Array> {
    this.enter({ op: 'read', instanceId, key });
    const body = this.objects.get(instanceId, key);
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
    this.objects.write(instanceId, key, body);
  }

  async delete(instanceId: string, keys: readonly string[]): Promise<void> {
    this.enter({ op: 'delete', instanceId, key: keys[0] ?? '', keys: [...keys] });
    this.objects.delete(instanceId, keys);
  }

  private enter(call: Omit<InstanceCall, 'seq'>): void {
    this.calls.push({ ...call, seq: nextSeq() });
    if (this.unreachable) {
      throw new StorageUnavailableError(
        `${this.location} ${call.instanceId}/${call.key}: connect ECONNREFUSED`,
      );
    }
  }

  /** Puts an object in place without recording a call: test set-up. */
  seed(instanceId: string, key: string, body: Uint8Array | string): void {
    this.objects.write(instanceId, key, Buffer.from(body));
  }

  /** Removes an object without recording a call. */
  unseed(instanceId: string, key: string): void {
    this.objects.delete(instanceId, [key]);
  }

  /** Every object of an instance, key → copy of its bytes, in key order. */
  contents(instanceId: string): Map<string, Buffer> {
    return new Map([...this.objects.contents(instanceId)].map(([k, v]) => [k, Buffer.from(v)]));
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
