/**
 * Bundle-size report: for every function, the zip `serverless package` builds (what deploys), the
 * bundle inside it, and what takes the room (esbuild's metafile). Peers in the same run: a minimal
 * S3 handler built with the same options, and each function with the AWS SDK left out (as if the
 * runtime's own SDK were used). Variants of the esbuild options show what each one buys.
 *
 *   npm run bench:bundles
 *
 * Writes bench/bundles/results.json and prints the Markdown tables of docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { machine, writeResultsFile } from '../support.ts';
import { esbuildOptionsFromServerlessYml, packageService, ROOT } from './package.ts';

const RESULTS_FILE = join(ROOT, 'bench/bundles/results.json');
const PEER_ENTRY = 'bench/bundles/hello-s3.ts';
const MIB = 1024 * 1024;
const CONFIG_FILE = 'lifeboat.config.yml';

/** Option sets built besides the packaged one, each a change to serverless.yml's options. */
const VARIANTS: Record<string, { note: string; options: BuildOptions }> = {
  unminified: { note: 'minify: false', options: { minify: false } },
  noKeepNames: { note: 'keepNames: false', options: { keepNames: false } },
  // esbuild's default for platform node: CommonJS builds (dist-cjs) before ES modules (dist-es).
  mainFirst: {
    note: "mainFields: ['main', 'module']",
    options: { mainFields: ['main', 'module'] },
  },
  sdkExternal: {
    note: '@aws-sdk/* and @smithy/* left to the runtime',
    options: { external: ['@aws-sdk/*', '@smithy/*'] },
  },
};

interface Built {
  bytes: number;
  /** Deflated as the zip stores it, plus the config file and zip headers: see zipEstimate. */
  zipEstimateBytes: number;
  metafile: Metafile;
}

let configDeflated = 0;

/**
 * The zip a bundle would make, without zipping: each entry deflated as serverless-esbuild's
 * archiver does (zlib level 1: its compressed sizes match byte for byte) plus local header, data
 * descriptor, central directory entry and end record. Checked against the real zips of the
 * packaged option set; results.json records the difference.
 */
function zipEstimate(bundle: Uint8Array, entryName: string): number {
  const headers = (name: string) => 30 + 16 + 46 + 2 * name.length;
  return (
    deflateRawSync(bundle, { level: 1 }).length +
    headers(entryName.replace(/\.ts$/, '.cjs')) +
    configDeflated +
    headers(CONFIG_FILE) +
    22
  );
}

async function bundle(entry: string, base: BuildOptions, change: BuildOptions): Promise<Built> {
  const external = [...(base.external ?? []), ...(change.external ?? [])];
  const result = await build({
    ...base,
    ...change,
    external,
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outdir: 'out',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error(`${entry}: esbuild wrote nothing`);
  return {
    bytes: output.contents.length,
    zipEstimateBytes: zipEstimate(output.contents, entry),
    metafile: result.metafile,
  };
}

/** The package a bundled file came from, or lifeboat's own code. */
function ownerOf(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (match?.[1]) return match[1];
  return 'lifeboat (shared/, functions/)';
}

/** Bytes in the output per package, largest first. */
function contributors(metafile: Metafile): { owner: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const owner = ownerOf(path);
      totals.set(owner, (totals.get(owner) ?? 0) + input.bytesInOutput);
    }
  }
  return [...totals].map(([owner, bytes]) => ({ owner, bytes })).sort((a, b) => b.bytes - a.bytes);
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const ratio = (a: number, b: number) => (a / b).toFixed(2);

function gitHead(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  const started = new Date();
  const base = esbuildOptionsFromServerlessYml();
  console.error('serverless package …');
  const service = packageService();
  try {
    const config = service.functions[0]?.entries.find((e) => e.name === CONFIG_FILE);
    configDeflated = config?.compressedBytes ?? 0;
    const peer = await bundle(PEER_ENTRY, base, {});
    const peerVariants = Object.fromEntries(
      await Promise.all(
        Object.entries(VARIANTS).map(
          async ([name, v]) => [name, (await bundle(PEER_ENTRY, base, v.options)).bytes] as const,
        ),
      ),
    );
    const rows = [];
    for (const fn of service.functions) {
      const packagedBundle = fn.entries.find((e) => e.name.endsWith('.cjs'));
      if (!packagedBundle) throw new Error(`${fn.name}: no .cjs in its zip`);
      const rebuilt = await bundle(fn.entry, base, {});
      const variants: Record<string, { bytes: number; zipEstimateBytes: number }> = {};
      for (const [name, v] of Object.entries(VARIANTS)) {
        const built = await bundle(fn.entry, base, v.options);
        variants[name] = { bytes: built.bytes, zipEstimateBytes: built.zipEstimateBytes };
      }
      rows.push({
        function: fn.name,
        entry: fn.entry,
        zipBytes: fn.zipBytes,
        bundleBytes: packagedBundle.bytes,
        // The rebuild must be the packaged bundle, or the contributors below describe another file.
        rebuiltBundleBytes: rebuilt.bytes,
        zipEstimateBytes: rebuilt.zipEstimateBytes,
        underOneMiB: fn.zipBytes < MIB,
        peerRatio: {
          zip: fn.zipBytes / peer.zipEstimateBytes,
          bundle: packagedBundle.bytes / peer.bytes,
        },
        contributors: contributors(rebuilt.metafile),
        variants,
      });
    }

    const results = {
      benchmark: 'bundles',
      generatedAt: started.toISOString(),
      command: 'npm run bench:bundles',
      machine: {
        ...machine(),
      },
      gitHead: gitHead(),
      packageSeconds: service.seconds,
      esbuildOptions: base,
      variants: Object.fromEntries(Object.entries(VARIANTS).map(([k, v]) => [k, v.note])),
      peer: {
        entry: PEER_ENTRY,
        bundleBytes: peer.bytes,
        zipEstimateBytes: peer.zipEstimateBytes,
        contributors: contributors(peer.metafile),
        variants: peerVariants,
      },
      functions: rows,
    };
    writeResultsFile(RESULTS_FILE, results);

    const out: string[] = [];
    out.push(
      `Peer: ${PEER_ENTRY}, bundle ${kib(peer.bytes)}, zip ≈ ${kib(peer.zipEstimateBytes)}.`,
      '',
      '| function | zip | bundle | zip ÷ peer | bundle ÷ peer | largest contributors (bytes in bundle) |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
    );
    for (const r of rows) {
      const top = r.contributors
        .slice(0, 4)
        .map((c) => `${c.owner} ${kib(c.bytes)}`)
        .join(', ');
      out.push(
        `| ${r.function} | ${kib(r.zipBytes)} | ${kib(r.bundleBytes)} | ${ratio(r.zipBytes, peer.zipEstimateBytes)} | ${ratio(r.bundleBytes, peer.bytes)} | ${top} |`,
      );
    }
    out.push(
      '',
      '| function | packaged | ' +
        Object.values(VARIANTS)
          .map((v) => v.note)
          .join(' | ') +
        ' |',
      `| --- | ---: | ${Object.keys(VARIANTS)
        .map(() => '---:')
        .join(' | ')} |`,
    );
    for (const r of [
      ...rows.map((r) => ({ name: r.function, bytes: r.bundleBytes, variants: r.variants })),
      {
        name: 'peer (hello-s3)',
        bytes: peer.bytes,
        variants: Object.fromEntries(
          Object.entries(peerVariants).map(([k, bytes]) => [k, { bytes }]),
        ),
      },
    ]) {
      const cells = Object.keys(VARIANTS).map((k) => {
        const v = r.variants[k]?.bytes ?? 0;
        return `${kib(v)} (${ratio(v, r.bytes)})`;
      });
      out.push(`| ${r.name} | ${kib(r.bytes)} | ${cells.join(' | ')} |`);
    }
    const mismatched = rows
      .filter((r) => r.rebuiltBundleBytes !== r.bundleBytes)
      .map((r) => `${r.function} (${r.rebuiltBundleBytes - r.bundleBytes} bytes)`);
    const zipError = rows.map((r) => r.zipEstimateBytes / r.zipBytes - 1);
    out.push(
      '',
      `serverless package: ${service.seconds.toFixed(1)} s. Rebuilt bundles the size of the packaged ones: ${rows.length - mismatched.length}/${rows.length}${mismatched.length ? ` (not: ${mismatched.join(', ')}; was the tree edited meanwhile?)` : ''}. Zip estimate vs real zip: ${(Math.min(...zipError) * 100).toFixed(2)}% to ${(Math.max(...zipError) * 100).toFixed(2)}%.`,
    );
    console.log(out.join('\n'));
    if (rows.some((r) => !r.underOneMiB)) process.exitCode = 1;
  } finally {
    service.cleanup();
  }
}

await main();
