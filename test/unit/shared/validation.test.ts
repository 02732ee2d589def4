import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { firstProblem, formatPath } from '../../../shared/validation.ts';

describe('formatPath', () => {
  it.each([
    [[], ''],
    [['time'], 'time'],
    [['instances', 0, 'dns', 'recordName'], 'instances[0].dns.recordName'],
    [['instances', 2, 'replicaRegions', 1], 'instances[2].replicaRegions[1]'],
    [[0, 'a'], '[0].a'],
    [['matrix', 1, 2], 'matrix[1][2]'],
    [['endpoints', 'us-east-1', 'url'], 'endpoints.us-east-1.url'],
  ] as [PropertyKey[], string][])('renders %j as %j', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });

  it('renders a symbol key by its description when the path holds one', () => {
    expect(formatPath(['a', Symbol('b')])).toBe('a.Symbol(b)');
  });
});

describe('firstProblem', () => {
  const fail = (schema: z.ZodType, value: unknown) => {
    const result = schema.safeParse(value);
    if (result.success) throw new Error('test: expected a failed parse');
    return result.error;
  };

  it('names the deepest field when several fields are wrong', () => {
    const schema = z.object({ a: z.string(), b: z.object({ c: z.array(z.number()) }) });
    const problem = firstProblem(fail(schema, { a: 1, b: { c: [1, 'x'] } }));
    expect(problem.field).toBe('b.c[1]');
    expect(problem.message).toMatch(/number/);
  });

  it('keeps the first issue when the issues are equally deep', () => {
    const schema = z.object({ a: z.string(), b: z.string() });
    expect(firstProblem(fail(schema, { a: 1, b: 2 })).field).toBe('a');
  });

  it('follows the union branch that got furthest when a union fails', () => {
    const schema = z.object({
      target: z.union([
        z.object({ kind: z.literal('s3'), bucket: z.object({ name: z.string() }) }),
        z.number(),
      ]),
    });
    const problem = firstProblem(fail(schema, { target: { kind: 's3', bucket: { name: 7 } } }));
    expect(problem.field).toBe('target.bucket.name');
    expect(problem.message).toMatch(/string/);
  });

  it('names the parent and the key when a strict object gets an unknown key', () => {
    const schema = z.object({ retention: z.strictObject({ daily: z.number() }) });
    const problem = firstProblem(fail(schema, { retention: { daily: 1, monthly: 2 } }));
    expect(problem.field).toBe('retention');
    expect(problem.message).toContain('"monthly"');
  });

  it('returns an empty field and "invalid" when the error has no issue', () => {
    expect(firstProblem(new z.ZodError([]))).toEqual({ field: '', message: 'invalid' });
  });
});
