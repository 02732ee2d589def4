/**
 * API Gateway benchmark: lifeboat's snapshot and cross-region restore (us-east-1 → us-west-2)
 * of an Amazon API Gateway instance, against the peer a user would script today (GetExport of
 * every stage, then ImportRestApi and CreateDeployment), on one local moto_server, same run.
 *
 *   npm run bench:apigateway [-- --apis-b 50 --resources-b 10 --only a|b]
 *
 * Method and caveats: docs/benchmarks.md ("API Gateway"). Everything stays on 127.0.0.1.
 */
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seedApiGatewayInstance } from '../../local/apigateway-sample.ts';
import { ApiGatewayInstanceStore } from '../../shared/adapters/apigateway/instance-store.ts';
import { secretsKeyring } from '../../shared/composition.ts';
import { findInstance } from '../../shared/config/load.ts';
import type { CanonicalInstance } from '../../shared/domain/apigateway/documents.ts';
import { AWS_PACING } from '../../shared/domain/apigateway/pacing.ts';
import { codeVersion, machine, motoVersion, writeResultsFile } from '../support.ts';
import { storeDocuments } from './digest.ts';
import { type CategoryCount, compareInstances, totals } from './fidelity.ts';
import { lifeboatRestore, lifeboatSnapshot, type PhaseMeasure, verifyTarget } from './lifeboat.ts';
import {
  type Exported,
  type ImportOutcome,
  type PeerMeasure,
  patchForMoto,
  peerExport,
  peerImport,
  probeIntegrationImport,
  readPeerCopy,
} from './peer.ts';
import { DOCUMENTED_EXTRA, type Projection, project } from './projection.ts';
import {
  type BenchWorld,
  CERTIFICATES,
  createBenchWorld,
  type Shape,
  SOURCE,
  TARGET,
  virtualPlane,
} from './world.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS_FILE = join(HERE, 'results.json');

function parseOptions(): Shape[] {
  const { values } = parseArgs({
    options: {
      'apis-b': { type: 'string', default: '50' },
      'resources-b': { type: 'string', default: '10' },
      only: { type: 'string' },
    },
  });
  const apisB = Number(values['apis-b']);
  const resourcesB = Number(values['resources-b']);
  if (!Number.isInteger(apisB) || apisB < 1) throw new Error('--apis-b must be a positive integer');
  if (!Number.isInteger(resourcesB) || resourcesB < 1)
    throw new Error('--resources-b must be a positive integer');
  if (values.only && values.only !== 'a' && values.only !== 'b')
    throw new Error('--only must be a or b');
  const shapes: Shape[] = [
    // 20 method-bearing resources (`/itemsN/{id}`) of 2 methods each: 40 methods per API.
    { label: 'a', apis: 5, resourcesPerApi: 20, methodsPerResource: 2 },
    { label: 'b', apis: apisB, resourcesPerApi: resourcesB, methodsPerResource: 2 },
  ];
  return shapes.filter((s) => !values.only || s.label === values.only);
}

interface PhaseRow extends PhaseMeasure {
  projection: Projection;
}

function withProjection(m: PhaseMeasure): PhaseRow {
  return { ...m, projection: project(m.calls, m.wallMs, m.pacerWaitMs) };
}

interface PeerRow extends PeerMeasure {
  projection: Projection;
}

function peerRow(m: PeerMeasure): PeerRow {
  return { ...m, projection: project(m.calls, m.wallMs, m.pacerWaitMs) };
}

function summarizeOutcomes(outcomes: readonly ImportOutcome[]) {
  const errors = new Map<string, number>();
  for (const o of outcomes)
    if (!o.ok) errors.set(o.error ?? '?', (errors.get(o.error ?? '?') ?? 0) + 1);
  return {
    attempted: outcomes.length,
    imported: outcomes.filter((o) => o.ok).length,
    failed: outcomes.filter((o) => !o.ok).length,
    errors: [...errors].map(([error, count]) => ({ error, count })),
  };
}

function sizeOf(instance: CanonicalInstance) {
  const resources = instance.apis.reduce(
    (n, a) => n + Object.keys(a.resources).filter((p) => p !== '/').length,
    0,
  );
  const methods = instance.apis.reduce(
    (n, a) => n + Object.values(a.resources).reduce((m, r) => m + Object.keys(r.methods).length, 0),
    0,
  );
  return {
    apis: instance.apis.length,
    resources,
    methods,
    usagePlans: instance.usagePlans.length,
    apiKeys: instance.apiKeys.length,
    domains: instance.domains.length,
    documents:
      instance.apis.length +
      instance.usagePlans.length +
      instance.apiKeys.length +
      instance.domains.length,
  };
}

async function canonicalOf(world: BenchWorld, region: string, instanceId: string) {
  const store = new ApiGatewayInstanceStore(
    virtualPlane(world.config, region),
    (id) => findInstance(world.config, id).apigateway?.references ?? {},
    secretsKeyring(world.config, region),
  );
  return storeDocuments(store, instanceId);
}

function exportSummary(exports: readonly Exported[]) {
  const formats = [...new Set(exports.map((e) => e.format))];
  return {
    documents: exports.length,
    bytes: exports.reduce((n, e) => n + e.bytes, 0),
    formats,
    withApiGatewayExtensions: exports.filter((e) => e.hasApiGatewayExtensions).length,
    sample: exports[0]
      ? {
          api: exports[0].api,
          stage: exports[0].stage,
          topLevelKeys: Object.keys(exports[0].document),
        }
      : undefined,
  };
}

async function runShape(world: BenchWorld, shape: Shape) {
  const instanceId = world.instanceId(shape);
  console.error(`\n[${shape.label}] ${shape.apis} APIs × ${shape.resourcesPerApi} × 2 resources`);
  const seedPlane = virtualPlane(world.config, SOURCE);
  const t0 = performance.now();
  const sample = await seedApiGatewayInstance(seedPlane, {
    instanceId,
    apis: shape.apis,
    resourcesPerApi: shape.resourcesPerApi,
    methodsPerResource: shape.methodsPerResource,
    certificateArn: CERTIFICATES[SOURCE],
    domainName: `api-${instanceId}.example.com`,
  });
  const seedMs = performance.now() - t0;
  console.error(`[${shape.label}] seeded in ${(seedMs / 1000).toFixed(1)} s`);

  const snapshot = withProjection(await lifeboatSnapshot(world, instanceId, '20261202T010000Z'));
  console.error(
    `[${shape.label}] snapshot: ${snapshot.callsTotal} calls, ${snapshot.wallMs.toFixed(0)} ms`,
  );
  const snapshotNoChange = withProjection(
    await lifeboatSnapshot(world, instanceId, '20261202T020000Z'),
  );
  const restore = withProjection(await lifeboatRestore(world, instanceId));
  console.error(
    `[${shape.label}] restore: ${restore.callsTotal} calls, ${restore.writes} writes, ${restore.wallMs.toFixed(0)} ms`,
  );
  const verify = withProjection(await verifyTarget(world, instanceId, '20261202T020000Z'));
  const restoreNoChange = withProjection(await lifeboatRestore(world, instanceId));
  console.error(
    `[${shape.label}] second restore: ${restoreNoChange.writes} writes; digests equal: ${verify.detail.equal}`,
  );

  const source = await canonicalOf(world, SOURCE, instanceId);
  const lifeboatCopy = await canonicalOf(world, TARGET, instanceId);

  const exported = await peerExport(world, instanceId);
  const asExported = await peerImport(world, exported.exports, (d) => d);
  const patched = await peerImport(world, exported.exports, patchForMoto);
  const firstApi = source.apis[0];
  const probe = firstApi ? await probeIntegrationImport(world, firstApi) : undefined;
  const peerCopy = await readPeerCopy(world, instanceId, patched.outcomes);
  console.error(
    `[${shape.label}] peer: ${exported.exports.length} exports (${exportSummary(exported.exports).formats.join(', ')}); import as exported ${summarizeOutcomes(asExported.outcomes).imported}/${asExported.outcomes.length}, patched ${summarizeOutcomes(patched.outcomes).imported}/${patched.outcomes.length}`,
  );

  const lifeboatFidelity = compareInstances(source, lifeboatCopy);
  const peerFidelity = compareInstances(source, peerCopy);
  const exportPeer = peerRow(exported.measure);
  const importPeer = peerRow(patched.measure);
  return {
    label: shape.label,
    shape: {
      ...shape,
      description: `${shape.apis} APIs; each: ${shape.resourcesPerApi} collection resources /itemsN and ${shape.resourcesPerApi} item resources /itemsN/{id}, ${shape.methodsPerResource} methods on each item resource (GET: MOCK integration + integration response; POST: Lambda proxy, custom authorizer, validator, model), 1 model, 1 validator, 1 authorizer, 1 gateway response, stage prod (2 variables, 3 method settings, tracing, access log, tag), 1 usage plan + 1 API key per API, 1 REGIONAL domain with 1 base path mapping`,
    },
    size: sizeOf(source),
    seed: {
      wallMs: seedMs,
      calls: Object.fromEntries(seedPlane.calls),
      keys: sample.keyValues.length,
    },
    lifeboat: { snapshot, snapshotNoChange, restore, restoreNoChange, verify },
    peer: {
      export: { ...exportPeer, summary: exportSummary(exported.exports) },
      importAsExported: {
        ...peerRow(asExported.measure),
        outcomes: summarizeOutcomes(asExported.outcomes),
        deployFailures: asExported.deployFailures,
        motoExceptions: asExported.motoExceptions,
      },
      importPatchedForMoto: {
        ...importPeer,
        outcomes: summarizeOutcomes(patched.outcomes),
        deployFailures: patched.deployFailures,
        motoExceptions: patched.motoExceptions,
      },
      integrationProbe: probe,
    },
    fidelity: {
      lifeboat: { byCategory: lifeboatFidelity, totals: totals(lifeboatFidelity) },
      peer: { byCategory: peerFidelity, totals: totals(peerFidelity) },
      peerLostEvenOnAws: lostByFormat(peerFidelity),
    },
    ratios: {
      snapshotCalls: snapshot.callsTotal / exportPeer.callsTotal,
      restoreCalls: restore.callsTotal / importPeer.callsTotal,
      snapshotWall: snapshot.wallMs / exportPeer.wallMs,
      restoreWall: restore.wallMs / importPeer.wallMs,
      restoreProjectedAwsPacing: restore.projection.awsPacingS / importPeer.projection.awsPacingS,
      restoreProjectedDocumented:
        restore.projection.documentedQuotasS / importPeer.projection.documentedQuotasS,
    },
  };
}

/** Items of categories AWS's export format has no place for: lost by the peer even on AWS. */
function lostByFormat(counts: readonly CategoryCount[]) {
  const lost = counts.filter((c) => !c.exportFormatCarries && c.source > 0);
  return {
    items: lost.reduce((n, c) => n + c.source, 0),
    categories: lost.map((c) => ({ category: c.category, items: c.source })),
  };
}

type ShapeResult = Awaited<ReturnType<typeof runShape>>;

const s = (ms: number) => (ms / 1000).toFixed(2);
const n1 = (x: number) => x.toFixed(1);

function callList(calls: Record<string, number>): string {
  return Object.entries(calls)
    .sort(([, a], [, b]) => b - a)
    .map(([op, c]) => `${op} ${c}`)
    .join(', ');
}

function markdown(results: ShapeResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const L = r.lifeboat;
    const P = r.peer;
    lines.push(
      `#### (${r.label}) ${r.size.apis} APIs, ${r.size.resources} resources, ${r.size.methods} methods, ${r.size.documents} documents`,
      '',
      '| phase | tool | calls | writes | wall vs moto (s) | AWS: projectSeconds (s) | AWS: + documented quotas (s) | AWS: replayed (s) |',
      '|---|---|---:|---:|---:|---:|---:|---:|',
    );
    const row = (phase: string, tool: string, m: PhaseRow | PeerRow, writes: number | string) =>
      lines.push(
        `| ${phase} | ${tool} | ${m.callsTotal} | ${writes} | ${s(m.wallMs)} | ${n1(m.projection.awsPacingS)} | ${n1(m.projection.documentedQuotasS)} | ${n1(m.projection.replayedS)} |`,
      );
    row('snapshot', 'lifeboat', L.snapshot, 0);
    row('snapshot', 'peer: GetExport per stage', P.export, 0);
    row('snapshot, no change', 'lifeboat', L.snapshotNoChange, 0);
    row('restore → us-west-2', 'lifeboat', L.restore, L.restore.writes);
    row(
      'restore → us-west-2',
      'peer: ImportRestApi + CreateDeployment (patched for moto)',
      P.importPatchedForMoto,
      P.importPatchedForMoto.callsTotal,
    );
    row('restore, no change', 'lifeboat', L.restoreNoChange, L.restoreNoChange.writes);
    row('verify (read target back)', 'lifeboat', L.verify, 0);
    lines.push('', 'Calls by operation:', '');
    lines.push(`- lifeboat snapshot: ${callList(L.snapshot.calls)}`);
    lines.push(`- lifeboat restore: ${callList(L.restore.calls)}`);
    lines.push(`- lifeboat second restore: ${callList(L.restoreNoChange.calls)}`);
    lines.push(`- peer export: ${callList(P.export.calls)}`);
    lines.push(`- peer import: ${callList(P.importPatchedForMoto.calls)}`);
    lines.push(
      '',
      `Snapshot packs uploaded: first ${L.snapshot.detail.packsUploaded}, second ${L.snapshotNoChange.detail.packsUploaded}. ` +
        `Restore documents written: first ${L.restore.detail.objectsWritten}, second ${L.restoreNoChange.detail.objectsWritten}. ` +
        `Target digest equals the snapshot's: ${L.verify.detail.equal}.`,
      '',
      `Peer import as exported: ${P.importAsExported.outcomes.imported}/${P.importAsExported.outcomes.attempted} imported; ` +
        P.importAsExported.outcomes.errors
          .map((e) => `${e.count}× ${e.error.split('\n')[0]}`)
          .join('; ') +
        `; moto: ${P.importAsExported.motoExceptions.map((e) => `${e.count}× \`${e.exception}\``).join('; ')}`,
      '',
      `Peer import patched for moto: ${P.importPatchedForMoto.outcomes.imported}/${P.importPatchedForMoto.outcomes.attempted} imported; ` +
        `CreateDeployment failures: ${P.importPatchedForMoto.deployFailures.length} (${[...new Set(P.importPatchedForMoto.deployFailures.map((f) => f.slice(f.indexOf(': ') + 2)))].join('; ')})`,
      '',
      `Integration probe (one API with its real integrations as OpenAPI 3): ${P.integrationProbe?.ok ? 'imported' : `${P.integrationProbe?.error?.split('\n')[0]}; moto: ${P.integrationProbe?.motoExceptions.map((e) => `\`${e.exception}\``).join('; ')}`}`,
      '',
      '| category | source items | lifeboat carried | peer carried (moto) | peer: export format can carry on AWS |',
      '|---|---:|---:|---:|---|',
    );
    const lf = r.fidelity.lifeboat.byCategory;
    r.fidelity.peer.byCategory.forEach((c, i) => {
      if (c.source === 0) return;
      const l = lf[i] as CategoryCount;
      const peerCell = c.changed > 0 ? `${c.carried} (+${c.changed} changed)` : `${c.carried}`;
      lines.push(
        `| ${c.category} | ${c.source} | ${l.carried} | ${peerCell} | ${c.exportFormatCarries ? 'yes' : '**no**'} |`,
      );
    });
    const lt = r.fidelity.lifeboat.totals;
    const pt = r.fidelity.peer.totals;
    lines.push(
      `| **total** | ${lt.source} | ${lt.carried} | ${pt.carried} | ${r.fidelity.peerLostEvenOnAws.items} items have no place in the export |`,
      '',
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const shapes = parseOptions();
  const started = Date.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const world = await createBenchWorld(shapes);
  try {
    const results: ShapeResult[] = [];
    for (const shape of shapes) results.push(await runShape(world, shape));
    const report = {
      generatedAt: new Date().toISOString(),
      command: `npm run bench:apigateway -- ${process.argv.slice(2).join(' ')}`.trim(),
      totalSeconds: (Date.now() - started) / 1000,
      machine: {
        ...machine(),
        // Other work shares the machine: wall times against moto move with it, call counts do not.
        load1AtStart: loadAtStart,
        load1AtEnd: loadavg()[0] ?? 0,
        moto: motoVersion(world.moto.pid),
      },
      code: codeVersion(['shared', 'local']),
      regions: { source: SOURCE, target: TARGET },
      pacing: { awsPacing: AWS_PACING, documentedExtra: DOCUMENTED_EXTRA },
      shapes: results,
    };
    console.log(markdown(results));
    // results.json holds both shapes; a run of one (--only) prints its tables and keeps it.
    if (shapes.length === 2) {
      writeResultsFile(RESULTS_FILE, report);
      console.error(`\nwrote ${RESULTS_FILE} in ${report.totalSeconds.toFixed(0)} s`);
    } else {
      console.error(
        `\n--only: ${RESULTS_FILE} left as it was (${report.totalSeconds.toFixed(0)} s)`,
      );
    }
  } finally {
    await world.close();
  }
}

await main();
