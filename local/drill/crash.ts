import { Worker } from 'node:worker_threads';
import { InvocationKilledError } from '../../shared/errors.ts';
import type { InvocationInput } from './invocation-worker.ts';

/** A drill's real crash: which step function dies, and how far into its step. */
export interface CrashPlan {
  fn: InvocationInput['fn'];
  /** Killed this long after its thread started the step (ms). */
  afterMs: number;
}

/** What happened to the invocation chosen to die. */
export interface CrashRecord {
  fn: string;
  afterMs: number;
  /** False when the step finished before the kill came (then nothing crashed). */
  killed: boolean;
  at: Date;
}

/**
 * Runs one invocation in a worker thread and terminates the thread `afterMs` after it began
 * its step: whatever it was doing (a PUT in flight, a run record half-written across buckets)
 * stops there. Throws InvocationKilledError, as a dead Lambda's caller sees a failed
 * invocation, so the pump's Lambda-style retry takes over.
 */
export async function invokeAndKill(
  input: InvocationInput,
  afterMs: number,
  record: (crash: CrashRecord) => void,
): Promise<unknown> {
  // tsx's loader in the thread too, whatever started this process (tsx, vitest).
  const worker = new Worker(new URL('./invocation-worker.ts', import.meta.url), {
    workerData: input,
    execArgv: ['--import', 'tsx'],
  });
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      fn();
    };
    worker.on('message', (message: { kind: string; result?: unknown; message?: string }) => {
      if (message.kind === 'started') {
        timer = setTimeout(() => {
          finish(() => {
            record({ fn: input.fn, afterMs, killed: true, at: new Date() });
            void worker.terminate();
            reject(new InvocationKilledError(input.fn, afterMs));
          });
        }, afterMs);
        return;
      }
      finish(() => {
        record({ fn: input.fn, afterMs, killed: false, at: new Date() });
        void worker.terminate();
        if (message.kind === 'done') resolve(message.result);
        else reject(new Error(message.message));
      });
    });
    worker.on('error', (error) => finish(() => reject(error)));
  });
}

/**
 * Wraps a function's in-process handler so that its first invocation runs in a thread of its
 * own and is killed `plan.afterMs` into its step; Lambda's retry (the pump's) then runs the
 * step again in-process, from what the run record says.
 */
export function killingFirstInvocation(
  inProcess: ((event: unknown) => Promise<unknown>) | undefined,
  plan: CrashPlan,
  world: Pick<InvocationInput, 'config' | 'controlRegion' | 'endpoint'>,
  record: (crash: CrashRecord) => void,
): (event: unknown) => Promise<unknown> {
  let armed = true;
  return async (event) => {
    if (!armed || !inProcess) return inProcess?.(event);
    armed = false;
    const input: InvocationInput = {
      fn: plan.fn,
      config: JSON.parse(JSON.stringify(world.config)),
      controlRegion: world.controlRegion,
      endpoint: world.endpoint,
      event,
    };
    return invokeAndKill(input, plan.afterMs, record);
  };
}
