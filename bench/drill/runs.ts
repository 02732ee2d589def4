import { GetObjectCommand, ListBucketsCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { s3ClientFor } from '../../shared/adapters/aws-clients.ts';
import type { RecoveryRun } from '../../shared/domain/recovery/run-store.ts';

/**
 * The recovery and failback runs a drill recorded, read straight from moto after the drill
 * (its regional proxies are closed by then). A run is written to every control bucket of its
 * claim set; the copy with the highest `seq` is the run, as lifeboat itself reads it. Each
 * step's `at` is when that step was recorded done: the only per-step clock the drill keeps.
 */
export async function readRecordedRuns(endpoint: string): Promise<RecoveryRun[]> {
  const s3 = s3ClientFor({ region: 'us-east-1', endpointUrl: endpoint });
  const buckets = ((await s3.send(new ListBucketsCommand({}))).Buckets ?? [])
    .map((b) => b.Name ?? '')
    .filter((name) => /-control-[a-z]+-[a-z]+-\d$/.test(name));
  const best = new Map<string, RecoveryRun>();
  for (const bucket of buckets) {
    const region = bucket.slice(bucket.indexOf('-control-') + '-control-'.length);
    const client = s3ClientFor({ region, endpointUrl: endpoint });
    for await (const page of paginateListObjectsV2(
      { client },
      { Bucket: bucket, Prefix: 'runs/' },
    )) {
      for (const object of page.Contents ?? []) {
        const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
        const run = JSON.parse((await body.Body?.transformToString()) ?? 'null') as RecoveryRun;
        const seen = best.get(run.runId);
        if (!seen || run.seq > seen.seq) best.set(run.runId, run);
      }
    }
  }
  return [...best.values()].sort((a, b) => a.runId.localeCompare(b.runId));
}

/** What the detector's durable state says about one target region when the drill ended. */
export interface DetectorView {
  region: string;
  status: string;
  statusSince: string;
  /** Per vantage: the gaps (s) between the probe rounds the state still remembers (oldest first). */
  roundGaps: Record<string, number[]>;
}

/**
 * Reads the detector's state of `target` from the control bucket of `controlRegion`. The
 * endpoint histories keep the time of every recent probe, which is the one record of how
 * often probe rounds really ran (the drill's loop is probe round → pump → sleep, in series).
 */
export async function readDetectorView(
  endpoint: string,
  controlRegion: string,
  target: string,
): Promise<DetectorView | undefined> {
  const s3 = s3ClientFor({ region: controlRegion, endpointUrl: endpoint });
  const bucket = ((await s3.send(new ListBucketsCommand({}))).Buckets ?? [])
    .map((b) => b.Name ?? '')
    .find((name) => name.endsWith(`-control-${controlRegion}`));
  if (!bucket) return undefined;
  let state: {
    status: string;
    statusSince: string;
    endpoints: Record<string, Record<string, { history?: { at: string }[] }>>;
  };
  try {
    const body = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: `detector/regions/${target}.json` }),
    );
    state = JSON.parse((await body.Body?.transformToString()) ?? 'null');
  } catch {
    return undefined;
  }
  const roundGaps: Record<string, number[]> = {};
  for (const [vantage, views] of Object.entries(state.endpoints ?? {})) {
    const times = [
      ...new Set(
        Object.values(views).flatMap((v) => (v.history ?? []).map((h) => Date.parse(h.at))),
      ),
    ].sort((a, b) => a - b);
    // A round probes every endpoint at once: times within 250 ms (half the drill's interval)
    // belong to one round.
    const rounds: number[] = [];
    for (const t of times)
      if (rounds.length === 0 || t - (rounds.at(-1) as number) > 250) rounds.push(t);
    roundGaps[vantage] = rounds.slice(1).map((t, i) => (t - (rounds[i] as number)) / 1000);
  }
  return { region: target, status: state.status, statusSince: state.statusSince, roundGaps };
}
