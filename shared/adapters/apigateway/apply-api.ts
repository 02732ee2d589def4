import {
  CreateAuthorizerCommand,
  CreateDeploymentCommand,
  CreateModelCommand,
  CreateRequestValidatorCommand,
  CreateResourceCommand,
  CreateRestApiCommand,
  CreateStageCommand,
  DeleteAuthorizerCommand,
  DeleteGatewayResponseCommand,
  DeleteMethodCommand,
  DeleteModelCommand,
  DeleteRequestValidatorCommand,
  DeleteResourceCommand,
  DeleteStageCommand,
  PutGatewayResponseCommand,
  type RestApi,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAuthorizerCommand,
  UpdateRequestValidatorCommand,
  UpdateRestApiCommand,
  UpdateStageCommand,
} from '@aws-sdk/client-api-gateway';
import type { RestApiDocument } from '../../domain/apigateway/documents.ts';
import { localizeReferences, type ReferenceTable } from '../../domain/apigateway/references.ts';
import {
  type ApiOperation,
  afterApiCreated,
  type PatchOperation,
  parentPath,
  planApiRestore,
  stagePatch,
} from '../../domain/apigateway/restore-plan.ts';
import type { Keyring } from '../../domain/apigateway/sealing.ts';
import {
  openStaticCredentials,
  sealedCredentialKeyIds,
} from '../../domain/apigateway/static-credentials.ts';
import { ApiGatewayCallError } from '../../errors.ts';
import { putMethod, settingPatch } from './apply-method.ts';
import { type ControlPlane, PlaneWriter } from './control-plane.ts';
import { type ApiIndex, readRestApi } from './read-instance.ts';

/*
 * Carries out the restore planner's operations for one REST API against a region's control
 * plane. The target API is found by its source identity (name and the instance tag), never by
 * id; every step re-reads what is there first, so a restore cut off after any call resumes
 * without making anything twice.
 */

/** What applying one document did. */
export interface ApplyResult {
  writes: number;
  operations: ApiOperation[];
}

function apiArn(region: string, apiId: string): string {
  return `arn:aws:apigateway:${region}::/restapis/${apiId}`;
}

/** Applies one REST API document (already localized to the target) to the target region. */
export class RestApiWriter extends PlaneWriter {
  /** The target's document before this apply (region-neutral), for stage patches. */
  private current: RestApiDocument | undefined;

  constructor(
    plane: ControlPlane,
    private readonly instanceId: string,
    private readonly references: ReferenceTable,
    private readonly keyring: Keyring,
  ) {
    super(plane);
  }

  /** Brings the target API named like `desired` to equal it; `current` is what is there. */
  async apply(
    desired: RestApiDocument,
    existing: { api: RestApi; document: RestApiDocument; index: ApiIndex } | undefined,
  ): Promise<ApplyResult> {
    const region = this.plane.region;
    // Plans compare region-neutral documents; values are localized only to be written. The
    // first localization resolves every token but the API's own id, so a missing mapping
    // stops everything before the first write.
    const operations = planApiRestore(desired, existing?.document);
    if (operations.length === 0) return { writes: 0, operations };
    // Sealed static credentials are opened only to be written (static-credentials.ts).
    const keyIds = [...sealedCredentialKeyIds(desired)];
    const dataKeys = new Map(
      await Promise.all(
        keyIds.map(async (id) => [id, await this.keyring.byId(this.instanceId, id)] as const),
      ),
    );
    const opened = keyIds.length > 0 ? openStaticCredentials(desired, dataKeys) : desired;
    const localize = <T>(doc: T, apiId?: string): T =>
      localizeReferences(doc, { region, apiId, references: this.references }, desired.name);
    const preflight = localize(opened);
    this.current = existing?.document;
    let index = existing?.index;
    const readBack = async (apiId: string) =>
      readRestApi(
        {
          plane: this.plane,
          instanceId: this.instanceId,
          references: this.references,
          keyring: this.keyring,
        },
        { id: apiId, name: desired.name },
      );
    const deployments: Map<string | undefined, string> = new Map();
    let queue: readonly ApiOperation[] = operations;
    for (let next = 0; next < queue.length; next++) {
      const operation = queue[next] as ApiOperation;
      if (operation.op === 'createApi') {
        const created = await this.write<RestApi>(
          'CreateRestApi',
          new CreateRestApiCommand({
            name: preflight.name,
            description: preflight.description,
            apiKeySource: preflight.apiKeySource as 'HEADER' | undefined,
            binaryMediaTypes: preflight.binaryMediaTypes,
            minimumCompressionSize: preflight.minimumCompressionSize,
            disableExecuteApiEndpoint: preflight.disableExecuteApiEndpoint,
            endpointConfiguration: {
              types: preflight.endpointTypes as ('REGIONAL' | 'EDGE' | 'PRIVATE')[],
            },
            // The tags come with the create: the API is found by them from its first moment.
            tags: preflight.tags,
          }),
        );
        const made = await readBack(created.id as string);
        index = made.index;
        this.current = made.document;
        // What the create made by itself (AWS's default models) is planned around, not redone.
        queue = afterApiCreated(queue.slice(next), made.document, desired);
        next = -1;
        continue;
      }
      if (!index) throw new ApiGatewayCallError('lookup', region, false, `no API ${desired.name}`);
      await this.run(operation, localize(opened, index.id), index, deployments);
      if (operation.op === 'deleteResource') index = (await readBack(index.id)).index;
      // Methods name authorizers and validators by id, and the create's answer holds it: a
      // read back (7 calls) only for an answer without one. It was half a restore's reads.
      if (operation.op === 'createAuthorizer' && !index.authorizerIds.has(operation.name))
        index = (await readBack(index.id)).index;
      if (operation.op === 'createValidator' && !index.validatorIds.has(operation.name))
        index = (await readBack(index.id)).index;
    }
    return { writes: this.writes, operations };
  }

  private async run(
    operation: ApiOperation,
    doc: RestApiDocument,
    index: ApiIndex,
    deployments: Map<string | undefined, string>,
  ): Promise<void> {
    const restApiId = index.id;
    const resourceId = (path: string) => {
      const id = index.resourceIds.get(path);
      if (!id)
        throw new ApiGatewayCallError('lookup', this.plane.region, false, `no resource ${path}`);
      return id;
    };
    switch (operation.op) {
      case 'createApi':
        return;
      case 'updateApiSettings': {
        await this.write(
          'UpdateRestApi',
          new UpdateRestApiCommand({
            restApiId,
            patchOperations: settingPatch(doc, operation.settings),
          }),
        );
        return;
      }
      case 'tagApi': {
        const resourceArn = apiArn(this.plane.region, restApiId);
        if (Object.keys(operation.add).length > 0)
          await this.write(
            'TagResource',
            new TagResourceCommand({ resourceArn, tags: operation.add }),
          );
        if (operation.remove.length > 0)
          await this.write(
            'UntagResource',
            new UntagResourceCommand({ resourceArn, tagKeys: operation.remove }),
          );
        return;
      }
      case 'createModel': {
        const model = doc.models[operation.name];
        if (!model) return;
        await this.write(
          'CreateModel',
          new CreateModelCommand({ restApiId, name: operation.name, ...model }),
        );
        return;
      }
      case 'deleteModel':
        await this.write(
          'DeleteModel',
          new DeleteModelCommand({ restApiId, modelName: operation.name }),
        );
        return;
      case 'createValidator': {
        const v = doc.requestValidators[operation.name];
        index.validatorIds.delete(operation.name);
        const created = await this.write<{ id?: string }>(
          'CreateRequestValidator',
          new CreateRequestValidatorCommand({ restApiId, name: operation.name, ...v }),
        );
        if (created?.id) index.validatorIds.set(operation.name, created.id);
        return;
      }
      case 'updateValidator': {
        const v = doc.requestValidators[operation.name];
        const requestValidatorId = index.validatorIds.get(operation.name) as string;
        await this.write(
          'UpdateRequestValidator',
          new UpdateRequestValidatorCommand({
            restApiId,
            requestValidatorId,
            patchOperations: [
              {
                op: 'replace',
                path: '/validateRequestBody',
                value: String(v?.validateRequestBody ?? false),
              },
              {
                op: 'replace',
                path: '/validateRequestParameters',
                value: String(v?.validateRequestParameters ?? false),
              },
            ],
          }),
        );
        return;
      }
      case 'deleteValidator':
        await this.write(
          'DeleteRequestValidator',
          new DeleteRequestValidatorCommand({
            restApiId,
            requestValidatorId: index.validatorIds.get(operation.name) as string,
          }),
        );
        return;
      case 'createAuthorizer': {
        const a = doc.authorizers[operation.name];
        index.authorizerIds.delete(operation.name);
        const created = await this.write<{ id?: string }>(
          'CreateAuthorizer',
          new CreateAuthorizerCommand({
            restApiId,
            name: operation.name,
            ...a,
            type: a?.type as 'TOKEN',
          }),
        );
        if (created?.id) index.authorizerIds.set(operation.name, created.id);
        return;
      }
      case 'updateAuthorizer': {
        const a = doc.authorizers[operation.name] ?? { type: 'TOKEN' };
        const patch: PatchOperation[] = Object.entries(a)
          .filter(([k]) => k !== 'type' && k !== 'providerARNs')
          .map(([k, v]) => ({ op: 'replace', path: `/${k}`, value: String(v) }));
        await this.write(
          'UpdateAuthorizer',
          new UpdateAuthorizerCommand({
            restApiId,
            authorizerId: index.authorizerIds.get(operation.name) as string,
            patchOperations: patch,
          }),
        );
        return;
      }
      case 'deleteAuthorizer':
        await this.write(
          'DeleteAuthorizer',
          new DeleteAuthorizerCommand({
            restApiId,
            authorizerId: index.authorizerIds.get(operation.name) as string,
          }),
        );
        return;
      case 'createResource': {
        const path = operation.path;
        const created = await this.write<{ id?: string }>(
          'CreateResource',
          new CreateResourceCommand({
            restApiId,
            parentId: resourceId(parentPath(path)),
            pathPart: path.slice(path.lastIndexOf('/') + 1),
          }),
        );
        if (created.id) index.resourceIds.set(path, created.id);
        return;
      }
      case 'deleteResource':
        await this.write(
          'DeleteResource',
          new DeleteResourceCommand({ restApiId, resourceId: resourceId(operation.path) }),
        );
        return;
      case 'deleteMethod':
        await this.write(
          'DeleteMethod',
          new DeleteMethodCommand({
            restApiId,
            resourceId: resourceId(operation.path),
            httpMethod: operation.verb,
          }),
        );
        return;
      case 'putMethod': {
        const method = doc.resources[operation.path]?.methods[operation.verb];
        if (method)
          await putMethod(
            (op, command) => this.write(op, command),
            restApiId,
            resourceId(operation.path),
            operation.verb,
            method,
            index,
          );
        return;
      }
      case 'putGatewayResponse': {
        const r = doc.gatewayResponses[operation.type];
        await this.write(
          'PutGatewayResponse',
          new PutGatewayResponseCommand({
            restApiId,
            responseType: operation.type as 'DEFAULT_4XX',
            statusCode: r?.statusCode,
            responseParameters: r?.responseParameters,
            responseTemplates: r?.responseTemplates,
          }),
        );
        return;
      }
      case 'deleteGatewayResponse':
        await this.write(
          'DeleteGatewayResponse',
          new DeleteGatewayResponseCommand({
            restApiId,
            responseType: operation.type as 'DEFAULT_4XX',
          }),
        );
        return;
      case 'createDeployment': {
        const created = await this.write<{ id?: string }>(
          'CreateDeployment',
          new CreateDeploymentCommand({ restApiId, description: operation.description }),
        );
        if (created.id) deployments.set(operation.description, created.id);
        return;
      }
      case 'createStage': {
        const stage = doc.stages[operation.stage];
        if (!stage) return;
        const deploymentId =
          deployments.get(stage.deploymentDescription) ?? [...deployments.values()][0];
        if (!deploymentId) return;
        await this.write(
          'CreateStage',
          new CreateStageCommand({
            restApiId,
            stageName: operation.stage,
            deploymentId,
            description: stage.description,
            variables: stage.variables,
            tracingEnabled: stage.tracingEnabled,
            tags: stage.tags,
          }),
        );
        // Everything CreateStage cannot take goes in the stage's one settings patch.
        const patch = stagePatch(stage, {
          ...stage,
          variables: stage.variables,
          methodSettings: {},
          cacheClusterEnabled: false,
          cacheClusterSize: undefined,
          accessLogSettings: undefined,
        });
        if (patch.length > 0) await this.updateStage(restApiId, operation.stage, patch);
        return;
      }
      case 'updateStage': {
        const stage = doc.stages[operation.stage];
        if (!stage) return;
        const before = this.current?.stages[operation.stage];
        const current = before
          ? localizeReferences(
              before,
              { region: this.plane.region, apiId: restApiId, references: this.references },
              doc.name,
            )
          : undefined;
        const deploymentId = operation.redeploy
          ? deployments.get(stage.deploymentDescription)
          : undefined;
        const patch = stagePatch(stage, current, deploymentId);
        if (patch.length > 0) await this.updateStage(restApiId, operation.stage, patch);
        return;
      }
      case 'deleteStage':
        await this.write(
          'DeleteStage',
          new DeleteStageCommand({ restApiId, stageName: operation.stage }),
        );
        return;
    }
  }

  private async updateStage(
    restApiId: string,
    stageName: string,
    patchOperations: PatchOperation[],
  ) {
    await this.write(
      'UpdateStage',
      new UpdateStageCommand({ restApiId, stageName, patchOperations }),
    );
  }
}
