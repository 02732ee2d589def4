import { collectStatus, type StatusReport } from '../../shared/domain/recovery/status.ts';
import { describeWeights } from '../../shared/domain/recovery/weights.ts';
import { actingRegion, checkOptions, someInstances } from '../cli/args.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { contextFor, operation, type RecoveryVerb } from '../cli/recovery-io.ts';
import { formatAge, table } from '../cli/render.ts';
import { OPTION, type Verb } from '../cli/verb.ts';

function printRegions(out: (line: string) => void, report: StatusReport): void {
  const rows = [['REGION', 'DETECTOR', 'CAPACITY', 'HOME', 'RESERVED', 'FREE']];
  for (const r of report.regions) {
    const detector = r.detector
      ? `${r.detector.status}${r.detector.degradedZones.length ? ` (degraded: ${r.detector.degradedZones.join(', ')})` : ''}`
      : 'no data';
    rows.push([
      r.region,
      detector,
      String(r.capacity),
      String(r.home),
      r.reserved === undefined ? '?' : String(r.reserved),
      r.free === undefined ? '? (unreachable)' : String(r.free),
    ]);
  }
  for (const line of table(rows)) out(line);
  for (const r of report.regions) {
    for (const s of r.reservations ?? []) {
      out(`  ${r.region} slot ${s.slot}: held by ${s.runId} (${s.instanceId})`);
    }
  }
}

function printInstances(out: (line: string) => void, report: StatusReport): void {
  const rows = [['INSTANCE', 'HOME', 'RUNS IN', 'STATE', 'LATEST RUN']];
  for (const i of report.instances) {
    rows.push([
      i.instanceId,
      i.homeRegion,
      i.runsIn.join(','),
      i.state,
      i.latest
        ? `${i.latest.runId} ${i.latest.kind} ${i.latest.status} (${i.latest.from} -> ${i.latest.target ?? '?'})`
        : i.generation > 0
          ? `generation ${i.generation} (record unreadable)`
          : '-',
    ]);
  }
  for (const line of table(rows)) out(line);
  for (const i of report.instances) {
    out('');
    out(`${i.instanceId}:`);
    if (i.latest?.approvalState) {
      out(`  approval: ${i.latest.approvalState}`);
      const plan = i.latest.approval?.plan;
      if (plan && !i.latest.approval?.decision)
        out(
          `    plan: to ${plan.target} from ${plan.snapshotId} (${plan.snapshotRegion}), RPO ${formatAge(plan.rpoSeconds)}; dns ${describeWeights(plan.dns.after)}; lifeboat approve --run ${i.latest.runId} | lifeboat reject --run ${i.latest.runId}`,
        );
    }
    if (i.latest?.failedStep) out(`  failed at ${i.latest.failedStep}: ${i.latest.reason}`);
    const m = i.latest?.metrics;
    if (m?.rtoFromConfirmedSeconds !== undefined) {
      out(
        `  shifted at ${m.shiftedAt}: RTO ${m.rtoFromConfirmedSeconds.toFixed(1)} s from confirmation${m.rpoSeconds !== undefined ? `, RPO ${formatAge(m.rpoSeconds)}` : ''}`,
      );
    }
    out(
      `  dns ${i.dns.recordName}: ${i.dns.weights ? describeWeights(i.dns.weights) || '(no records)' : `unreadable (${i.dns.error})`}`,
    );
    out(
      `  snapshots: ${i.snapshots
        .map((s) =>
          s.error
            ? `${s.region} unreachable`
            : s.snapshotId
              ? `${s.region} ${s.snapshotId} (${formatAge(s.ageSeconds ?? 0)} old)`
              : `${s.region} none`,
        )
        .join('; ')}`,
    );
    const t = i.restoreTest;
    if (t) {
      out(
        'error' in t
          ? `  restore test: unreadable (${t.error})`
          : `  restore test: ${t.passed ? 'passed' : `FAILED (${t.reason})`} at ${t.testedAt}, ${t.snapshotId ?? 'no snapshot'} from ${t.region}, ${t.bytes} B in ${(t.durationMs / 1000).toFixed(1)} s`,
      );
    }
    if (i.drift) {
      out(
        `  active-active: ${i.drift.inSync ? 'regions in step' : `DRIFT in ${i.drift.documents.join(', ') || 'unreadable regions'}${i.drift.unreachable.length ? ` (unreadable: ${i.drift.unreachable.join(', ')})` : ''}; see lifeboat drift`}`,
      );
    }
  }
}

function printStatus(out: (line: string) => void, report: StatusReport): void {
  out(
    `lifeboat status at ${report.at} (detector states as ${report.detectorView ? `${report.detectorView} sees them` : 'no control bucket answered'})`,
  );
  out('');
  printRegions(out, report);
  out('');
  if (report.instances.length === 0) {
    out('no instances');
    return;
  }
  printInstances(out, report);
}

/** `lifeboat status [--instance ID]… [--json]`: regions, capacity, runs, DNS and snapshots. */
export const statusVerb: RecoveryVerb = async (config, options, io = {}) => {
  checkOptions('status', options, ['instance', 'json', 'from-region']);
  const only = someInstances(config, options.instance);
  const here = actingRegion(config, options['from-region']);
  const ctx = contextFor(config, io, here);
  return operation(ctx, 'status', async () => {
    const report = await collectStatus(ctx.deps, here, only);
    if (options.json) ctx.out(JSON.stringify(report, null, 2));
    else printStatus(ctx.out, report);
    return EXIT.ok;
  });
};

/** The `status` verb of the command line. */
export const status: Verb = {
  name: 'status',
  summary: 'regions, capacity, runs, DNS weights and snapshots; writes nothing',
  options: [OPTION.instance, OPTION.json, OPTION.fromRegion],
  needsAws: true,
  run: ({ config, options }) => statusVerb(config, options),
};
