import { isDeepStrictEqual } from 'node:util';
import {
  CreateApiKeyCommand,
  CreateBasePathMappingCommand,
  CreateDomainNameCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteBasePathMappingCommand,
  DeleteDomainNameCommand,
  DeleteUsagePlanCommand,
  DeleteUsagePlanKeyCommand,
  GetBasePathMappingsCommand,
  UpdateApiKeyCommand,
  UpdateDomainNameCommand,
  UpdateUsagePlanCommand,
} from '@aws-sdk/client-api-gateway';
import {
  type ApiKeyDocument,
  type DomainDocument,
  INSTANCE_TAG,
  type UsagePlanDocument,
} from '../../domain/apigateway/documents.ts';
import { localizeReferences, type ReferenceTable } from '../../domain/apigateway/references.ts';
import type { PatchOperation } from '../../domain/apigateway/restore-plan.ts';
import { ApiGatewayCallError } from '../../errors.ts';
import { type ControlPlane, PlaneWriter } from './control-plane.ts';
import type { InstanceIndex } from './read-instance.ts';

/*
 * Restores the account-level members of an instance: API keys, usage plans (with their keys)
 * and domain names (with their base path mappings). Each is found by name among the
 * instance's members in the target region, and what a restore creates carries the
 * `lifeboat:instance` tag, so a restore cut off between a create and its association still
 * finds what it made.
 */

/** Writes keys, plans and domains into one region; `index` is what the target holds. */
export class MemberWriter extends PlaneWriter {
  constructor(
    plane: ControlPlane,
    private readonly instanceId: string,
    private readonly references: ReferenceTable,
    private readonly index: InstanceIndex,
  ) {
    super(plane);
  }

  private apiId(name: string, field: string): string {
    const api = this.index.apis.get(name);
    if (!api) {
      throw new ApiGatewayCallError(
        'lookup',
        this.plane.region,
        false,
        `${field}: no REST API "${name}" of the instance in ${this.plane.region}`,
      );
    }
    return api.id;
  }

  /**
   * Creates or updates an API key; a changed value means a new key (values are immutable).
   * `plans` are the usage plans that hold the key in the target: plans name keys by name, so
   * their documents do not change when the key is made again, and the new key rejoins them.
   */
  async applyApiKey(
    doc: ApiKeyDocument,
    value: string,
    plans: readonly string[] = [],
  ): Promise<void> {
    const existing = this.index.apiKeys.get(doc.name);
    let rejoin: string[] = [];
    if (existing && existing.value !== undefined && existing.value !== value) {
      rejoin = plans.flatMap((name) => this.index.usagePlanIds.get(name) ?? []);
      // The old key leaves its plans first: moto keeps a deleted key in them.
      for (const usagePlanId of rejoin)
        await this.write(
          'DeleteUsagePlanKey',
          new DeleteUsagePlanKeyCommand({ usagePlanId, keyId: existing.id }),
        );
      await this.write('DeleteApiKey', new DeleteApiKeyCommand({ apiKey: existing.id }));
      this.index.apiKeys.delete(doc.name);
    } else if (existing) {
      await this.write(
        'UpdateApiKey',
        new UpdateApiKeyCommand({
          apiKey: existing.id,
          patchOperations: [
            { op: 'replace', path: '/enabled', value: String(doc.enabled) },
            { op: 'replace', path: '/description', value: doc.description ?? '' },
            ...(doc.customerId
              ? [{ op: 'replace' as const, path: '/customerId', value: doc.customerId }]
              : []),
          ],
        }),
      );
      return;
    }
    const created = await this.write<{ id?: string }>(
      'CreateApiKey',
      new CreateApiKeyCommand({
        name: doc.name,
        description: doc.description,
        enabled: doc.enabled,
        customerId: doc.customerId,
        value,
        tags: { ...doc.tags, [INSTANCE_TAG]: this.instanceId },
      }),
    );
    this.index.apiKeys.set(doc.name, { id: created.id as string, value });
    for (const usagePlanId of rejoin)
      await this.write(
        'CreateUsagePlanKey',
        new CreateUsagePlanKeyCommand({ usagePlanId, keyId: created.id, keyType: 'API_KEY' }),
      );
  }

  async applyUsagePlan(
    doc: UsagePlanDocument,
    current: UsagePlanDocument | undefined,
  ): Promise<void> {
    let planId = this.index.usagePlanIds.get(doc.name);
    const stagesChanged = current && !isDeepStrictEqual(doc.apiStages, current.apiStages);
    if (planId && (stagesChanged || !current)) {
      // API stages and their per-method throttles have no reliable patch: the plan is made anew.
      await this.write('DeleteUsagePlan', new DeleteUsagePlanCommand({ usagePlanId: planId }));
      this.index.usagePlanIds.delete(doc.name);
      planId = undefined;
    }
    let keysBefore: string[] = [];
    if (!planId) {
      const created = await this.write<{ id?: string }>(
        'CreateUsagePlan',
        new CreateUsagePlanCommand({
          name: doc.name,
          description: doc.description,
          apiStages: doc.apiStages.map((s) => ({
            apiId: this.apiId(s.api, `usage plan ${doc.name}`),
            stage: s.stage,
            throttle: Object.keys(s.throttle).length > 0 ? s.throttle : undefined,
          })),
          throttle: doc.throttle,
          quota: doc.quota as { limit: number; period: 'DAY' } | undefined,
          tags: { ...doc.tags, [INSTANCE_TAG]: this.instanceId },
        }),
      );
      planId = created.id as string;
      this.index.usagePlanIds.set(doc.name, planId);
    } else if (current) {
      keysBefore = current.keys;
      const patch: PatchOperation[] = [];
      if ((doc.description ?? '') !== (current.description ?? ''))
        patch.push({ op: 'replace', path: '/description', value: doc.description ?? '' });
      for (const field of ['burstLimit', 'rateLimit'] as const) {
        const value = doc.throttle?.[field];
        if (value !== current.throttle?.[field] && value !== undefined)
          patch.push({ op: 'replace', path: `/throttle/${field}`, value: String(value) });
      }
      for (const field of ['limit', 'offset', 'period'] as const) {
        const value = doc.quota?.[field];
        if (value !== current.quota?.[field] && value !== undefined)
          patch.push({ op: 'replace', path: `/quota/${field}`, value: String(value) });
      }
      if (patch.length > 0)
        await this.write(
          'UpdateUsagePlan',
          new UpdateUsagePlanCommand({ usagePlanId: planId, patchOperations: patch }),
        );
    }
    for (const name of doc.keys.filter((k) => !keysBefore.includes(k))) {
      const key = this.index.apiKeys.get(name);
      if (!key)
        throw new ApiGatewayCallError(
          'lookup',
          this.plane.region,
          false,
          `usage plan ${doc.name}: no API key "${name}"`,
        );
      await this.write(
        'CreateUsagePlanKey',
        new CreateUsagePlanKeyCommand({ usagePlanId: planId, keyId: key.id, keyType: 'API_KEY' }),
      );
    }
    for (const name of keysBefore.filter((k) => !doc.keys.includes(k))) {
      const key = this.index.apiKeys.get(name);
      if (key)
        await this.write(
          'DeleteUsagePlanKey',
          new DeleteUsagePlanKeyCommand({ usagePlanId: planId, keyId: key.id }),
        );
    }
  }

  async applyDomain(neutral: DomainDocument, current: DomainDocument | undefined): Promise<void> {
    const doc = localizeReferences(
      neutral,
      { region: this.plane.region, references: this.references },
      `domain ${neutral.domainName}`,
    );
    const domainName = doc.domainName;
    let created = false;
    if (!this.index.domains.has(domainName)) {
      created = true;
      await this.write(
        'CreateDomainName',
        new CreateDomainNameCommand({
          domainName,
          regionalCertificateArn: doc.certificate,
          endpointConfiguration: { types: ['REGIONAL'] },
          securityPolicy: doc.securityPolicy as 'TLS_1_2' | undefined,
          tags: { ...doc.tags, [INSTANCE_TAG]: this.instanceId },
        }),
      );
      this.index.domains.add(domainName);
    } else if (current) {
      const was = localizeReferences(
        current,
        { region: this.plane.region, references: this.references },
        `domain ${domainName}`,
      );
      const patch: PatchOperation[] = [];
      if (doc.certificate !== was.certificate && doc.certificate)
        patch.push({ op: 'replace', path: '/regionalCertificateArn', value: doc.certificate });
      if (doc.securityPolicy !== was.securityPolicy && doc.securityPolicy)
        patch.push({ op: 'replace', path: '/securityPolicy', value: doc.securityPolicy });
      if (patch.length > 0)
        await this.write(
          'UpdateDomainName',
          new UpdateDomainNameCommand({ domainName, patchOperations: patch }),
        );
    }
    // The mappings the target really has, not what its document said: a domain deleted and made
    // again can keep its old mappings (moto does), and a mapping may name an API by an id that
    // is no member's any more.
    // A domain made just now has no mapping (and moto answers 500 to listing one that never
    // had any); an existing one is diffed against what it really has.
    const listed = created
      ? []
      : await this.plane.all<{ basePath?: string; restApiId?: string; stage?: string }>(
          'GetBasePathMappings',
          (position) => new GetBasePathMappingsCommand({ domainName, limit: 500, position }),
        );
    const before = listed.map((m) => ({
      basePath: m.basePath === '(none)' ? '' : (m.basePath ?? ''),
      api: (m.restApiId ? this.index.apiNames.get(m.restApiId) : undefined) ?? `id:${m.restApiId}`,
      stage: m.stage ?? '',
    }));
    const same = (a: DomainDocument['mappings'][number], b: DomainDocument['mappings'][number]) =>
      a.basePath === b.basePath && a.api === b.api && a.stage === b.stage;
    for (const mapping of before.filter((m) => !doc.mappings.some((d) => same(d, m)))) {
      await this.write(
        'DeleteBasePathMapping',
        new DeleteBasePathMappingCommand({ domainName, basePath: mapping.basePath || '(none)' }),
      );
    }
    for (const mapping of doc.mappings.filter((m) => !before.some((b) => same(b, m)))) {
      const create = () =>
        this.write(
          'CreateBasePathMapping',
          new CreateBasePathMappingCommand({
            domainName,
            basePath: mapping.basePath || undefined,
            restApiId: this.apiId(mapping.api, `domain ${domainName}`),
            stage: mapping.stage,
          }),
        );
      try {
        await create();
      } catch (error) {
        // A domain deleted and made again can keep its old mappings (moto does): a refused
        // (409, so not made) mapping of a domain made just now is a stale one, replaced.
        const conflict =
          error instanceof ApiGatewayCallError &&
          !error.ambiguous &&
          (error.cause as { name?: string } | undefined)?.name === 'ConflictException';
        if (!created || !conflict) throw error;
        await this.write(
          'DeleteBasePathMapping',
          new DeleteBasePathMappingCommand({ domainName, basePath: mapping.basePath || '(none)' }),
        );
        await create();
      }
    }
  }

  async deleteApiKey(name: string): Promise<void> {
    const key = this.index.apiKeys.get(name);
    if (key) await this.write('DeleteApiKey', new DeleteApiKeyCommand({ apiKey: key.id }));
    this.index.apiKeys.delete(name);
  }

  async deleteUsagePlan(name: string): Promise<void> {
    const id = this.index.usagePlanIds.get(name);
    if (id) await this.write('DeleteUsagePlan', new DeleteUsagePlanCommand({ usagePlanId: id }));
    this.index.usagePlanIds.delete(name);
  }

  async deleteDomain(name: string): Promise<void> {
    if (this.index.domains.has(name))
      await this.write('DeleteDomainName', new DeleteDomainNameCommand({ domainName: name }));
    this.index.domains.delete(name);
  }
}

export type { ReferenceTable };
