import type { ConfigPath } from './config-path.js';

/**
 * A small typed schema describer for the config file. Each schema turns a plain value
 * (what `yaml` produced) into a typed one, or reports why it cannot at the value's path and
 * returns INVALID, so one pass collects every error in the file.
 */

export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;
export type Parsed<T> = T | Invalid;

export interface ParseContext {
  /** Relative paths in the config are resolved against this directory. */
  readonly baseDir: string;
  /** `target: 'key'` points a message at a key (unknown keys) rather than at its value. */
  report(path: ConfigPath, message: string, target?: 'key' | 'value'): void;
}

export interface Schema<T> {
  /** What a valid value looks like, for messages: "true or false", "a list of CIDR prefixes". */
  readonly expected: string;
  parse(value: unknown, path: ConfigPath, ctx: ParseContext): Parsed<T>;
}

/** Returned by a leaf converter to reject a value with a message. */
export class Failure {
  constructor(readonly message: string) {}
}

export function fail(message: string): Failure {
  return new Failure(message);
}

/** `"yes"`, `42`, `a list`: how a received value is quoted in messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a table';
  return JSON.stringify(value);
}

function mismatch(expected: string, value: unknown): string {
  if (value === null)
    return `has no value; expected ${expected} (remove the key to use the default, or write [] or {} for an empty one)`;
  return `must be ${expected}, got ${describeValue(value)}`;
}

/** A schema for a single value; `convert` may return a Failure to reject it. */
export function leaf<T>(expected: string, convert: (value: unknown, ctx: ParseContext) => T | Failure): Schema<T> {
  return {
    expected,
    parse(value, path, ctx) {
      const result = convert(value, ctx);
      if (result instanceof Failure) {
        ctx.report(path, result.message);
        return INVALID;
      }
      return result;
    },
  };
}

/** A string leaf: non-strings are rejected with a type message before `convert` runs. */
export function text<T = string>(
  expected: string,
  convert: (value: string, ctx: ParseContext) => T | Failure = (value) => value as T,
): Schema<T> {
  return leaf(expected, (value, ctx) => (typeof value === 'string' ? convert(value, ctx) : fail(mismatch(expected, value))));
}

export function boolean(): Schema<boolean> {
  const expected = 'true or false';
  return leaf(expected, (value) => (typeof value === 'boolean' ? value : fail(mismatch(expected, value))));
}

export function integer(min: number, max: number): Schema<number> {
  const expected = `an integer from ${min} to ${max}`;
  return leaf(expected, (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : fail(mismatch(expected, value)),
  );
}

export function oneOf<const T extends string>(choices: readonly T[]): Schema<T> {
  const expected = `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`;
  return leaf(expected, (value) =>
    typeof value === 'string' && (choices as readonly string[]).includes(value) ? (value as T) : fail(mismatch(expected, value)),
  );
}

export interface ListOptions<T> {
  minItems?: number;
  /** Items with equal keys are an error, reported at the later item (`field` names the key in messages). */
  unique?: { key: (item: T) => string; field?: string };
}

export function listOf<T>(item: Schema<T>, options: ListOptions<T> = {}): Schema<T[]> {
  const expected = `a list (each ${item.expected})`;
  return {
    expected,
    parse(value, path, ctx) {
      if (!Array.isArray(value)) {
        ctx.report(path, mismatch(expected, value));
        return INVALID;
      }
      if (options.minItems !== undefined && value.length < options.minItems) {
        ctx.report(path, `must have at least ${options.minItems} item${options.minItems === 1 ? '' : 's'}`);
        return INVALID;
      }
      const out: T[] = [];
      let ok = true;
      const seen = new Map<string, number>();
      value.forEach((raw, index) => {
        const parsed = item.parse(raw, [...path, index], ctx);
        if (parsed === INVALID) {
          ok = false;
          return;
        }
        if (options.unique) {
          const key = options.unique.key(parsed);
          const first = seen.get(key);
          if (first !== undefined) {
            const at = options.unique.field === undefined ? [...path, index] : [...path, index, options.unique.field];
            ctx.report(at, `${JSON.stringify(key)} is already listed at index ${first}`);
            ok = false;
            return;
          }
          seen.set(key, index);
        }
        out.push(parsed);
      });
      return ok ? out : INVALID;
    },
  };
}

/** How one key of a table is read: required, optional (undefined when absent) or defaulted. */
export interface Field<T> {
  readonly schema: Schema<T>;
  readonly presence: 'required' | 'optional' | 'default';
  /** For `default`: the raw value (as it would be written in YAML) parsed when the key is absent. */
  readonly raw?: unknown;
}

export function required<T>(schema: Schema<T>): Field<T> {
  return { schema, presence: 'required' };
}

export function optional<T>(schema: Schema<T>): Field<T | undefined> {
  return { schema: schema as Schema<T | undefined>, presence: 'optional' };
}

export function withDefault<T>(schema: Schema<T>, raw: unknown): Field<T> {
  return { schema, presence: 'default', raw };
}

export type Fields<T> = { readonly [K in keyof T]-?: Field<T[K]> };

/** Reports a problem with a parsed table; `relative` is a path below the table. */
export type TableCheck<T> = (value: T, report: (relative: ConfigPath, message: string) => void) => void;

export function table<T>(fields: Fields<T>, check?: TableCheck<T>): Schema<T> {
  const known = Object.keys(fields);
  const expected = `a table with keys ${known.join(', ')}`;
  return {
    expected,
    parse(value, path, ctx) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        ctx.report(path, mismatch('a table', value));
        return INVALID;
      }
      const input = value as Record<string, unknown>;
      let ok = true;
      for (const key of Object.keys(input)) {
        if (Object.hasOwn(fields, key)) continue;
        ctx.report([...path, key], unknownKeyMessage(key, known), 'key');
        ok = false;
      }
      const out: Record<string, unknown> = {};
      for (const key of known) {
        const field = (fields as Record<string, Field<unknown>>)[key]!;
        const present = Object.hasOwn(input, key);
        if (!present && field.presence === 'required') {
          ctx.report(path, `missing required key "${key}" (${field.schema.expected})`);
          ok = false;
          continue;
        }
        if (!present && field.presence === 'optional') {
          out[key] = undefined;
          continue;
        }
        const parsed = field.schema.parse(present ? input[key] : field.raw, [...path, key], ctx);
        if (parsed === INVALID) ok = false;
        else out[key] = parsed;
      }
      if (!ok) return INVALID;
      if (check) {
        check(out as T, (relative, message) => {
          ctx.report([...path, ...relative], message);
          ok = false;
        });
      }
      return ok ? (out as T) : INVALID;
    },
  };
}

/** Picks the schema for a value by its shape, e.g. a keyword string or a table of options. */
export function either<T>(expected: string, pick: (value: unknown) => Schema<T> | undefined): Schema<T> {
  return {
    expected,
    parse(value, path, ctx) {
      const schema = pick(value);
      if (schema) return schema.parse(value, path, ctx);
      ctx.report(path, mismatch(expected, value));
      return INVALID;
    },
  };
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const close = known
    .map((candidate) => ({ candidate, distance: editDistance(key.toLowerCase(), candidate.toLowerCase()) }))
    .filter((c) => c.distance <= Math.max(1, Math.floor(c.candidate.length / 3)))
    .sort((a, b) => a.distance - b.distance)[0];
  if (close) return `unknown key (did you mean "${close.candidate}"?)`;
  return `unknown key (expected one of: ${known.join(', ')})`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
