import { CommanderError } from 'commander';
import {
  ConfigError,
  LifeboatError,
  UnknownInstanceError,
  UnknownRegionError,
  UsageError,
} from '../../shared/errors.ts';

/**
 * The documented exit codes of every verb (README "CLI", docs/operations.md): scripts and CI
 * branch on them, so a failed operation must never look like a typo, nor a typo like an outage.
 */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The operation failed or cannot be done now (a corrupt snapshot, an unreachable region). */
  failed: 1,
  /** Bad arguments or config: nothing was attempted. */
  usage: 2,
  /** A plan was shown; re-run with --approve to execute it. */
  approvalNeeded: 3,
} as const;

/** One of the documented exit codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The text `lifeboat --help` and every verb's help end with. */
export const EXIT_CODES_HELP = `
exit codes: ${EXIT.ok} ok, ${EXIT.failed} operation failed, ${EXIT.usage} usage (bad arguments or config), ${EXIT.approvalNeeded} approval needed (re-run with --approve)`;

/** True for errors that mean the invocation itself was wrong, before anything was attempted. */
export function isUsageError(error: unknown): boolean {
  return (
    error instanceof CommanderError ||
    error instanceof UsageError ||
    error instanceof ConfigError ||
    error instanceof UnknownInstanceError ||
    error instanceof UnknownRegionError
  );
}

/** The exit code for an error a verb threw: usage errors 2, every other failure 1. */
export function exitCodeFor(error: unknown): ExitCode {
  return isUsageError(error) ? EXIT.usage : EXIT.failed;
}

/**
 * The lines to print for an error a verb threw. Lifeboat's own errors and the parser's are one
 * line; anything else is a bug or an SDK failure, shown with its stack only: an SDK error's
 * enumerable fields can echo the request's access key id and session token (S3's
 * SignatureDoesNotMatch body does), and printing the object would print them.
 */
export function errorReport(error: unknown): string {
  if (error instanceof CommanderError) return `lifeboat: ${error.message.replace(/^error: /, '')}`;
  if (error instanceof LifeboatError) return `lifeboat: ${error.message}`;
  return error instanceof Error
    ? (error.stack ?? `${error.name}: ${error.message}`)
    : String(error);
}
