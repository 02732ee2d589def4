import {
  PutIntegrationCommand,
  PutIntegrationResponseCommand,
  PutMethodCommand,
  PutMethodResponseCommand,
} from '@aws-sdk/client-api-gateway';
import type { MethodDocument, RestApiDocument } from '../../domain/apigateway/documents.ts';
import type { PatchOperation } from '../../domain/apigateway/restore-plan.ts';
import type { ApiIndex } from './read-instance.ts';

/*
 * The writes of one method and of an API's settings, as the restore carries them out: a method
 * is put whole (method, its responses, the integration, the integration responses), because
 * API Gateway has no way to change one in place that moto also serves.
 */

/** Sends one control-plane write and counts it. */
export type Write = (operation: string, command: object) => Promise<unknown>;

/** The UpdateRestApi patch that sets an API's changed top-level settings. */
export function settingPatch(doc: RestApiDocument, settings: string[]): PatchOperation[] {
  const ops: PatchOperation[] = [];
  for (const setting of settings) {
    switch (setting) {
      case 'policy':
        ops.push({
          op: 'replace',
          path: '/policy',
          value: doc.policy ? JSON.stringify(doc.policy) : '',
        });
        break;
      case 'binaryMediaTypes':
        // One add per type: API Gateway patches the list element by element.
        for (const type of doc.binaryMediaTypes)
          ops.push({ op: 'add', path: `/binaryMediaTypes/${type.replaceAll('/', '~1')}` });
        break;
      case 'minimumCompressionSize':
        ops.push({
          op: 'replace',
          path: '/minimumCompressionSize',
          value: doc.minimumCompressionSize === undefined ? '' : String(doc.minimumCompressionSize),
        });
        break;
      default: {
        const value = doc[setting as keyof RestApiDocument];
        ops.push({
          op: 'replace',
          path: `/${setting}`,
          value: value === undefined ? '' : String(value),
        });
      }
    }
  }
  return ops;
}

/** Puts one method whole: method, responses, integration, integration responses. */
export async function putMethod(
  write: Write,
  restApiId: string,
  resourceId: string,
  httpMethod: string,
  method: MethodDocument,
  index: ApiIndex,
): Promise<void> {
  await write(
    'PutMethod',
    new PutMethodCommand({
      restApiId,
      resourceId,
      httpMethod,
      authorizationType: method.authorizationType,
      authorizerId: method.authorizer ? index.authorizerIds.get(method.authorizer) : undefined,
      apiKeyRequired: method.apiKeyRequired,
      requestValidatorId: method.requestValidator
        ? index.validatorIds.get(method.requestValidator)
        : undefined,
      operationName: method.operationName,
      authorizationScopes: method.authorizationScopes,
      requestParameters: method.requestParameters,
      requestModels: method.requestModels,
    }),
  );
  for (const [statusCode, response] of Object.entries(method.responses)) {
    await write(
      'PutMethodResponse',
      new PutMethodResponseCommand({
        restApiId,
        resourceId,
        httpMethod,
        statusCode,
        ...response,
      }),
    );
  }
  const integration = method.integration;
  if (!integration) return;
  await write(
    'PutIntegration',
    new PutIntegrationCommand({
      restApiId,
      resourceId,
      httpMethod,
      type: integration.type as 'MOCK',
      integrationHttpMethod: integration.httpMethod,
      uri: integration.uri,
      connectionType: integration.connectionType as 'INTERNET' | undefined,
      connectionId: integration.connectionId,
      credentials: integration.credentials,
      requestParameters: integration.requestParameters,
      requestTemplates: integration.requestTemplates,
      passthroughBehavior: integration.passthroughBehavior,
      contentHandling: integration.contentHandling as 'CONVERT_TO_TEXT' | undefined,
      timeoutInMillis: integration.timeoutInMillis,
      cacheKeyParameters: integration.cacheKeyParameters,
    }),
  );
  for (const [statusCode, response] of Object.entries(integration.responses)) {
    await write(
      'PutIntegrationResponse',
      new PutIntegrationResponseCommand({
        restApiId,
        resourceId,
        httpMethod,
        statusCode,
        selectionPattern: response.selectionPattern,
        responseParameters: response.responseParameters,
        responseTemplates: response.responseTemplates,
        contentHandling: response.contentHandling as 'CONVERT_TO_TEXT' | undefined,
      }),
    );
  }
}
