import { describe, expect, it } from 'vitest';
import type { DataKey } from '../../../../../shared/domain/apigateway/sealing.ts';
import {
  isStaticCredential,
  openStaticCredentials,
  sealedCredentialKeyIds,
  sealStaticCredentials,
  staticCredentialCount,
} from '../../../../../shared/domain/apigateway/static-credentials.ts';
import { SealingError } from '../../../../../shared/errors.ts';
import { methodDoc, restApiDoc } from '../../../../support/apigateway-documents.ts';

const dataKey: DataKey = { keyId: 'k1', key: Buffer.alloc(32, 7) };
const SECRET = "'backend-s3cr3t'";

/** A REST API whose one integration sends these request parameters. */
function apiSending(requestParameters: Record<string, string>) {
  const base = methodDoc();
  const method = methodDoc({
    integration: {
      ...(base.integration as NonNullable<typeof base.integration>),
      requestParameters,
    },
  });
  return restApiDoc({ resources: { '/': { methods: {} }, '/pets': { methods: { GET: method } } } });
}
const sentBy = (doc: ReturnType<typeof apiSending>) =>
  doc.resources['/pets']?.methods.GET?.integration?.requestParameters ?? {};

describe('isStaticCredential', () => {
  it.each([
    ['integration.request.header.Authorization', SECRET],
    ['integration.request.header.x-api-key', SECRET],
    ['integration.request.querystring.access_token', SECRET],
    ['integration.request.header.X-Client-Secret', SECRET],
  ])('takes a static value of %s for a credential', (name, value) => {
    expect(isStaticCredential(name, value)).toBe(true);
  });

  it.each([
    ['integration.request.header.Authorization', 'method.request.header.Authorization'],
    ['integration.request.header.x-tenant', "'acme'"],
    ['integration.request.path.id', 'method.request.path.id'],
  ])('leaves %s = %s alone (mapped from the request, or not a secret)', (name, value) => {
    expect(isStaticCredential(name, value)).toBe(false);
  });
});

describe('sealStaticCredentials', () => {
  it('seals static credentials, leaves other parameters as they are, and opens them again', () => {
    const doc = apiSending({
      'integration.request.header.x-api-key': SECRET,
      'integration.request.header.x-tenant': "'acme'",
      'integration.request.path.id': 'method.request.path.id',
    });
    expect(staticCredentialCount(doc)).toBe(1);
    const sealed = sealStaticCredentials(doc, dataKey);

    expect(JSON.stringify(sealed)).not.toContain('backend-s3cr3t');
    expect(sentBy(sealed)['integration.request.header.x-tenant']).toBe("'acme'");
    expect(sentBy(sealed)['integration.request.path.id']).toBe('method.request.path.id');
    expect(sealedCredentialKeyIds(sealed)).toEqual(new Set(['k1']));
    expect(openStaticCredentials(sealed, new Map([['k1', dataKey]]))).toEqual(doc);
  });

  it('seals the same credential to the same text, so an unchanged API keeps its hash', () => {
    const doc = apiSending({ 'integration.request.header.Authorization': SECRET });
    expect(sealStaticCredentials(doc, dataKey)).toEqual(sealStaticCredentials(doc, dataKey));
  });

  it('refuses to open a credential whose data key it was not given, naming the key', () => {
    const sealed = sealStaticCredentials(
      apiSending({ 'integration.request.header.Authorization': SECRET }),
      dataKey,
    );
    expect(() => openStaticCredentials(sealed, new Map())).toThrow(SealingError);
    expect(() => openStaticCredentials(sealed, new Map())).toThrow(/no data key k1/);
  });
});
