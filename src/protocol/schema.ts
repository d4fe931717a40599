/**
 * @module protocol/schema
 * A tiny runtime schema language for wire messages. A schema both validates a decoded value
 * (bounded, never throws anything but ProtocolError) and gives its TypeScript type via `Infer`.
 * Messages are defined once with it (see messages.ts), so types and checks cannot drift apart.
 */
import { ProtocolError } from "../common/errors.ts";

export interface Schema<T> {
  readonly kind: string;
  /** Returns an error path + reason, or null when `v` conforms. */
  check(v: unknown, path: string): string | null;
  /**
   * The same check with the path relative to `v` (".a[2].b: expected string", ": expected
   * object"). Paths are built only on failure, so checking a valid message allocates nothing.
   */
  test(v: unknown): string | null;
  readonly _t?: T;
}
export type Infer<S> = S extends Schema<infer T> ? T : never;

const MAX_STRING = 64 * 1024 * 1024;

function schema<T>(kind: string, test: (v: unknown) => string | null): Schema<T> {
  return {
    kind, test,
    check(v, path) {
      const e = test(v);
      return e === null ? null : path + e;
    },
  };
}

export const str: Schema<string> = schema("string", (v) => (typeof v === "string" && v.length <= MAX_STRING ? null : ": expected string"));
export const num: Schema<number> = schema("number", (v) => (typeof v === "number" && !Number.isNaN(v) ? null : ": expected number"));
export const int: Schema<number> = schema("int", (v) => (typeof v === "number" && Number.isSafeInteger(v) ? null : ": expected integer"));
export const bool: Schema<boolean> = schema("boolean", (v) => (typeof v === "boolean" ? null : ": expected boolean"));
export const bin: Schema<Uint8Array> = schema("binary", (v) => (v instanceof Uint8Array ? null : ": expected binary"));
export const unknownValue: Schema<unknown> = schema("unknown", () => null);

export function lit<const T extends string>(value: T): Schema<T> {
  return schema("literal", (v) => (v === value ? null : `: expected "${value}"`));
}
export function oneOf<const T extends readonly string[]>(values: T): Schema<T[number]> {
  const set = new Set<unknown>(values);
  return schema("enum", (v) => (set.has(v) ? null : `: expected one of ${values.join("|")}`));
}
export function opt<T>(s: Schema<T>): Schema<T | undefined> {
  const inner = s.test;
  return schema("optional", (v) => (v === undefined || v === null ? null : inner(v)));
}
export function arr<T>(s: Schema<T>, max = 10_000_000): Schema<T[]> {
  const inner = s.test;
  return schema("array", (v) => {
    if (!Array.isArray(v)) return ": expected array";
    if (v.length > max) return `: array longer than ${max}`;
    for (let i = 0; i < v.length; i++) {
      const e = inner(v[i]);
      if (e !== null) return `[${i}]${e}`;
    }
    return null;
  });
}
export function record<T>(s: Schema<T>): Schema<Record<string, T>> {
  const inner = s.test;
  return schema("record", (v) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return ": expected object";
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      const e = inner((v as Record<string, unknown>)[k]);
      if (e !== null) return `.${k}${e}`;
    }
    return null;
  });
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
export type ObjOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };

export function obj<S extends Shape>(shape: S): Schema<ObjOf<S>> & { shape: S } {
  const keys = Object.keys(shape);
  const tests = keys.map((k) => shape[k]!.test);
  const n = keys.length;
  return {
    ...schema<ObjOf<S>>("object", (v) => {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return ": expected object";
      const o = v as Record<string, unknown>;
      for (let i = 0; i < n; i++) {
        const e = tests[i]!(o[keys[i]!]);
        if (e !== null) return `.${keys[i]}${e}`;
      }
      return null;
    }),
    shape,
  };
}

/** Validate or throw ProtocolError naming the offending path. */
export function validate<T>(s: Schema<T>, v: unknown, what: string): T {
  const e = s.check(v, what);
  if (e) throw new ProtocolError(`malformed ${e}`);
  return v as T;
}
