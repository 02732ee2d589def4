import { describe, expect, it } from 'vitest';
import {
  APIGATEWAY_FORMAT,
  documentKey,
  emptyApiParts,
  encodeDocument,
  type InstanceDocument,
  type RestApiDocument,
} from '../../../../../shared/domain/apigateway/documents.ts';
import { apiNames, partialRestoreKeys } from '../../../../../shared/domain/apigateway/partial.ts';

function api(name: string): RestApiDocument {
  return {
    format: APIGATEWAY_FORMAT,
    kind: 'rest-api',
    name,
    endpointTypes: ['REGIONAL'],
    binaryMediaTypes: [],
    disableExecuteApiEndpoint: false,
    tags: {},
    ...emptyApiParts(),
  };
}

function plan(name: string, apis: string[], keys: string[]): InstanceDocument {
  return {
    format: APIGATEWAY_FORMAT,
    kind: 'usage-plan',
    name,
    apiStages: apis.map((a) => ({ api: a, stage: 'prod', throttle: {} })),
    keys,
    tags: {},
  };
}

function key(name: string): InstanceDocument {
  return {
    format: APIGATEWAY_FORMAT,
    kind: 'api-key',
    name,
    enabled: true,
    value: { sealed: 'x' },
    tags: {},
  };
}

function domain(name: string, apis: string[]): InstanceDocument {
  return {
    format: APIGATEWAY_FORMAT,
    kind: 'domain-name',
    domainName: name,
    endpointType: 'REGIONAL',
    mappings: apis.map((a, i) => ({ basePath: `v${i}`, api: a, stage: 'prod' })),
    tags: {},
  };
}

function snapshot(...docs: InstanceDocument[]): Map<string, Uint8Array> {
  return new Map(docs.map((d) => [documentKey(d), encodeDocument(d)]));
}

describe('partialRestoreKeys', () => {
  const docs = snapshot(
    api('pets'),
    api('orders'),
    plan('pets-gold', ['pets'], ['alice', 'shared']),
    plan('both', ['pets', 'orders'], ['bob']),
    plan('orders-only', ['orders'], ['shared']),
    key('alice'),
    key('bob'),
    key('shared'),
    domain('pets.example.com', ['pets']),
    domain('all.example.com', ['pets', 'orders']),
  );

  it('takes the API, its own plans, the keys only they hold and its own domains when one API is restored', () => {
    expect([...partialRestoreKeys(docs, 'pets')].sort()).toEqual([
      'api-keys/alice.json',
      'apis/pets.json',
      'domains/pets.example.com.json',
      'usage-plans/pets-gold.json',
    ]);
  });

  it('takes nothing when the snapshot has no API of that name', () => {
    expect(partialRestoreKeys(docs, 'nope').size).toBe(0);
    expect(apiNames(docs)).toEqual(['orders', 'pets']);
  });
});
