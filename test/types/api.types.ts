/**
 * Type-level tests of the public API: `npm run check` (tsc) fails if a remote call's types drift.
 * Nothing here runs; each `@ts-expect-error` must flag a real type error.
 */
import * as ray from "stingray";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T extends true>(_ok?: T): void {}

const square = ray.remote((x: number) => x * x);
const r = square.remote(3);
expectType<Equal<typeof r, ray.ObjectRef<number>>>();
square.remote(r); // a ref to a number is accepted where a number is
// @ts-expect-error a string is not a number
square.remote("3");
// @ts-expect-error wrong arity
square.remote(1, 2);
const s: ray.ObjectRef<string> = ray.remote((x: string) => x).remote("a");
// @ts-expect-error an ObjectRef<string> is not an ObjectRef<number>
square.remote(s);

const asyncFn = ray.remote(async (a: string, b: number) => ({ a, b }));
expectType<Equal<typeof asyncFn extends ray.RemoteFunction<infer _F, infer O> ? O : never, ray.ObjectRef<{ a: string; b: number }>>>();

const multi = ray.remote((x: number) => [x, String(x)] as const).options({ numReturns: 2 }).remote(1);
expectType<Equal<typeof multi, [ray.ObjectRef<number>, ray.ObjectRef<string>]>>();

async function* gen(n: number): AsyncGenerator<number> { for (let i = 0; i < n; i++) yield i; }
const g = ray.remote(gen).options({ numReturns: "streaming" }).remote(3);
expectType<Equal<typeof g, ray.ObjectRefGenerator<number>>>();

class Counter {
  n = 0;
  inc(by = 1): number { return (this.n += by); }
  async name(prefix: string): Promise<string> { return `${prefix}${this.n}`; }
}
const C = ray.remote(Counter);
const c = C.options({ name: "c", maxRestarts: 1 }).remote();
const inc = c.inc.remote(5);
expectType<Equal<typeof inc, ray.ObjectRef<number>>>();
const nm = c.name.remote("x");
expectType<Equal<typeof nm, ray.ObjectRef<string>>>();
// @ts-expect-error wrong argument type for a method
c.inc.remote("5");
// @ts-expect-error no such method
c.dec.remote();
// @ts-expect-error fields are not methods
c.n.remote();

async function typedGet(): Promise<void> {
  const v: number = await ray.get(r);
  const both: [number, string] = await ray.get([r, s] as const);
  // @ts-expect-error get of an ObjectRef<number> is not a string
  const wrong: string = await ray.get(r);
  void v; void both; void wrong;
}
void typedGet;

class WithCtor { constructor(readonlyName: string, size: number) { void readonlyName; void size; } ping(): string { return "pong"; } }
ray.remote(WithCtor).remote("a", 1);
// @ts-expect-error constructor arguments are checked
ray.remote(WithCtor).remote(1, "a");
const throws = ray.remote((): never => { throw new Error("x"); });
const tr = throws.remote();
expectType<Equal<typeof tr, ray.ObjectRef<never>>>();
