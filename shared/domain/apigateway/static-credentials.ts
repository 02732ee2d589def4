import { SealingError } from '../../errors.ts';
import type { RestApiDocument } from './documents.ts';
import { type DataKey, seal, sealedKeyId, unseal } from './sealing.ts';

/*
 * Credentials an integration carries in the clear: a static value ('...') that API Gateway sends
 * to the backend as a header, query string or path parameter whose name says it is a secret
 * (`integration.request.header.Authorization: "'Bearer abc'"`, `...header.x-api-key`). They are
 * sealed in the canonical document like API key values, so a backup never holds them in the
 * clear. An integration's `credentials` and an authorizer's `authorizerCredentials` are IAM role
 * ARNs (or the caller-credentials marker), not secrets: they stay readable, as a restore must
 * rewrite their region. Values mapped from the request (`method.request.header.X`) carry no
 * secret of their own and stay as they are.
 */

/** A parameter name whose static value is taken for a credential. */
const CREDENTIAL_NAME = /(authorization|api[-_]?key|token|secret|password|passwd|credential)/i;

/** A sealed static value in a document: the sealed text in place of the quoted literal. */
const SEALED = /^lifeboat-sealed:v1:/;

const isStatic = (value: string) =>
  value.length >= 2 && value.startsWith("'") && value.endsWith("'");

/** Whether an integration request parameter (target name, value) is a static credential. */
export function isStaticCredential(name: string, value: string): boolean {
  const last = name.split('.').pop() ?? name;
  return isStatic(value) && CREDENTIAL_NAME.test(last);
}

type ParameterVisitor = (name: string, value: string) => string;

/** A copy of `doc` with every integration request parameter passed through `visit`. */
function mapIntegrationParameters(doc: RestApiDocument, visit: ParameterVisitor): RestApiDocument {
  const resources = Object.fromEntries(
    Object.entries(doc.resources).map(([path, resource]) => [
      path,
      {
        ...resource,
        methods: Object.fromEntries(
          Object.entries(resource.methods).map(([verb, method]) => {
            const integration = method.integration;
            if (!integration) return [verb, method];
            const requestParameters = Object.fromEntries(
              Object.entries(integration.requestParameters).map(([name, value]) => [
                name,
                visit(name, value),
              ]),
            );
            return [verb, { ...method, integration: { ...integration, requestParameters } }];
          }),
        ),
      },
    ]),
  );
  return { ...doc, resources };
}

/** The static credentials of a document as read from the control plane, in the clear. */
export function staticCredentialCount(doc: RestApiDocument): number {
  let count = 0;
  mapIntegrationParameters(doc, (name, value) => {
    if (isStaticCredential(name, value)) count += 1;
    return value;
  });
  return count;
}

/** Seals every static credential (the quoted literal, quotes included). */
export function sealStaticCredentials(doc: RestApiDocument, dataKey: DataKey): RestApiDocument {
  return mapIntegrationParameters(doc, (name, value) =>
    isStaticCredential(name, value) ? seal(value, dataKey) : value,
  );
}

/** The key ids that the sealed values of a document were sealed under. */
export function sealedCredentialKeyIds(doc: RestApiDocument): Set<string> {
  const ids = new Set<string>();
  mapIntegrationParameters(doc, (_name, value) => {
    if (SEALED.test(value)) ids.add(sealedKeyId(value));
    return value;
  });
  return ids;
}

/** Opens every sealed value with its data key (by id), to be written to the control plane. */
export function openStaticCredentials(
  doc: RestApiDocument,
  dataKeys: ReadonlyMap<string, DataKey>,
): RestApiDocument {
  return mapIntegrationParameters(doc, (_name, value) => {
    if (!SEALED.test(value)) return value;
    const dataKey = dataKeys.get(sealedKeyId(value));
    if (!dataKey) throw new SealingError(`no data key ${sealedKeyId(value)} to open a credential`);
    return unseal(value, dataKey);
  });
}
