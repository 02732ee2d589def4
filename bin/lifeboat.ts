import { EXIT, errorReport, exitCodeFor } from './cli/exit-codes.ts';
import { buildProgram, isHelpShown } from './cli/program.ts';
import { VERBS } from './commands/index.ts';

/**
 * The `lifeboat` CLI. Each verb lives in bin/commands/<verb>.ts (listed in
 * bin/commands/index.ts); this file only maps outcomes to the documented exit codes: the verb's
 * own code, 0 for help, 2 for usage errors (bad arguments or config) and 1 for anything that
 * failed while operating.
 */
async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.usage;
  const program = buildProgram(VERBS, (verbCode) => {
    code = verbCode;
  });
  if (argv.length === 0) {
    // No verb: the overview, as a usage error (a script that forgot its verb should fail).
    program.outputHelp();
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (isHelpShown(error)) return EXIT.ok;
    console.error(errorReport(error));
    return exitCodeFor(error);
  }
  return code;
}

// A verb is done when it returns. Whatever it left running must not keep the process alive: a
// drill whose world is torn down while one of its invocations still retries (a failback that
// did not finish in the drill's time) would otherwise hang the command for minutes. The exit
// waits for stdout and stderr to drain, so a piped report is never cut short.
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
