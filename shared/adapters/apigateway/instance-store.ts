import { createHash } from 'node:crypto';
import { DeleteRestApiCommand } from '@aws-sdk/client-api-gateway';
import {
  type ApiKeyDocument,
  type DomainDocument,
  decodeDocument,
  documentKey,
  encodeDocument,
  instanceDocuments,
  parseDocumentKey,
  type RestApiDocument,
  restoreRank,
  type UsagePlanDocument,
} from '../../domain/apigateway/documents.ts';
import { AWS_PACING, projectSeconds } from '../../domain/apigateway/pacing.ts';
import { localizeReferences, type ReferenceTable } from '../../domain/apigateway/references.ts';
import { type Keyring, sealedKeyId, unseal } from '../../domain/apigateway/sealing.ts';
import { sealedCredentialKeyIds } from '../../domain/apigateway/static-credentials.ts';
import type { InstanceStore, ObjectEntry } from '../../domain/ports.ts';
import { ObjectMissingError } from '../../errors.ts';
import { RestApiWriter } from './apply-api.ts';
import { MemberWriter } from './apply-members.ts';
import type { ControlPlane } from './control-plane.ts';
import { type InstanceIndex, memberApis, readInstance, readRestApi } from './read-instance.ts';

/*
 * An Amazon API Gateway instance seen through the instance port: its canonical documents are
 * the "objects" (`apis/<name>.json`, `usage-plans/…`, `api-keys/…`, `domains/…`), so the
 * snapshot path (chunks, packs, manifests, quorum), verify, restore, the runtime's digest and
 * drift all work on it unchanged. A listing reads the whole instance once and keeps the bytes
 * for the reads that follow; a write applies one document through the control plane.
 */

/** What the store did against the control plane, for reports and benchmarks. */
export interface StoreStats {
  writes: number;
  reads: number;
}

interface Loaded {
  bytes: Map<string, Buffer>;
  index: InstanceIndex;
}

/** One region's API Gateway as an instance store. */
export class ApiGatewayInstanceStore implements InstanceStore {
  readonly location: string;
  private readonly loaded = new Map<string, Loaded>();
  readonly stats: StoreStats = { writes: 0, reads: 0 };

  constructor(
    private readonly plane: ControlPlane,
    private readonly referencesOf: (instanceId: string) => ReferenceTable,
    private readonly keyring: Keyring,
  ) {
    this.location = `apigateway (${plane.region})`;
  }

  private context(instanceId: string) {
    return {
      plane: this.plane,
      instanceId,
      references: this.referencesOf(instanceId),
      keyring: this.keyring,
    };
  }

  private async load(instanceId: string): Promise<Loaded> {
    const { instance, index } = await readInstance(this.context(instanceId));
    const bytes = new Map(
      instanceDocuments(instance).map((doc) => [
        documentKey(doc),
        Buffer.from(encodeDocument(doc)),
      ]),
    );
    const loaded = { bytes, index };
    this.loaded.set(instanceId, loaded);
    return loaded;
  }

  async list(instanceId: string): Promise<ObjectEntry[]> {
    const { bytes } = await this.load(instanceId);
    return [...bytes].map(([key, body]) => ({
      key,
      // What S3 would report: the MD5 of the body, so restore skips documents already equal.
      etag: createHash('md5').update(body).digest('hex'),
      size: body.length,
    }));
  }

  async *read(instanceId: string, key: string): AsyncIterable<Uint8Array> {
    const loaded = this.loaded.get(instanceId) ?? (await this.load(instanceId));
    const body = loaded.bytes.get(key);
    if (!body) throw new ObjectMissingError(`${this.location}: ${instanceId}/${key}`);
    yield body;
  }

  /** Documents first, accounts-level members after the APIs they name (see documents.ts). */
  restoreRank(_instanceId: string, key: string): number {
    return restoreRank(key);
  }

  /** Every call this region's control plane has made (the plane is the account's, shared). */
  pacedCalls(): ReadonlyMap<string, number> {
    return new Map(this.plane.calls);
  }

  /** At AWS's documented API Gateway limits, whatever pace this plane keeps (none, on moto). */
  secondsAtProviderLimits(_instanceId: string, calls: ReadonlyMap<string, number>): number {
    return projectSeconds(calls, AWS_PACING);
  }

  /**
   * Checks a document before a restore writes anything: it parses, every region-bound
   * reference has a mapping for this region, and a sealed value opens here.
   */
  async preflight(instanceId: string, key: string, body: Uint8Array): Promise<void> {
    const doc = decodeDocument(key, body);
    localizeReferences(
      doc,
      { region: this.plane.region, references: this.referencesOf(instanceId) },
      key,
    );
    if (doc.kind === 'api-key') await this.keyring.byId(instanceId, sealedKeyId(doc.value.sealed));
    if (doc.kind === 'rest-api')
      for (const keyId of sealedCredentialKeyIds(doc)) await this.keyring.byId(instanceId, keyId);
  }

  async write(instanceId: string, key: string, body: Uint8Array): Promise<void> {
    const doc = decodeDocument(key, body);
    const loaded = this.loaded.get(instanceId) ?? (await this.load(instanceId));
    const before = loaded.bytes.get(key);
    const current = before ? decodeDocument(key, before) : undefined;
    const references = this.referencesOf(instanceId);
    const members = new MemberWriter(this.plane, instanceId, references, loaded.index);
    switch (doc.kind) {
      case 'rest-api': {
        const existing = loaded.index.apis.get(doc.name);
        const api = existing ? { id: existing.id, name: doc.name } : undefined;
        const writer = new RestApiWriter(this.plane, instanceId, references, this.keyring);
        const result = await writer.apply(
          doc,
          api && current
            ? {
                api,
                document: current as RestApiDocument,
                index: existing as NonNullable<typeof existing>,
              }
            : undefined,
        );
        this.stats.writes += result.writes;
        // Plans and domains written next name this API by its (possibly new) id.
        const [fresh] = (await memberApis(this.context(instanceId))).filter(
          (a) => a.name === doc.name,
        );
        if (fresh) {
          const read = await readRestApi(this.context(instanceId), fresh);
          loaded.index.apis.set(doc.name, read.index);
          loaded.index.apiNames.set(read.index.id, doc.name);
          loaded.bytes.set(key, Buffer.from(encodeDocument(read.document)));
        }
        return;
      }
      case 'api-key': {
        const dataKey = await this.keyring.byId(instanceId, sealedKeyId(doc.value.sealed));
        // The plans that hold the key here: a key made again (new value) must rejoin them.
        const plans = [...loaded.bytes].flatMap(([k, b]) => {
          if (parseDocumentKey(k)?.kind !== 'usage-plan') return [];
          const plan = decodeDocument(k, b) as UsagePlanDocument;
          return plan.keys.includes(doc.name) ? [plan.name] : [];
        });
        await members.applyApiKey(doc as ApiKeyDocument, unseal(doc.value.sealed, dataKey), plans);
        break;
      }
      case 'usage-plan':
        await members.applyUsagePlan(
          doc as UsagePlanDocument,
          current as UsagePlanDocument | undefined,
        );
        break;
      case 'domain-name':
        await members.applyDomain(doc as DomainDocument, current as DomainDocument | undefined);
        break;
    }
    this.stats.writes += members.writes;
    loaded.bytes.set(key, Buffer.from(body));
  }

  async delete(instanceId: string, keys: readonly string[]): Promise<void> {
    const loaded = this.loaded.get(instanceId) ?? (await this.load(instanceId));
    const members = new MemberWriter(
      this.plane,
      instanceId,
      this.referencesOf(instanceId),
      loaded.index,
    );
    // Dependants go first: domains and plans name APIs and keys.
    const ordered = [...keys].sort((a, b) => restoreRank(b) - restoreRank(a));
    for (const key of ordered) {
      const parsed = parseDocumentKey(key);
      if (!parsed) continue;
      switch (parsed.kind) {
        case 'domain-name':
          await members.deleteDomain(parsed.name);
          break;
        case 'usage-plan':
          await members.deleteUsagePlan(parsed.name);
          break;
        case 'api-key':
          await members.deleteApiKey(parsed.name);
          break;
        case 'rest-api': {
          const api = loaded.index.apis.get(parsed.name);
          if (api) {
            await this.plane.call('DeleteRestApi', new DeleteRestApiCommand({ restApiId: api.id }));
            this.stats.writes += 1;
            loaded.index.apis.delete(parsed.name);
          }
          break;
        }
      }
      loaded.bytes.delete(key);
    }
    this.stats.writes += members.writes;
  }
}
