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
 */
export function firstProblem(error: z.ZodError): FieldProblem {
  const issues = [...error.issues].sort((a, b) => b.path.length - a.path.length);
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
