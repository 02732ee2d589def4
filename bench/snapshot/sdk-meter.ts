import type { S3Client } from '@aws-sdk/client-s3';

/** What lifeboat's own S3 clients did during one phase, seen from inside the SDK. */
export interface SdkTally {
  /** Commands by name, counted once per call (the `initialize` step). */
  commands: Record<string, number>;
  /** HTTP attempts, retries included (the `deserialize` step runs once per attempt). */
  attempts: number;
  /** Request body bytes sent (Content-Length of each attempt). */
  bytesUp: number;
  /** Response body bytes received (Content-Length of each response). */
  bytesDown: number;
  /** The same, by bucket: what each backup bucket (one per region) served. */
  bytesDownByBucket: Record<string, number>;
}

function emptyTally(): SdkTally {
  return { commands: {}, attempts: 0, bytesUp: 0, bytesDown: 0, bytesDownByBucket: {} };
}

/** The bucket of a request: the first path segment (path-style, as against moto) or host label. */
function bucketOf(request: unknown): string {
  const { path, hostname } = (request ?? {}) as { path?: string; hostname?: string };
  const segment = path?.split('/')[1];
  return segment || hostname?.split('.')[0] || 'unknown';
}

function contentLength(headers: unknown): number {
  if (!headers || typeof headers !== 'object') return 0;
  const value = (headers as Record<string, string | undefined>)['content-length'];
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Counts the requests of the cached per-region S3 clients that lifeboat's adapters use
 * (shared/adapters/aws-clients.ts), the same way test/support/s3.ts does, plus attempts and
 * body bytes. It only counts between `start()` and `stop()`.
 */
export class SdkMeter {
  private current: SdkTally | undefined;

  attach(client: S3Client, label: string): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const tally = this.current;
        if (tally) {
          const name = context.commandName ?? 'unknown';
          tally.commands[name] = (tally.commands[name] ?? 0) + 1;
        }
        return next(args);
      },
      { step: 'initialize', name: `bench-commands-${label}` },
    );
    client.middlewareStack.add(
      (next) => async (args) => {
        const tally = this.current;
        if (!tally) return next(args);
        tally.attempts += 1;
        tally.bytesUp += contentLength(
          (args.request as { headers?: unknown } | undefined)?.headers,
        );
        const result = await next(args);
        const down = contentLength((result.response as { headers?: unknown } | undefined)?.headers);
        tally.bytesDown += down;
        const bucket = bucketOf(args.request);
        tally.bytesDownByBucket[bucket] = (tally.bytesDownByBucket[bucket] ?? 0) + down;
        return result;
      },
      { step: 'deserialize', name: `bench-attempts-${label}` },
    );
  }

  start(): void {
    this.current = emptyTally();
  }

  stop(): SdkTally {
    const tally = this.current ?? emptyTally();
    this.current = undefined;
    tally.commands = Object.fromEntries(
      Object.entries(tally.commands).sort(([a], [b]) => a.localeCompare(b)),
    );
    return tally;
  }
}
