import type { z } from 'zod';

/** The first problem of a failed parse, as a dotted field path and a message. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** Renders a zod path the way a person would write it: `instances[0].dns.recordName`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/**
 * One clear problem out of a zod error. Unions report one issue per branch; the deepest
 * path is the branch that got furthest, so it names the field the caller most likely meant.
 * Cross-field rules (custom issues) come last, in the order the schema raised them: zod runs
 * them even over fields that already failed, and they check what is defined (a region)
 * before what refers to it, so the first one names the cause rather than a reference to it.
 */
export function firstProblem(error: z.ZodError): FieldProblem {
  const derived = (issue: z.core.$ZodIssue) => (issue.code === 'custom' ? 1 : 0);
  const issues = [...error.issues].sort(
    (a, b) => derived(a) - derived(b) || (derived(a) ? 0 : b.path.length - a.path.length),
  );
  const issue = issues[0];
  if (!issue) return { field: '', message: 'invalid' };
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const nested = issue.errors.flat().sort((a, b) => b.path.length - a.path.length)[0];
    if (nested) {
      return { field: formatPath([...issue.path, ...nested.path]), message: nested.message };
    }
  }
  return { field: formatPath(issue.path), message: issue.message };
}
