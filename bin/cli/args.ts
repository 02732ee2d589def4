import { findInstance, findRegion } from '../../shared/config/load.ts';
import type { InstanceConfig, LifeboatConfig } from '../../shared/config/schema.ts';
import { UsageError } from '../../shared/errors.ts';

/**
 * Argument checks the verbs share. Every one runs before any I/O and throws a UsageError (or
 * UnknownInstanceError / UnknownRegionError) that names the argument, so a typo costs an exit
 * code 2, never a request.
 */

/** Options every verb accepts (the program consumes them before the verb runs). */
const GLOBAL_OPTIONS = new Set(['config', 'endpoint-url', 'help']);

/** A run id as the claims name them: `<instance>-g<generation>`. */
export const RUN_ID = /^[a-z0-9][a-z0-9-]{0,62}-g[1-9]\d*$/;

/** `--run RUN_ID` when given: a well-formed run id, or a usage error naming the option. */
export function checkRunId(runId: string): string {
  if (!RUN_ID.test(runId))
    throw new UsageError(
      `--run: "${runId}" is not a run id (expected <instance>-g<generation>, e.g. petstore-g1)`,
    );
  return runId;
}

/** `--run RUN_ID`, required and well formed. */
export function requiredRunId(verb: string, runId: string | undefined): string {
  if (runId === undefined || runId === '')
    throw new UsageError(`${verb}: --run RUN_ID is required`);
  return checkRunId(runId);
}

/**
 * Refuses any option the verb does not take. The command line refuses them already (each verb
 * declares its options); this guards the verbs called directly, as the tests and scripts do.
 */
export function checkOptions(
  verb: string,
  options: Record<string, unknown>,
  allowed: readonly string[],
): void {
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || GLOBAL_OPTIONS.has(name) || allowed.includes(name)) continue;
    throw notApplicable(verb, `--${name}`, allowed);
  }
}

/** `<verb>: --x does not apply here (it takes --a, --b)`. */
export function notApplicable(verb: string, flag: string, allowed: readonly string[]) {
  return new UsageError(
    `${verb}: ${flag} does not apply here (it takes ${allowed.map((o) => `--${o}`).join(', ') || 'no options'})`,
  );
}

/** Exactly one `--instance`, and a configured one. */
export function oneInstance(
  config: LifeboatConfig,
  ids: readonly string[] | undefined,
  verb: string,
): InstanceConfig {
  const given = ids ?? [];
  if (given.length === 0) throw new UsageError(`${verb}: --instance ID is required`);
  if (given.length > 1) {
    throw new UsageError(`${verb}: --instance: give exactly one instance, got ${given.join(', ')}`);
  }
  return findInstance(config, given[0] as string);
}

/** The instances `--instance` names (each checked), or null for all of them. */
export function someInstances(
  config: LifeboatConfig,
  ids: readonly string[] | undefined,
): Set<string> | null {
  if (!ids || ids.length === 0) return null;
  return new Set(ids.map((id) => findInstance(config, id).id));
}

/** A required region option, and a configured region. */
export function requiredRegion(
  config: LifeboatConfig,
  verb: string,
  option: string,
  value: string | undefined,
): string {
  if (value === undefined || value === '') {
    throw new UsageError(`${verb}: --${option} REGION is required`);
  }
  return findRegion(config, value).name;
}

/** The region the CLI acts from: `--from-region`, else the first configured one not failing. */
export function actingRegion(
  config: LifeboatConfig,
  requested: string | undefined,
  failing?: string,
): string {
  if (requested !== undefined) {
    const name = findRegion(config, requested).name;
    if (name === failing) {
      throw new UsageError(
        `--from-region: ${name} is the region being failed over; act from another region`,
      );
    }
    return name;
  }
  const here = config.regions.find((r) => r.name !== failing)?.name;
  if (!here) throw new UsageError(`no configured region besides ${failing} to act from`);
  return here;
}

/** A whole-number option in [min, max], or `fallback` when it is absent. */
export function wholeNumber(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `--${name}: expected a whole number from ${min} to ${max}, got "${value}"`,
    );
  }
  return n;
}
