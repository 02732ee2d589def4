import type { Method, Stage } from '@aws-sdk/client-api-gateway';
import {
  compact,
  type MethodDocument,
  type StageDocument,
  sortedRecord,
} from '../../domain/apigateway/documents.ts';

/*
 * From the SDK's shapes to canonical pieces: what API Gateway reports inconsistently (null
 * templates, empty strings, a policy escaped once or twice, ids where documents use names) made
 * one form, so the same configuration always gives the same bytes (docs/apigateway.md).
 */

export function opt(value: string | undefined | null): string | undefined {
  return value ? value : undefined;
}

export function templates(
  record: Record<string, string | null> | undefined,
): Record<string, string> {
  // API Gateway reports an empty template as null; a restore writes it back as "".
  return sortedRecord(
    Object.fromEntries(Object.entries(record ?? {}).map(([k, v]) => [k, v ?? ''])),
  );
}

export function parsePolicy(policy: string | undefined): unknown {
  if (!policy) return undefined;
  // AWS returns the policy as an escaped JSON string, moto as plain JSON: unwrap both.
  let value: unknown = policy;
  for (let i = 0; i < 3 && typeof value === 'string'; i++) {
    try {
      value = JSON.parse(value.includes('\\"') && i === 0 ? `"${value}"` : value);
    } catch {
      return value;
    }
  }
  return value;
}

export function canonicalMethod(
  method: Method,
  authorizerNames: Map<string, string>,
  validatorNames: Map<string, string>,
): MethodDocument {
  const integration = method.methodIntegration;
  return compact({
    authorizationType: method.authorizationType ?? 'NONE',
    authorizer: method.authorizerId ? authorizerNames.get(method.authorizerId) : undefined,
    apiKeyRequired: method.apiKeyRequired ?? false,
    requestValidator: method.requestValidatorId
      ? validatorNames.get(method.requestValidatorId)
      : undefined,
    operationName: opt(method.operationName),
    authorizationScopes: method.authorizationScopes?.length
      ? [...method.authorizationScopes].sort()
      : undefined,
    requestParameters: sortedRecord(method.requestParameters ?? {}),
    requestModels: sortedRecord(method.requestModels ?? {}),
    responses: sortedRecord(
      Object.fromEntries(
        Object.entries(method.methodResponses ?? {}).map(([code, r]) => [
          code,
          {
            responseParameters: sortedRecord(r.responseParameters ?? {}),
            responseModels: sortedRecord(r.responseModels ?? {}),
          },
        ]),
      ),
    ),
    integration: integration
      ? compact({
          type: integration.type ?? 'MOCK',
          httpMethod: opt(integration.httpMethod),
          uri: opt(integration.uri),
          connectionType: opt(integration.connectionType),
          connectionId: opt(integration.connectionId),
          credentials: opt(integration.credentials),
          requestParameters: sortedRecord(integration.requestParameters ?? {}),
          requestTemplates: templates(integration.requestTemplates),
          passthroughBehavior: opt(integration.passthroughBehavior),
          contentHandling: opt(integration.contentHandling),
          timeoutInMillis: integration.timeoutInMillis ?? undefined,
          cacheKeyParameters: [...(integration.cacheKeyParameters ?? [])].sort(),
          responses: sortedRecord(
            Object.fromEntries(
              Object.entries(integration.integrationResponses ?? {}).map(([code, r]) => [
                code,
                compact({
                  selectionPattern: opt(r.selectionPattern),
                  responseParameters: sortedRecord(r.responseParameters ?? {}),
                  responseTemplates: templates(r.responseTemplates),
                  contentHandling: opt(r.contentHandling),
                }),
              ]),
            ),
          ),
        })
      : undefined,
  }) as MethodDocument;
}

export function canonicalStage(
  stage: Stage,
  deploymentDescriptions: Map<string, string>,
): StageDocument {
  const log = stage.accessLogSettings;
  return compact({
    description: opt(stage.description),
    deploymentDescription: stage.deploymentId
      ? opt(deploymentDescriptions.get(stage.deploymentId))
      : undefined,
    variables: sortedRecord(stage.variables ?? {}),
    methodSettings: sortedRecord(
      Object.fromEntries(
        Object.entries(stage.methodSettings ?? {}).map(([key, settings]) => [
          key,
          sortedRecord(compact({ ...settings }) as Record<string, string | number | boolean>),
        ]),
      ),
    ),
    tracingEnabled: stage.tracingEnabled ?? false,
    cacheClusterEnabled: stage.cacheClusterEnabled ?? false,
    cacheClusterSize: stage.cacheClusterEnabled ? opt(stage.cacheClusterSize) : undefined,
    accessLogSettings:
      log && (log.destinationArn || log.format)
        ? compact({ destinationArn: opt(log.destinationArn), format: opt(log.format) })
        : undefined,
    tags: sortedRecord(stage.tags ?? {}),
  }) as StageDocument;
}

export function byName<T>(
  items: T[],
  name: (item: T) => string | undefined,
  id: (item: T) => string | undefined,
) {
  const names = new Map<string, string>();
  const ids = new Map<string, string>();
  for (const item of items) {
    const n = name(item);
    const i = id(item);
    if (n && i) {
      names.set(i, n);
      ids.set(n, i);
    }
  }
  return { names, ids };
}

export function memberTags(tags: Record<string, string> | undefined): Record<string, string> {
  // lifeboat's own tags on plans, keys and domains are bookkeeping, not configuration.
  return sortedRecord(
    Object.fromEntries(Object.entries(tags ?? {}).filter(([k]) => !k.startsWith('lifeboat:'))),
  );
}

export function compactThrottles(
  throttle: Record<string, { burstLimit?: number; rateLimit?: number }> | undefined,
): Record<string, { burstLimit?: number; rateLimit?: number }> {
  return Object.fromEntries(Object.entries(throttle ?? {}).map(([k, v]) => [k, compact({ ...v })]));
}
