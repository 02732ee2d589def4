import { MissingRegionMappingError } from '../../errors.ts';

/*
 * Region-bound references inside canonical documents. A snapshot stores them region-neutral, as
 * tokens, so that the same configuration read in two regions has one digest; a restore turns
 * the tokens back into the target region's values:
 *
 * - the region of API Gateway service ARNs (Lambda integration and authorizer URIs) and of the
 *   Lambda function ARNs inside them: the same function is deployed in every region;
 * - execute-api ARNs in resource policies: their region, and the API's own id;
 * - everything else region-bound (ACM certificates, Cognito user pools, VPC links, log groups)
 *   through the instance's `apigateway.references` table: a name with one value per region.
 *
 * A reference of another region that neither rule covers stops the restore before it writes.
 */

const REGION_TOKEN = '{{lifeboat:region}}';
const API_ID_TOKEN = '{{lifeboat:api-id}}';
const REF_TOKEN = /\{\{lifeboat:ref:([^}]+)\}\}/g;

/** Per-region values of region-bound references: name → region → value. */
export type ReferenceTable = Record<string, Record<string, string>>;

/** Where a document is read from or written to. */
export interface ReferenceContext {
  region: string;
  /** The API's own id in that region (its policy names it). */
  apiId?: string;
  references: ReferenceTable;
}

const REGION_IN_ARN = /arn:aws[a-z-]*:([a-z0-9-]+):([a-z]{2}(?:-[a-z]+)+-\d):/g;

/** Applies `replace` to every string inside `value`, passing the string's JSON path. */
function mapStrings(
  value: unknown,
  replace: (text: string, path: string) => string,
  path = '',
): unknown {
  if (typeof value === 'string') return replace(value, path);
  if (Array.isArray(value)) return value.map((v, i) => mapStrings(v, replace, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, mapStrings(v, replace, path ? `${path}.${k}` : k)]),
    );
  }
  return value;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Turns the region-bound references of a document read in `context.region` into tokens. */
export function neutralizeReferences<T>(doc: T, context: ReferenceContext): T {
  // Longest values first, so a value that contains another is replaced whole.
  const mapped = Object.entries(context.references)
    .flatMap(([name, byRegion]) => {
      const value = byRegion[context.region];
      return value ? [{ name, value }] : [];
    })
    .sort((a, b) => b.value.length - a.value.length);
  const region = escapeRegExp(context.region);
  const serviceArn = new RegExp(`(arn:aws[a-z-]*:(?:apigateway|lambda)):${region}:`, 'g');
  const executeApi = new RegExp(
    `(arn:aws[a-z-]*:execute-api):${region}:(\\d{12}|\\*):([^/]+)`,
    'g',
  );
  return mapStrings(doc, (text) => {
    let out = text;
    for (const { name, value } of mapped) out = out.split(value).join(`{{lifeboat:ref:${name}}}`);
    out = out.replace(executeApi, (_m, prefix: string, account: string, apiId: string) => {
      const id = context.apiId && apiId === context.apiId ? API_ID_TOKEN : apiId;
      return `${prefix}:${REGION_TOKEN}:${account}:${id}`;
    });
    return out.replace(serviceArn, `$1:${REGION_TOKEN}:`);
  }) as T;
}

/**
 * Turns tokens into the target region's values, then refuses any reference still bound to
 * another region. `field` names the document in errors. Pure: nothing is written.
 */
export function localizeReferences<T>(doc: T, context: ReferenceContext, document: string): T {
  return mapStrings(doc, (text, path) => {
    const field = `${document}: ${path || '(value)'}`;
    let out = text.replace(REF_TOKEN, (_m, name: string) => {
      const value = context.references[name]?.[context.region];
      if (!value)
        throw new MissingRegionMappingError(`{{lifeboat:ref:${name}}}`, field, context.region);
      return value;
    });
    out = out.split(REGION_TOKEN).join(context.region);
    if (out.includes(API_ID_TOKEN)) {
      // A restore creates the API before it sets the policy, so the id is known by then.
      out = out.split(API_ID_TOKEN).join(context.apiId ?? API_ID_TOKEN);
    }
    for (const match of out.matchAll(REGION_IN_ARN)) {
      if (match[2] !== context.region) {
        const arn = /arn:[^\s"',]+/.exec(out.slice(match.index))?.[0] ?? match[0];
        throw new MissingRegionMappingError(arn, field, context.region);
      }
    }
    return out;
  }) as T;
}

/** Whether a document still names its own API id as a token (its policy does). */
export function needsApiId(doc: unknown): boolean {
  let found = false;
  mapStrings(doc, (text) => {
    if (text.includes(API_ID_TOKEN)) found = true;
    return text;
  });
  return found;
}
