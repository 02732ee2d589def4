import { MemoryBlobs } from '../shared/adapters/memory/blobs.ts';
import { MemoryDns } from '../shared/adapters/memory/dns.ts';
import { MemoryDocuments } from '../shared/adapters/memory/documents.ts';
import { MemoryInstanceStore } from '../shared/adapters/memory/instance-store.ts';
import { type InstanceCopy, MemoryInstances } from '../shared/adapters/memory/instances.ts';
import type { LifeboatConfig } from '../shared/config/schema.ts';
import type {
  ObjectEntry,
  PutOptions,
  StoredBlob,
  VersionedDocument,
} from '../shared/domain/ports.ts';
import type {
  DnsChangeResult,
  DnsRecordSpec,
  InstanceHealth,
  Weights,
} from '../shared/domain/recovery/ports.ts';
import type { RecoveryRun } from '../shared/domain/recovery/run-store.ts';
import { objectsOfStored } from '../shared/domain/snapshot/catalog.ts';
import { configDigest, sha256Hex, keys as snapshotKeys } from '../shared/domain/snapshot/format.ts';
import type { Scheduler } from './scheduler.ts';
import type { TraceEntry } from './trace.ts';

/**
 * The ground truth of one seed's simulated AWS: every region's control buckets, backup buckets
 * and instance stores, Route 53's records, the instance runtimes, and which region, zone or
 * vantage link is down. Every method here is the effect of one call, applied at once; the
 * gate in world.ts decides whether and when a call gets to apply it. Writes are traced.
 */

interface RuntimeState extends InstanceCopy {
  /**
   * When a fence went up on this copy while it was serving (simulated ms). A copy fenced before
   * it served had no writer deploying to it, so only this fence can be outrun.
   */
  fencedWhileServingAt?: number;
  /** When this copy last took a client write. */
  lastWriteAt?: number;
}

const SLOT_KEY = /^capacity\/([^/]+)\/slot-(\d+)\.json$/;
const RUN_KEY = /^runs\/(.+)\.json$/;

/** What the simulated AWS holds, and the effects of the calls that change it. */
export class SimTruth {
  readonly regions: string[];
  /** Ground truth: regions that do not answer at all. */
  readonly regionDown = new Set<string>();
  /** Ground truth: `region/zone` whose endpoints do not answer. */
  readonly zoneDown = new Set<string>();
  /** Ground truth: `vantage>target` links on which probes fail. */
  readonly cut = new Set<string>();
  /** A broken runtime (for mutation tests) reports itself fenced but still accepts writes. */
  fenceHonoured = true;
  /**
   * Instances whose fence is a marker their writers check (API Gateway's pipelines), with how
   * long a writer takes to see it: a write sent to a copy fenced less than that long ago lands.
   */
  readonly advisoryFenceLagMs = new Map<string, number>();
  /** Each region's control bucket. */
  readonly docs = new Map<string, MemoryDocuments>();
  /** Each region's backup bucket. */
  readonly vaults = new Map<string, MemoryBlobs>();
  /** Each region's instance stores. */
  readonly stores = new Map<string, MemoryInstanceStore>();
  /** Route 53's records, under the one weight rule. */
  readonly dns = new MemoryDns();
  /** The instances' copies, with what the advisory fence needs to know of each. */
  readonly instances = new MemoryInstances<RuntimeState>(() => ({
    activated: false,
    fenced: false,
  }));
  /** The best run record written so far, per run id (what a reader taking the highest seq sees). */
  readonly runs = new Map<string, RecoveryRun>();
  /** A probed `/health` URL → the endpoint it belongs to. */
  readonly endpointOf = new Map<string, { instanceId: string; region: string; zone: string }>();
  private versions = 0;

  constructor(
    readonly config: LifeboatConfig,
    readonly sched: Scheduler,
    protected readonly record: (entry: TraceEntry) => void,
  ) {
    this.regions = config.regions.map((r) => r.name);
    for (const region of this.regions) {
      this.docs.set(region, this.newBucket());
      this.vaults.set(region, new MemoryBlobs());
      this.stores.set(region, new MemoryInstanceStore());
    }
    for (const instance of config.instances) {
      for (const [region, endpoint] of Object.entries(instance.endpoints)) {
        for (const [zone, url] of Object.entries(endpoint.zones))
          this.endpointOf.set(`${url.replace(/\/+$/, '')}/health`, {
            instanceId: instance.id,
            region,
            zone,
          });
      }
    }
  }

  /** Whether a port in `target` answers. */
  reachable(target: string): boolean {
    return !this.regionDown.has(target);
  }

  // ---- control buckets (compare-and-swap documents) ----

  /** The weights in effect per instance, straight from the records. */
  get dnsRecords(): ReadonlyMap<string, Weights> {
    return this.dns.records;
  }

  /** A control bucket whose versions count across every bucket of the seed. */
  private newBucket(): MemoryDocuments {
    return new MemoryDocuments(() => {
      this.versions += 1;
      return `"v${this.versions}"`;
    });
  }

  loadDoc(region: string, key: string): VersionedDocument | undefined {
    return this.bucket(region).load(key);
  }

  listDocs(region: string, prefix: string): string[] {
    return this.bucket(region).list(prefix);
  }

  protected bucket(region: string): MemoryDocuments {
    return this.docs.get(region) as MemoryDocuments;
  }

  saveDoc(region: string, key: string, value: unknown, expected: string | undefined) {
    const version = this.bucket(region).save(key, value, expected);
    this.afterDocWrite(region, key, value);
    return version;
  }

  private afterDocWrite(region: string, key: string, value: unknown): void {
    const slot = SLOT_KEY.exec(key);
    if (slot) {
      const holder = (value as { runId?: string }).runId;
      this.record({
        kind: 'slot',
        t: this.sched.now,
        region,
        slot: Number(slot[2]),
        ...(holder ? { runId: holder } : {}),
      });
      return;
    }
    if (RUN_KEY.test(key)) this.observeRun(value as RecoveryRun);
  }

  /** A run record landed somewhere: trace it if it is the newest, and check a finished restore. */
  private observeRun(run: RecoveryRun): void {
    const previous = this.runs.get(run.runId);
    if (previous && previous.seq >= run.seq) return;
    this.runs.set(run.runId, run);
    const done = Object.entries(run.steps)
      .filter(([, s]) => s.status === 'done')
      .map(([name]) => name);
    this.record({
      kind: 'run',
      t: this.sched.now,
      runId: run.runId,
      runKind: run.kind,
      instanceId: run.instanceId,
      from: run.from,
      ...(run.target ? { target: run.target } : {}),
      status: run.status,
      ...(run.reason ? { reason: run.reason } : {}),
      ...(run.failedStep ? { failedStep: run.failedStep } : {}),
      seq: run.seq,
      stepsDone: done,
      ...(run.reservation ? { reservation: run.reservation } : {}),
      ...(run.recoveryRunId ? { recoveryRunId: run.recoveryRunId } : {}),
      ...(run.rolledBack ? { rolledBack: true } : {}),
    });
    const restoredNow =
      run.steps.restore?.status === 'done' && previous?.steps.restore?.status !== 'done';
    if (restoredNow && run.target && run.snapshot) {
      this.record({
        kind: 'restored',
        t: this.sched.now,
        runId: run.runId,
        region: run.target,
        snapshotId: run.snapshot.snapshotId,
        storeDigest: this.storeDigest(run.target, run.instanceId),
        manifestDigest: this.manifestDigest(
          run.snapshot.region,
          run.instanceId,
          run.snapshot.snapshotId,
        ),
      });
    }
  }

  /** The digest of what a region's store holds for an instance, straight from the truth. */
  storeDigest(region: string, instanceId: string): string {
    const objects = [...this.store(region).contents(instanceId)].map(([key, body]) => ({
      key,
      sha256: sha256Hex(body),
    }));
    return configDigest(objects);
  }

  /**
   * Every committed snapshot of an instance in a region, read straight from the vault, with
   * what makes it unusable: a root missing or undecodable, a layer unreadable, or a pack it
   * lists absent or not hashing to its id. A crash between any two writes must leave none.
   */
  committedSnapshots(
    region: string,
    instanceId: string,
  ): { snapshotId: string; problem?: string }[] {
    const vault = this.vaults.get(region)?.objects;
    if (!vault) return [];
    const commits = snapshotKeys.commitsPrefix(instanceId);
    return [...vault.keys()]
      .filter((key) => key.startsWith(commits) && key.endsWith('.json'))
      .sort()
      .map((key) => {
        const snapshotId = key.slice(commits.length, -'.json'.length);
        const root = vault.get(snapshotKeys.manifest(instanceId, snapshotId))?.body;
        if (!root) return { snapshotId, problem: 'committed, but its root is absent' };
        try {
          const pack = (id: string) => vault.get(snapshotKeys.pack(instanceId, id))?.body;
          objectsOfStored(root, pack);
          const parsed = JSON.parse(root.toString('utf8')) as {
            packs?: string[];
            chunks?: Record<string, { pack: string }>;
          };
          const packs = parsed.packs ?? Object.values(parsed.chunks ?? {}).map((c) => c.pack);
          for (const id of new Set(packs)) {
            const body = pack(id);
            if (!body) return { snapshotId, problem: `pack ${id} is absent` };
            if (sha256Hex(body) !== id) return { snapshotId, problem: `pack ${id} is corrupt` };
          }
          return { snapshotId };
        } catch (error) {
          return { snapshotId, problem: (error as Error).message };
        }
      });
  }

  /** The digest of the objects a stored snapshot lists, read straight from the vault. */
  manifestDigest(region: string, instanceId: string, snapshotId: string): string {
    const vault = this.vaults.get(region)?.objects;
    const stored = vault?.get(snapshotKeys.manifest(instanceId, snapshotId));
    if (!stored) return `no manifest ${snapshotId} in ${region}`;
    try {
      const objects = objectsOfStored(
        stored.body,
        (pack) => vault?.get(snapshotKeys.pack(instanceId, pack))?.body,
      );
      return configDigest(objects.map((o) => ({ key: o.key, sha256: o.sha256 })));
    } catch (error) {
      return `unreadable manifest ${snapshotId} in ${region}: ${(error as Error).message}`;
    }
  }

  /** Deletes a control key (capacity release), as S3 does: a missing key is not an error. */
  deleteDoc(region: string, key: string): void {
    if (!this.bucket(region).delete(key)) return;
    const slot = SLOT_KEY.exec(key);
    if (slot) this.record({ kind: 'slot', t: this.sched.now, region, slot: Number(slot[2]) });
  }

  // ---- Route 53 ----

  /** Route 53 is global: the Route 53 "region" never goes down in the simulation. */
  readWeights(spec: DnsRecordSpec): Weights {
    return this.dns.read(spec.instanceId);
  }

  applyWeights(spec: DnsRecordSpec, weights: Weights): DnsChangeResult {
    this.dns.apply(spec.instanceId, weights);
    // What Route 53 now holds, read back: a change that did not take effect shows as none.
    this.record({
      kind: 'weights',
      t: this.sched.now,
      instanceId: spec.instanceId,
      weights: this.readWeights(spec),
    });
    return { changeId: `C${this.sched.steps}`, attempts: 1, insync: true };
  }

  /** Pre-creates an instance's weighted records (lifeboat dns precreate). */
  createRecords(instanceId: string, weights: Weights): void {
    this.dns.create(instanceId, weights);
    this.record({ kind: 'weights', t: this.sched.now, instanceId, weights: { ...weights } });
  }

  // ---- instance runtimes ----

  rt(id: string, region: string): RuntimeState {
    return this.instances.copy(id, region);
  }

  /** The instance in `region` serves what its store holds now. */
  activate(id: string, region: string): void {
    this.instances.activate(id, region, this.storeDigest(region, id));
    this.traceRuntime(id, region);
  }

  health(id: string, region: string): InstanceHealth {
    const state = this.rt(id, region);
    const zones = this.config.regions.find((r) => r.name === region)?.zones ?? [];
    if (zones.length > 0 && zones.every((z) => this.zoneDown.has(`${region}/${z}`)))
      return { ok: false, error: 'every zone down' };
    // A standby runtime answers /health with no config (digest null), as the reference runtime does.
    return {
      ok: true,
      instanceId: id,
      region,
      configDigest: state.activated ? (state.digest ?? null) : null,
      fenced: state.fenced,
    };
  }

  setFence(id: string, region: string, fenced: boolean): void {
    if (!this.instances.setFence(id, region, fenced)) return;
    const state = this.rt(id, region);
    state.fencedWhileServingAt = fenced && state.activated ? this.sched.now : undefined;
    this.traceRuntime(id, region);
  }

  private traceRuntime(id: string, region: string): void {
    const state = this.rt(id, region);
    this.record({
      kind: 'instance',
      t: this.sched.now,
      instanceId: id,
      region,
      activated: state.activated,
      fenced: state.fenced,
    });
  }

  /** A region's data is gone (a destroyed region): stores, backups, control state, runtime. */
  destroy(region: string): void {
    this.docs.set(region, this.newBucket());
    this.vaults.set(region, new MemoryBlobs());
    this.stores.set(region, new MemoryInstanceStore());
    for (const instance of this.config.instances) {
      if (this.instances.peek(instance.id, region)?.activated) {
        this.instances.reset(instance.id, region);
        this.traceRuntime(instance.id, region);
      }
    }
  }

  /** What Route 53's health check of the instance's record in `region` sees: `/ready` answers. */
  ready(id: string, region: string): boolean {
    return this.reachable(region) && this.rt(id, region).activated;
  }

  /**
   * A client's config write through the instance's admin API. Accepted only by a reachable,
   * activated, unfenced instance; it lands in the region's store and is served at once.
   */
  clientWrite(id: string, region: string, key: string, body: string): boolean {
    const state = this.rt(id, region);
    const pastFence = state.fenced && (!this.fenceHonoured || this.fenceNotSeenYet(id, state));
    const accepted = this.reachable(region) && state.activated && (!state.fenced || pastFence);
    const bytes = Buffer.from(body);
    if (accepted) {
      state.lastWriteAt = this.sched.now;
      this.objectsOf(region, id).set(key, bytes);
      state.digest = this.storeDigest(region, id);
    }
    this.record({
      kind: 'write',
      t: this.sched.now,
      instanceId: id,
      region,
      key,
      valueHash: sha256Hex(bytes),
      accepted,
      ...(accepted && pastFence ? { pastFence: true } : {}),
    });
    return accepted;
  }

  /**
   * A write outruns an advisory fence when its writer had been deploying to this copy until
   * shortly before the fence (it took a write less than `lag` before) and the fence is younger
   * than the writer's lag: the deploy was under way before the marker went up.
   */
  private fenceNotSeenYet(id: string, state: RuntimeState): boolean {
    const lag = this.advisoryFenceLagMs.get(id);
    const since = state.fencedWhileServingAt;
    const last = state.lastWriteAt;
    if (lag === undefined || since === undefined || last === undefined) return false;
    return this.sched.now - since < lag && since - last < lag;
  }

  private store(region: string): MemoryInstanceStore {
    return this.stores.get(region) as MemoryInstanceStore;
  }

  objectsOf(region: string, id: string): Map<string, Buffer> {
    return this.store(region).objectsOf(id);
  }

  // ---- backup buckets ----

  private vault(region: string): MemoryBlobs {
    return this.vaults.get(region) as MemoryBlobs;
  }

  vaultPut(region: string, key: string, body: Uint8Array, options: PutOptions): void {
    this.vault(region).put(key, body, options, new Date(this.sched.now));
  }

  vaultGet(region: string, key: string): Uint8Array | undefined {
    return this.vault(region).get(key);
  }

  vaultList(region: string, prefix: string): StoredBlob[] {
    return this.vault(region).list(prefix);
  }

  vaultDelete(region: string, keys: readonly string[]): void {
    this.vault(region).delete(keys);
  }

  // ---- instance stores ----

  storeList(region: string, id: string): ObjectEntry[] {
    return this.store(region).list(id);
  }

  storeWrite(region: string, id: string, key: string, body: Uint8Array): void {
    this.store(region).write(id, key, body);
  }

  storeDelete(region: string, id: string, keys: readonly string[]): void {
    this.store(region).delete(id, keys);
  }
}
