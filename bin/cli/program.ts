import { Command, CommanderError, type Option } from 'commander';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../shared/config/load.ts';
import { UsageError } from '../../shared/errors.ts';
import { runningLocalEndpoint, useLocalEndpoint } from '../commands/local.ts';
import { notApplicable } from './args.ts';
import { EXIT_CODES_HELP } from './exit-codes.ts';
import type { Verb, VerbOption } from './verb.ts';

/**
 * The `lifeboat` command line: one commander command per verb, with its own options and
 * `--help`, and the options every verb takes (`--config`, `--endpoint-url`). Parsing errors
 * are thrown (never `process.exit`), so bin/lifeboat.ts maps every failure to one exit code.
 */

/** A repeatable option's collector: `--instance a --instance b` gives ['a', 'b']. */
const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

function addOption(command: Command, option: VerbOption): void {
  if (option.repeatable) command.option(option.flags, option.description, collect);
  else command.option(option.flags, option.description);
}

/** Commander's option values keyed by the long names the verbs read (`from-region`). */
function optionValues(command: Command): Record<string, unknown> {
  const values = command.opts();
  const out: Record<string, unknown> = {};
  for (const option of command.options as readonly Option[]) {
    const value = values[option.attributeName()];
    if (value !== undefined && option.long) out[option.long.replace(/^--/, '')] = value;
  }
  return out;
}

/** Points the SDK where the verb should talk: --endpoint-url, the environment, or local:up. */
function chooseEndpoint(verb: Verb, endpointUrl: string | undefined): void {
  if (endpointUrl !== undefined) {
    if (!/^https?:\/\/[^\s]+$/.test(endpointUrl)) {
      throw new UsageError(`--endpoint-url: not an http(s) URL: ${endpointUrl}`);
    }
    useLocalEndpoint(endpointUrl);
  } else if (verb.needsAws && !process.env.AWS_ENDPOINT_URL && !process.env.AWS_PROFILE) {
    const endpoint = runningLocalEndpoint();
    console.error(`(using the local AWS at ${endpoint})`);
    useLocalEndpoint(endpoint);
  }
}

/** An unknown option of a verb, named with the options the verb does take. */
function verbParseError(verb: Verb, error: CommanderError): Error {
  const flag = /'(--?[^']+)'/.exec(error.message)?.[1];
  if (error.code !== 'commander.unknownOption' || !flag) return error;
  const allowed = verb.options.map((o) => (o.flags.split(/[ ,]/)[0] ?? '').replace(/^--/, ''));
  return notApplicable(verb.name, flag, allowed);
}

/**
 * The program for `verbs`; `done` receives the verb's exit code. Help and parse errors are
 * thrown as CommanderError (exitCode 0 for help).
 */
export function buildProgram(verbs: readonly Verb[], done: (code: number) => void): Command {
  const program = new Command('lifeboat')
    .description('lifeboat: disaster recovery for multi-region API-management instances')
    .usage('<verb> [options]')
    .option(
      '--config <file>',
      'config file (default: LIFEBOAT_CONFIG or the embedded lifeboat.config.yml)',
    )
    .option(
      '--endpoint-url <url>',
      'AWS endpoint (e.g. a moto_server); default AWS_ENDPOINT_URL, then a running local world',
    )
    .helpCommand(false)
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: () => undefined })
    .exitOverride()
    .addHelpText('after', `\nRun lifeboat <verb> --help for a verb's options.${EXIT_CODES_HELP}`);
  for (const verb of verbs) {
    const command = program
      .command(verb.name)
      .summary(verb.summary)
      .description(verb.details ? `${verb.summary}\n\n${verb.details}` : verb.summary)
      .exitOverride((error) => {
        throw verbParseError(verb, error);
      })
      .addHelpText('after', EXIT_CODES_HELP);
    if (verb.args) command.argument(verb.args);
    // Extra operands are refused in the action, naming the first, rather than by commander's
    // "too many arguments" (which does not say which).
    command.allowExcessArguments();
    for (const option of verb.options) addOption(command, option);
    command.action(async () => {
      const args = command.args;
      const extra = args.slice(verb.args ? 1 : 0);
      if (extra.length > 0) {
        throw new UsageError(`${verb.name}: unexpected argument "${extra[0]}"`);
      }
      const globals = program.opts<{ config?: string; endpointUrl?: string }>();
      const configPath = globals.config ?? process.env.LIFEBOAT_CONFIG ?? DEFAULT_CONFIG_PATH;
      const config = loadConfig(configPath);
      chooseEndpoint(verb, globals.endpointUrl);
      done(
        await verb.run({
          config,
          configPath,
          options: optionValues(command),
          args,
          ...(globals.endpointUrl !== undefined ? { endpointUrl: globals.endpointUrl } : {}),
        }),
      );
    });
  }
  return program;
}

/** True when the error is commander having shown help (or the version) as asked: exit 0. */
export function isHelpShown(error: unknown): boolean {
  return (
    error instanceof CommanderError &&
    (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
  );
}
