import { describe, expect, it } from 'vitest';
import {
  decodeDocument,
  documentKey,
  encodeDocument,
  parseDocumentKey,
  restoreRank,
} from '../../../../../shared/domain/apigateway/documents.ts';
import { InstanceDocumentError } from '../../../../../shared/errors.ts';
import {
  apiKeyDoc,
  domainDoc,
  restApiDoc,
  usagePlanDoc,
} from '../../../../support/apigateway-documents.ts';

function refusal(key: string, bytes: Uint8Array): InstanceDocumentError {
  try {
    decodeDocument(key, bytes);
  } catch (error) {
    if (error instanceof InstanceDocumentError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('decodeDocument', () => {
  it('reads back what encodeDocument stored, for every kind', () => {
    for (const doc of [restApiDoc(), usagePlanDoc(), apiKeyDoc(), domainDoc()])
      expect(decodeDocument(documentKey(doc), encodeDocument(doc))).toEqual(doc);
  });

  it('names an array element the way lifeboat names fields everywhere, apiStages[0].api', () => {
    // Found by the fuzz suite: the field was "apiStages.0.api".
    const doc = usagePlanDoc({ apiStages: [{ api: '', stage: 'prod', throttle: {} }] });
    const error = refusal(documentKey(doc), encodeDocument(doc));
    expect(error.field).toBe('apiStages[0].api');
    expect(error.key).toBe('usage-plans/shop-api-0-gold.json');
  });

  it('names domainName when a domain document names another domain than its key', () => {
    // Found by the fuzz suite: the field was "name", which domain documents do not have.
    const error = refusal(
      'domains/api.example.com.json',
      encodeDocument(domainDoc({ domainName: 'x.example.com' })),
    );
    expect(error.field).toBe('domainName');
  });

  it('refuses bytes that are not JSON, naming the key', () => {
    const error = refusal('apis/shop-api-0.json', Buffer.from('{"format":'));
    expect(error.key).toBe('apis/shop-api-0.json');
    expect(error.message).toMatch(/^instance document apis\/shop-api-0\.json: not JSON/);
  });
});

describe('documentKey', () => {
  it('encodes names into one path segment and parses them back', () => {
    const doc = domainDoc({ domainName: 'a/b c.example.com' });
    expect(documentKey(doc)).toBe('domains/a%2Fb%20c.example.com.json');
    expect(parseDocumentKey(documentKey(doc))).toEqual({
      kind: 'domain-name',
      name: 'a/b c.example.com',
    });
    expect(parseDocumentKey('apis/%E0.json')).toBeUndefined();
    expect(parseDocumentKey('stages/x.json')).toBeUndefined();
  });

  it('ranks APIs before keys, keys before plans, plans before domains', () => {
    const ranks = [restApiDoc(), apiKeyDoc(), usagePlanDoc(), domainDoc()].map((d) =>
      restoreRank(documentKey(d)),
    );
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(new Set(ranks).size).toBe(4);
  });
});
