import { decodeDocument, documentKey, type InstanceDocument } from './documents.ts';

/*
 * A partial restore: one REST API and what refers only to it. A usage plan goes with the API
 * when every stage it names is that API's; an API key when every plan it is in goes; a domain
 * name when every base path mapping points at the API. Anything shared with other APIs stays
 * as it is in the target.
 */

/** The keys of the documents a restore of `apiName` alone writes. */
export function partialRestoreKeys(
  documents: ReadonlyMap<string, Uint8Array>,
  apiName: string,
): Set<string> {
  const docs: InstanceDocument[] = [...documents].map(([key, body]) => decodeDocument(key, body));
  const api = docs.find((d) => d.kind === 'rest-api' && d.name === apiName);
  if (!api) return new Set();
  const keys = new Set([documentKey(api)]);
  const plans = docs.flatMap((d) => (d.kind === 'usage-plan' ? [d] : []));
  const ownPlans = plans.filter(
    (p) => p.apiStages.length > 0 && p.apiStages.every((s) => s.api === apiName),
  );
  for (const plan of ownPlans) keys.add(documentKey(plan));
  for (const key of docs.flatMap((d) => (d.kind === 'api-key' ? [d] : []))) {
    const inPlans = plans.filter((p) => p.keys.includes(key.name));
    if (inPlans.length > 0 && inPlans.every((p) => ownPlans.includes(p)))
      keys.add(documentKey(key));
  }
  for (const domain of docs.flatMap((d) => (d.kind === 'domain-name' ? [d] : []))) {
    if (domain.mappings.length > 0 && domain.mappings.every((m) => m.api === apiName))
      keys.add(documentKey(domain));
  }
  return keys;
}

/** The API names of a snapshot's documents (for "no such API" messages). */
export function apiNames(documents: ReadonlyMap<string, Uint8Array>): string[] {
  return [...documents]
    .map(([key, body]) => decodeDocument(key, body))
    .flatMap((d) => (d.kind === 'rest-api' ? [d.name] : []))
    .sort();
}
