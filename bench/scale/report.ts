/**
 * Prints the tables of docs/benchmarks.md ("Snapshot at scale") from the results files that
 * bench/scale/run.sh leaves here and in bench/snapshot/:
 *
 *   npx tsx bench/scale/report.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownRatios, markdownTable, type Ratio, type Row } from '../snapshot/report.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

interface Results {
  command: string;
  code: { gitHead: string };
  parameters: { objects: number; bytesTotal: number; changedObjects: number };
  median: Row[];
  ratios: Ratio[];
}

function load(file: string): Results | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results) : undefined;
}

const MiB = 1024 * 1024;
const n = (x: unknown) => (typeof x === 'number' ? x.toFixed(0) : '–');

/** Peak RSS (and where it went) of lifeboat's phases, one line per instance size. */
function memoryTable(files: [string, string][]): string {
  const lines = [
    '| instance | phase | peak RSS MiB | at start MiB | V8 heap used MiB | Buffers MiB | wall s | S3 requests | GB downloaded |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [label, file] of files) {
    const r = load(join(HERE, file));
    if (!r) continue;
    for (const row of r.median.filter((x) => x.tool === 'lifeboat')) {
      const d = row.detail;
      lines.push(
        `| ${label} (${(r.parameters.bytesTotal / MiB).toFixed(0)} MiB, ${r.parameters.objects} objects) | ${row.phase} | ${n(row.peakRssMiB)} | ${n(d.startRssMiB)} | ${n(d.peakHeapUsedMiB)} | ${n(d.peakArrayBuffersMiB)} | ${(row.wallMs / 1000).toFixed(1)} | ${row.s3Requests} | ${(Number(d.sdkBytesDown) / 1e9).toFixed(2)} |`,
      );
    }
  }
  return lines.join('\n');
}

function sideBySide(file: string): string {
  const r = load(file);
  if (!r) return `(${file}: not run)`;
  return [
    `\`${r.command}\` at git \`${r.code.gitHead.slice(0, 7)}\`: ${r.parameters.objects} objects, ${(r.parameters.bytesTotal / MiB).toFixed(1)} MiB, ${r.parameters.changedObjects} changed`,
    '',
    markdownTable(r.median),
    '',
    markdownRatios(r.ratios),
  ].join('\n');
}

console.log('## memory, lifeboat alone\n');
console.log(
  memoryTable([
    ['0.25 GiB, glibc default', 'results-0.25gib.json'],
    ['0.5 GiB, glibc default', 'results-0.5gib.json'],
    ['0.25 GiB', 'results-0.25gib-mmap.json'],
    ['0.5 GiB', 'results-0.5gib-mmap.json'],
    ['1 GiB', 'results-1gib-mmap.json'],
    ['1 GiB, side by side run', 'results-1gib.json'],
  ]),
);
for (const file of ['results-1gib.json', 'results-5000.json', '../snapshot/results.json']) {
  console.log(`\n## ${file}\n`);
  console.log(sideBySide(join(HERE, file)));
}
console.log('\n## results-20000.json\n');
console.log(sideBySide(join(HERE, 'results-20000.json')));
