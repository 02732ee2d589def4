import type { LifeboatConfig } from '../../shared/config/schema.ts';

/**
 * What a verb file exports for the command line: its name, help and options, and what it runs.
 * `bin/commands/index.ts` lists them; `bin/cli/program.ts` turns each into a commander command.
 */

/** One option of a verb, as commander spells it. */
export interface VerbOption {
  /** e.g. `--region <region>` (takes a value) or `--approve` (a switch). */
  flags: string;
  description: string;
  /**
   * Values are gathered in a list, every use adding one (`--instance a --instance b`); the verb
   * checks how many it takes, so one given twice is named rather than silently overwritten.
   */
  repeatable?: boolean;
}

/** What a verb receives once the command line is parsed and the config is loaded. */
export interface VerbInput {
  config: LifeboatConfig;
  configPath: string;
  /** The verb's options by their long name (`from-region`, `dry-run`); unset ones absent. */
  options: Record<string, unknown>;
  /** Positional arguments (`dns precreate`, `local up`). */
  args: string[];
  /** `--endpoint-url`, when given. */
  endpointUrl?: string;
}

/** One verb of the `lifeboat` command line. */
export interface Verb {
  name: string;
  /** Positional arguments in commander syntax, e.g. `[action]`. */
  args?: string;
  /** One line for `lifeboat --help`. */
  summary: string;
  /** Shown after the options by `lifeboat <verb> --help` (examples, what it writes). */
  details?: string;
  options: readonly VerbOption[];
  /**
   * Talks to AWS: without `--endpoint-url`, `AWS_ENDPOINT_URL` or `AWS_PROFILE` it uses the
   * running local world.
   */
  needsAws: boolean;
  run(input: VerbInput): Promise<number>;
}

/** Option specs every verb that names instances, regions or runs shares. */
export const OPTION = {
  instance: {
    flags: '--instance <id>',
    description: 'an instance of the config (repeatable)',
    repeatable: true,
  },
  oneInstance: {
    flags: '--instance <id>',
    description: 'the instance (exactly one)',
    repeatable: true,
  },
  approve: { flags: '--approve', description: 'execute (without it: show the plan, exit 3)' },
  json: { flags: '--json', description: 'machine-readable output' },
  fromRegion: {
    flags: '--from-region <region>',
    description: 'region to act from (default: the first configured one not failing)',
  },
  dryRun: { flags: '--dry-run', description: 'say what would be deleted; delete nothing' },
} as const satisfies Record<string, VerbOption>;

/** `--region <region>`, saying which region the verb means by it. */
export function regionOption(
  description: string,
  options: { repeatable?: boolean } = {},
): VerbOption {
  return { flags: '--region <region>', description, ...options };
}

/** Options of the snapshot verbs (`snapshot`, `snapshots`, `verify`, `restore`, `gc`). */
export interface SnapshotVerbOptions {
  instance?: string[];
  region?: string;
  from?: string;
  to?: string;
  snapshot?: string;
  fallback?: boolean;
  api?: string;
  due?: boolean;
  'dry-run'?: boolean;
}
