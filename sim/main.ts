import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { judge } from './open-bugs.ts';
import type { SeedResult } from './run-seed.ts';

/**
 * `npm run simulate -- --seeds N [--from S]` runs seeds S..S+N-1 and prints a one-line summary;
 * `--seed S` replays one seed and prints what it did. Exits 1 when any invariant broke, 2 on a
 * bad argument.
 */

const USAGE = `usage: npm run simulate -- [--seeds N] [--from S] [--workers W]
       npm run simulate -- --seed S [--trace]`;

/** What the command line asks for. */
export interface SimulateArgs {
  from: number;
  count: number;
  workers: number;
  trace: boolean;
}

/** Thrown for a bad command line: the message names the argument. */
export class SimulateUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulateUsageError';
  }
}

function wholeNumber(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw)))
    throw new SimulateUsageError(`--${name}: "${raw}" is not a whole number of at least ${min}`);
  return Number(raw);
}

/** Parses and checks the command line. */
export function parseSimulateArgs(argv: readonly string[]): SimulateArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        seeds: { type: 'string' },
        from: { type: 'string' },
        seed: { type: 'string' },
        workers: { type: 'string' },
        trace: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new SimulateUsageError((error as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const seed = wholeNumber('seed', v.seed as string | undefined, 0);
  const seeds = wholeNumber('seeds', v.seeds as string | undefined, 1);
  const from = wholeNumber('from', v.from as string | undefined, 0);
  const workers = wholeNumber('workers', v.workers as string | undefined, 1);
  if (seed !== undefined && (seeds !== undefined || from !== undefined))
    throw new SimulateUsageError('--seed replays one seed; it cannot go with --seeds or --from');
  if (v.trace && seed === undefined)
    throw new SimulateUsageError('--trace: only with --seed (one replayed seed)');
  return {
    from: seed ?? from ?? 0,
    count: seed !== undefined ? 1 : (seeds ?? 100),
    workers: Math.min(workers ?? availableParallelism(), seed !== undefined ? 1 : 64),
    trace: v.trace === true,
  };
}

/** What a worker sends back per seed (the trace stays behind unless the seed failed). */
type Reply = Omit<SeedResult, 'trace'> & { trace?: SeedResult['trace'] };

async function runInWorkers(args: SimulateArgs, onResult: (r: Reply) => void): Promise<void> {
  const seeds = Array.from({ length: args.count }, (_, i) => args.from + i);
  const workers = Math.max(1, Math.min(args.workers, seeds.length));
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, () => {
      const worker = new Worker(new URL('./worker.ts', import.meta.url), {
        execArgv: process.execArgv,
      });
      return new Promise<void>((resolve, reject) => {
        const feed = () => {
          const seed = seeds[next];
          next += 1;
          if (seed === undefined) {
            void worker.terminate().then(() => resolve());
            return;
          }
          worker.postMessage(seed);
        };
        worker.on('message', (reply: Reply) => {
          onResult(reply);
          feed();
        });
        worker.on('error', reject);
        feed();
      });
    }),
  );
}

async function main(argv: readonly string[]): Promise<number> {
  let args: SimulateArgs;
  try {
    args = parseSimulateArgs(argv);
  } catch (error) {
    if (!(error instanceof SimulateUsageError)) throw error;
    process.stderr.write(`simulate: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  const started = performance.now();
  const outcomes: Reply[] = [];
  let steps = 0;
  let stuck = 0;
  let runs = 0;
  if (args.count === 1) {
    const { runSeed } = await import('./run-seed.ts');
    const result = await runSeed(args.from, { keepTrace: args.trace });
    process.stdout.write(`seed ${result.seed}: ${result.scenario}\n`);
    if (args.trace)
      for (const entry of result.trace)
        process.stdout.write(`  ${new Date(entry.t).toISOString()} ${JSON.stringify(entry)}\n`);
    steps += result.steps;
    stuck += result.silentlyStuck;
    runs += result.runs;
    outcomes.push(result);
  } else {
    await runInWorkers(args, (reply) => {
      steps += reply.steps;
      stuck += reply.silentlyStuck;
      runs += reply.runs;
      outcomes.push(reply);
    });
  }
  outcomes.sort((a, b) => a.seed - b.seed);
  const verdict = judge(outcomes);
  const failing = new Set(verdict.failed);
  for (const result of outcomes.filter((r) => r.violations.length > 0)) {
    const label = failing.has(result.seed) ? 'FAILED' : 'KNOWN (open bug)';
    process.stdout.write(`${label} seed ${result.seed}: ${result.scenario}\n`);
    for (const v of result.violations)
      process.stdout.write(`  ${v.invariant} at ${new Date(v.t).toISOString()}: ${v.message}\n`);
    process.stdout.write(`  replay: npm run simulate -- --seed ${result.seed} --trace\n`);
  }
  for (const seed of verdict.nowPassing)
    process.stdout.write(
      `NOW PASSING seed ${seed}: listed in sim/open-bugs.ts; if its bug is fixed, take it off the list\n`,
    );
  const last = args.from + args.count - 1;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const bad = verdict.failed.length + verdict.nowPassing.length;
  const knownCount = [...verdict.known.values()].reduce((n, seeds) => n + seeds.length, 0);
  process.stdout.write(
    `simulate: ${args.count} seed${args.count === 1 ? '' : 's'} (${args.from}..${last}) ${bad === 0 ? 'passed' : 'ran'}, ${verdict.failed.length} failed, ${knownCount} known (open bugs, sim/open-bugs.ts), ${verdict.nowPassing.length} listed but passing, ${steps} steps, ${runs} runs (${stuck} resumed by an operator), ${seconds} s\n`,
  );
  return bad === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`simulate: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
