/*
 * Pacing of API Gateway control-plane calls. AWS throttles the control plane per account
 * (about 10 requests a second, far less for some calls), and a throttled create is a wasted
 * round trip at best. Each call takes a token from the account-wide bucket and from its own
 * bucket when it has a lower limit. Written here rather than taken from a rate-limit package
 * because it must run on the domain's injected clock, so tests and the simulator control time.
 */

/** A rate: `perSecond` tokens a second, up to `burst` at once. */
export interface Rate {
  perSecond: number;
  burst: number;
}

/** The pacing of one account's control plane: a shared rate and per-operation rates. */
export interface PacingPolicy {
  account: Rate;
  operations: Record<string, Rate>;
}

/**
 * AWS's documented API Gateway control-plane limits: 10 requests a second account-wide;
 * CreateDeployment 1 per 5 s, CreateRestApi 1 per 3 s, GetResources 5 per 2 s.
 */
export const AWS_PACING: PacingPolicy = {
  account: { perSecond: 10, burst: 40 },
  operations: {
    CreateDeployment: { perSecond: 0.2, burst: 1 },
    CreateRestApi: { perSecond: 1 / 3, burst: 1 },
    GetResources: { perSecond: 2.5, burst: 5 },
    DeleteRestApi: { perSecond: 1 / 30, burst: 1 },
  },
};

/** No pacing (moto, tests): every call goes at once. */
export const UNPACED: PacingPolicy = {
  account: { perSecond: Number.POSITIVE_INFINITY, burst: 1 },
  operations: {},
};

class Bucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly rate: Rate,
    now: number,
  ) {
    this.tokens = rate.burst;
    this.updatedAt = now;
  }

  /** Milliseconds until a token is free (0: take it now). */
  waitMs(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) / this.rate.perSecond) * 1000);
  }

  take(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.rate.burst, this.tokens + elapsed * this.rate.perSecond);
    this.updatedAt = now;
  }
}

/** Clock and sleep, injected. */
export interface PacerTime {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Paces calls by operation name; `acquire` resolves when the call may go. */
export class Pacer {
  private readonly account: Bucket | undefined;
  private readonly operations = new Map<string, Bucket>();
  private queue: Promise<void> = Promise.resolve();
  /** Total milliseconds spent waiting, for reports and the projected restore time. */
  waitedMs = 0;
  /** Calls paced so far, by operation. */
  readonly calls = new Map<string, number>();

  constructor(
    private readonly policy: PacingPolicy,
    private readonly time: PacerTime,
  ) {
    this.account = Number.isFinite(policy.account.perSecond)
      ? new Bucket(policy.account, time.now())
      : undefined;
  }

  /** Waits for both buckets, then takes a token from each. Calls are served in order. */
  acquire(operation: string): Promise<void> {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    const turn = this.queue.then(() => this.wait(operation));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private bucketFor(operation: string): Bucket | undefined {
    const rate = this.policy.operations[operation];
    if (!rate) return undefined;
    let bucket = this.operations.get(operation);
    if (!bucket) {
      bucket = new Bucket(rate, this.time.now());
      this.operations.set(operation, bucket);
    }
    return bucket;
  }

  private async wait(operation: string): Promise<void> {
    const own = this.bucketFor(operation);
    for (;;) {
      const now = this.time.now();
      const ms = Math.max(this.account?.waitMs(now) ?? 0, own?.waitMs(now) ?? 0);
      if (ms === 0) break;
      this.waitedMs += ms;
      await this.time.sleep(ms);
    }
    const now = this.time.now();
    this.account?.take(now);
    own?.take(now);
  }
}

/**
 * The time `calls` (operation → count) take under `policy`, in seconds: each operation's own
 * limit and the account's, whichever binds. Used to project a restore's duration on AWS.
 */
export function projectSeconds(calls: ReadonlyMap<string, number>, policy: PacingPolicy): number {
  let total = 0;
  let slowest = 0;
  for (const [operation, count] of calls) {
    total += count;
    const rate = policy.operations[operation];
    if (rate) slowest = Math.max(slowest, Math.max(0, count - rate.burst) / rate.perSecond);
  }
  const account = Number.isFinite(policy.account.perSecond)
    ? Math.max(0, total - policy.account.burst) / policy.account.perSecond
    : 0;
  return Math.max(account, slowest);
}
