import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  localizeReferences,
  needsApiId,
  neutralizeReferences,
  type ReferenceTable,
} from '../../../../../shared/domain/apigateway/references.ts';
import { MissingRegionMappingError } from '../../../../../shared/errors.ts';

const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'ap-southeast-2'];
const ACCOUNT = '123456789012';

const lambdaUri = (region: string, fn: string) =>
  `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/arn:aws:lambda:${region}:${ACCOUNT}:function:${fn}/invocations`;
const executeApi = (region: string, apiId: string, rest: string) =>
  `arn:aws:execute-api:${region}:${ACCOUNT}:${apiId}/${rest}`;
const certificate = (region: string) =>
  `arn:aws:acm:${region}:${ACCOUNT}:certificate/${region.replaceAll('-', '')}-cert`;
const userPool = (region: string) =>
  `arn:aws:cognito-idp:${region}:${ACCOUNT}:userpool/${region}_Pool${region.length}`;

/** A name → region → value table with an entry for every region. */
const TABLE: ReferenceTable = {
  'shop-cert': Object.fromEntries(REGIONS.map((r) => [r, certificate(r)])),
  'user-pool': Object.fromEntries(REGIONS.map((r) => [r, userPool(r)])),
};

/** The same configuration as it reads in `region`, where the API has id `apiId`. */
function documentIn(region: string, apiId: string, fn: string, note: string) {
  return {
    name: 'shop-api-0',
    description: note,
    policy: {
      Statement: [
        { Resource: executeApi(region, apiId, '*/GET/items') },
        { Resource: `arn:aws:execute-api:${region}:${ACCOUNT}:*/*/*/*` },
      ],
    },
    resources: {
      '/items': {
        methods: {
          GET: { integration: { uri: lambdaUri(region, fn), requestTemplates: { a: note } } },
        },
      },
    },
    authorizers: {
      token: { authorizerUri: lambdaUri(region, `${fn}-auth`) },
      pool: { providerARNs: [userPool(region)] },
    },
    certificate: certificate(region),
  };
}

// Plain text never holds an ARN or a token: what the rewrite must leave alone.
const note = fc.string({ maxLength: 20 }).filter((s) => !s.includes('arn:') && !s.includes('{{'));
const fnName = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const apiId = fc.stringMatching(/^[a-z0-9]{10}$/);
const region = fc.constantFrom(...REGIONS);

describe('neutralizeReferences and localizeReferences', () => {
  it('give back the document read in a region when localized to that same region', () => {
    fc.assert(
      fc.property(region, apiId, fnName, note, (r, id, fn, text) => {
        const doc = documentIn(r, id, fn, text);
        const context = { region: r, apiId: id, references: TABLE };
        const neutral = neutralizeReferences(doc, context);
        expect(localizeReferences(neutral, context, doc.name)).toEqual(doc);
      }),
      { numRuns: 300 },
    );
  });

  it('make the same configuration read in two regions one neutral document', () => {
    fc.assert(
      fc.property(region, region, apiId, apiId, fnName, note, (r1, r2, id1, id2, fn, text) => {
        const one = neutralizeReferences(documentIn(r1, id1, fn, text), {
          region: r1,
          apiId: id1,
          references: TABLE,
        });
        const two = neutralizeReferences(documentIn(r2, id2, fn, text), {
          region: r2,
          apiId: id2,
          references: TABLE,
        });
        expect(one).toEqual(two);
        expect(JSON.stringify(one)).not.toContain(r1);
        expect(JSON.stringify(one)).not.toContain(id1);
      }),
      { numRuns: 300 },
    );
  });

  it('rewrite a document read in one region into what it is in another', () => {
    fc.assert(
      fc.property(region, region, apiId, apiId, fnName, note, (from, to, id1, id2, fn, text) => {
        const neutral = neutralizeReferences(documentIn(from, id1, fn, text), {
          region: from,
          apiId: id1,
          references: TABLE,
        });
        const local = localizeReferences(
          neutral,
          { region: to, apiId: id2, references: TABLE },
          'shop-api-0',
        );
        expect(local).toEqual(documentIn(to, id2, fn, text));
      }),
      { numRuns: 300 },
    );
  });

  it('keep the API id token until the id is known, and say the document needs it', () => {
    const doc = documentIn('us-east-1', 'abc1234567', 'items', 'x');
    const neutral = neutralizeReferences(doc, {
      region: 'us-east-1',
      apiId: 'abc1234567',
      references: TABLE,
    });
    expect(needsApiId(neutral)).toBe(true);
    const preflight = localizeReferences(
      neutral,
      { region: 'us-west-2', references: TABLE },
      'shop-api-0',
    );
    expect(preflight.policy.Statement[0]?.Resource).toBe(
      `arn:aws:execute-api:us-west-2:${ACCOUNT}:{{lifeboat:api-id}}/*/GET/items`,
    );
    // Another API's id in a policy is that API's, not a token.
    const other = neutralizeReferences(
      { policy: executeApi('us-east-1', 'zzz9999999', '*') },
      { region: 'us-east-1', apiId: 'abc1234567', references: {} },
    );
    expect(other.policy).toBe(`arn:aws:execute-api:{{lifeboat:region}}:${ACCOUNT}:zzz9999999/*`);
  });
});

describe('localizeReferences', () => {
  it('refuses a foreign-region ARN that no rule covers, naming the ARN and the field', () => {
    const foreign = fc
      .tuple(
        region,
        region,
        fc.constantFrom('logs', 'sns', 'sqs', 'kms', 'states'),
        fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
        fc.constantFrom(
          ['stages', 'prod', 'accessLogSettings', 'destinationArn'],
          ['resources', '/items', 'methods', 'GET', 'integration', 'credentials'],
          ['authorizers', 'token', 'providerARNs', '0'],
        ),
      )
      .filter(([from, to]) => from !== to);
    fc.assert(
      fc.property(foreign, ([from, to, service, name, path]) => {
        const arn = `arn:aws:${service}:${from}:${ACCOUNT}:${name}`;
        let doc: unknown = arn;
        for (const key of [...path].reverse()) doc = /^\d+$/.test(key) ? [doc] : { [key]: doc };
        const neutral = neutralizeReferences(doc, { region: from, references: TABLE });
        let error: unknown;
        try {
          localizeReferences(neutral, { region: to, references: TABLE }, 'shop-api-0');
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(MissingRegionMappingError);
        const refused = error as MissingRegionMappingError;
        const field = path.map((k, i) => (/^\d+$/.test(k) ? `[${k}]` : i ? `.${k}` : k)).join('');
        expect(refused.field).toBe(`shop-api-0: ${field}`);
        expect(refused.reference).toBe(arn);
        expect(refused.targetRegion).toBe(to);
        expect(refused.message).toContain(arn);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a reference whose table has no value for the target region, naming it', () => {
    const table: ReferenceTable = { 'shop-cert': { 'us-east-1': certificate('us-east-1') } };
    const neutral = neutralizeReferences(
      { certificate: certificate('us-east-1') },
      { region: 'us-east-1', references: table },
    );
    expect(neutral).toEqual({ certificate: '{{lifeboat:ref:shop-cert}}' });
    expect(() =>
      localizeReferences(neutral, { region: 'us-west-2', references: table }, 'domain api'),
    ).toThrow(
      expect.objectContaining({
        name: 'MissingRegionMappingError',
        reference: '{{lifeboat:ref:shop-cert}}',
        field: 'domain api: certificate',
      }),
    );
  });

  it('accepts ARNs without a region and ARNs already of the target region', () => {
    const doc = {
      role: `arn:aws:iam::${ACCOUNT}:role/invoker`,
      bucket: 'arn:aws:s3:::my-bucket',
      local: `arn:aws:sns:us-west-2:${ACCOUNT}:topic`,
    };
    expect(localizeReferences(doc, { region: 'us-west-2', references: {} }, 'x')).toEqual(doc);
  });

  it('replaces a longer reference value whole when a shorter one is inside it', () => {
    const table: ReferenceTable = {
      short: { 'us-east-1': 'vpclink-abc', 'us-west-2': 'vpclink-xyz' },
      long: { 'us-east-1': 'vpclink-abc-2', 'us-west-2': 'vpclink-uvw-2' },
    };
    const neutral = neutralizeReferences(
      { a: 'vpclink-abc-2', b: 'vpclink-abc' },
      { region: 'us-east-1', references: table },
    );
    expect(
      localizeReferences(neutral, { region: 'us-west-2', references: table }, 'shop-api-0'),
    ).toEqual({ a: 'vpclink-uvw-2', b: 'vpclink-xyz' });
  });
});
