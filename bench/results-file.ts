import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIOME = join(dirname(fileURLToPath(import.meta.url)), '../node_modules/.bin/biome');

/**
 * Writes a benchmark's results as JSON the way Biome formats it: `npm test` lints JSON too, so
 * a results file written with JSON.stringify alone would fail CI once committed.
 */
export function writeResultsFile(file: string, results: unknown): void {
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  try {
    execFileSync(BIOME, ['format', '--write', file], { stdio: 'ignore' });
  } catch {
    console.warn(`could not run biome on ${file}; run \`npm run format\` before committing it`);
  }
}
