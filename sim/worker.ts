import { parentPort } from 'node:worker_threads';
import { runSeed } from './run-seed.ts';

/** One simulation worker: runs the seeds it is sent, one at a time, and answers each. */
parentPort?.on('message', (seed: number) => {
  void runSeed(seed).then(({ trace, ...rest }) => {
    parentPort?.postMessage(rest.violations.length > 0 ? { ...rest, trace } : rest);
  });
});
