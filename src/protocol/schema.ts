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
  readonly _t?: T;
}
export type Infer<S> = S extends Schema<infer T> ? T : never;

const MAX_STRING = 64 * 1024 * 1024;

export const str: Schema<string> = {
  kind: "string",
  check: (v, p) => (typeof v === "string" && v.length <= MAX_STRING ? null : `${p}: expected string`),
};
export const num: Schema<number> = {
  kind: "number",
  check: (v, p) => (typeof v === "number" && !Number.isNaN(v) ? null : `${p}: expected number`),
};
export const int: Schema<number> = {
  kind: "int",
  check: (v, p) => (typeof v === "number" && Number.isSafeInteger(v) ? null : `${p}: expected integer`),
};
export const bool: Schema<boolean> = {
  kind: "boolean",
  check: (v, p) => (typeof v === "boolean" ? null : `${p}: expected boolean`),
};
export const bin: Schema<Uint8Array> = {
  kind: "binary",
  check: (v, p) => (v instanceof Uint8Array ? null : `${p}: expected binary`),
};
export const unknownValue: Schema<unknown> = { kind: "unknown", check: () => null };

export function lit<const T extends string>(value: T): Schema<T> {
  return { kind: "literal", check: (v, p) => (v === value ? null : `${p}: expected "${value}"`) };
}
export function oneOf<const T extends readonly string[]>(values: T): Schema<T[number]> {
  const set = new Set<unknown>(values);
  return { kind: "enum", check: (v, p) => (set.has(v) ? null : `${p}: expected one of ${values.join("|")}`) };
}
export function opt<T>(s: Schema<T>): Schema<T | undefined> {
  return { kind: "optional", check: (v, p) => (v === undefined || v === null ? null : s.check(v, p)) };
}
export function arr<T>(s: Schema<T>, max = 10_000_000): Schema<T[]> {
  return {
    kind: "array",
    check(v, p) {
      if (!Array.isArray(v)) return `${p}: expected array`;
      if (v.length > max) return `${p}: array longer than ${max}`;
      for (let i = 0; i < v.length; i++) {
        const e = s.check(v[i], `${p}[${i}]`);
        if (e) return e;
      }
      return null;
    },
  };
}
export function record<T>(s: Schema<T>): Schema<Record<string, T>> {
  return {
    kind: "record",
    check(v, p) {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return `${p}: expected object`;
      for (const [k, x] of Object.entries(v)) {
        const e = s.check(x, `${p}.${k}`);
        if (e) return e;
      }
      return null;
    },
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
export type ObjOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };

export function obj<S extends Shape>(shape: S): Schema<ObjOf<S>> & { shape: S } {
  const entries = Object.entries(shape);
  return {
    kind: "object",
    shape,
    check(v, p) {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return `${p}: expected object`;
      const o = v as Record<string, unknown>;
      for (const [k, s] of entries) {
        const e = s.check(o[k], `${p}.${k}`);
        if (e) return e;
      }
      return null;
    },
  };
}

/** Validate or throw ProtocolError naming the offending path. */
export function validate<T>(s: Schema<T>, v: unknown, what: string): T {
  const e = s.check(v, what);
  if (e) throw new ProtocolError(`malformed ${e}`);
  return v as T;
}
