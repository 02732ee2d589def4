/**
 * Walking and editing JSON-like documents by path, for mutation fuzzing. Edits copy: the
 * valid document an arbitrary produced is never changed, so a shrunk counterexample stays
 * readable.
 */

/** A path into a document: object keys and array indexes, root first. */
export type Path = readonly (string | number)[];

/**
 * How a person names a field: `instances[0].dns.recordName`. Written independently of
 * `formatPath` in shared/validation.ts so that a bug there cannot hide in the expectation.
 */
export function fieldName(path: Path): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === 'number') return `${out}[${part}]`;
    return out === '' ? part : `${out}.${part}`;
  }, '');
}

/** True for a plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every path to a node under the root (the root itself excluded), parents before children. */
export function nodePaths(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      const path = [...prefix, index];
      out.push(path, ...nodePaths(item, path));
    });
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      const path = [...prefix, key];
      out.push(path, ...nodePaths(item, path));
    }
  }
  return out;
}

/** Paths of every object node, the root included (where extra keys can go). */
export function objectPaths(value: unknown): Path[] {
  const all: Path[] = [[], ...nodePaths(value)];
  return all.filter((path) => isRecord(getAt(value, path)));
}

/** The node at `path`, or undefined. */
export function getAt(value: unknown, path: Path): unknown {
  let node = value;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

// Own properties are defined rather than assigned so that a key such as "__proto__" stays an
// ordinary own key, exactly as JSON.parse and the YAML parser produce it.
function define(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** A deep copy of a JSON-like value that keeps every own key, "__proto__" included. */
export function copy<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => copy(item)) as T;
  if (isRecord(value)) {
    const out = {};
    for (const key of Object.keys(value)) define(out, key, copy(value[key]));
    return out as T;
  }
  return value;
}

function edit(value: unknown, path: Path, change: (parent: object, last: string | number) => void) {
  const out = copy(value);
  const parent = getAt(out, path.slice(0, -1));
  const last = path.at(-1);
  if (parent === null || typeof parent !== 'object' || last === undefined) {
    throw new Error(`test: no parent object at ${fieldName(path)}`);
  }
  change(parent, last);
  return out;
}

/** A copy with the node at `path` replaced. */
export function withReplaced(value: unknown, path: Path, replacement: unknown): unknown {
  return edit(value, path, (parent, last) => define(parent, last, replacement));
}

/** A copy without the object key at `path`. */
export function withDeleted(value: unknown, path: Path): unknown {
  return edit(value, path, (parent, last) => {
    delete (parent as Record<string | number, unknown>)[last];
  });
}

/** A copy with an extra own key on the object at `objectPath`. */
export function withExtraKey(
  value: unknown,
  objectPath: Path,
  key: string,
  extra: unknown,
): unknown {
  const out = copy(value);
  const target = getAt(out, objectPath);
  if (!isRecord(target)) throw new Error(`test: no object at ${fieldName(objectPath)}`);
  define(target, key, extra);
  return out;
}

/**
 * Field patterns: `detail.observations[].status`, where `[]` stands for any index and `*` for
 * any object key (a record's keys).
 */
export function matches(path: Path, pattern: string): boolean {
  const tokens: string[] = [];
  for (const segment of pattern === '' ? [] : pattern.split('.')) {
    const name = segment.replace(/(\[\])+$/, '');
    if (name) tokens.push(name);
    for (let i = name.length; i < segment.length; i += 2) tokens.push('[]');
  }
  if (tokens.length !== path.length) return false;
  return tokens.every((token, i) => {
    const part = path[i];
    if (token === '[]') return typeof part === 'number';
    if (token === '*') return typeof part === 'string';
    return part === token;
  });
}

/** True when `path` matches any of `patterns`. */
export const matchesAny = (path: Path, patterns: readonly string[]) =>
  patterns.some((pattern) => matches(path, pattern));

/** A value nested `depth` levels deep, as objects or as arrays. */
export function nested(depth: number, shape: 'object' | 'array'): unknown {
  let node: unknown = shape === 'object' ? { leaf: true } : [true];
  for (let i = 0; i < depth; i += 1) node = shape === 'object' ? { a: node } : [node];
  return node;
}

/** The JSON type of a value, as a person would name it. */
export function jsonType(value: unknown): 'array' | 'null' | 'object' | string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
