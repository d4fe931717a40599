import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describeRemote, loadRemote } from "../../src/worker/code/index.ts";
import { CodeShippingError } from "../../src/common/errors.ts";

const FIX = path.resolve(import.meta.dirname, "../fixtures/code");
const url = (f: string): string => pathToFileURL(path.join(FIX, f)).href;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), "code-cache-"));
after(() => fs.rmSync(cache, { recursive: true, force: true }));

// Importing the fixture runs its top level once here (as the driver would).
const mod = await import(url("typed.ts")) as typeof import("../fixtures/code/typed.ts");
delete (globalThis as Record<string, unknown>).__typedSideEffect;

test("a TypeScript arrow function ships with its imports, helpers and local modules", async () => {
  const { descriptor, pkg } = describeRemote(mod.typedFn, url("typed.ts"));
  assert.equal(descriptor.kind, "function");
  const files = Object.keys(pkg.files).sort();
  assert.ok(files.includes("lib/helper.ts") && files.includes("lib/scale.js"), files.join(","));
  const entry = pkg.files[descriptor.entry]!;
  assert.match(entry, /const FACTOR\s*=\s*3/);
  assert.match(entry, /function util/);
  assert.doesNotMatch(entry, /__typedSideEffect/, "unrelated top-level code is not shipped");
  assert.doesNotMatch(entry, /await/);
  const fn = (await loadRemote(descriptor, pkg, cache)) as typeof mod.typedFn;
  assert.equal(fn({ x: 2, y: 1 }), 71);
  assert.equal((globalThis as Record<string, unknown>).__typedSideEffect, undefined, "the module's top level did not run on load");
});

test("classes and method shorthand ship", async () => {
  const c = describeRemote(mod.Acc, url("typed.ts"));
  assert.equal(c.descriptor.kind, "class");
  const Acc = (await loadRemote(c.descriptor, c.pkg, cache)) as typeof mod.Acc;
  assert.equal(new Acc().add(2), 6);
  const m = describeRemote(mod.obj.shorthand, url("typed.ts"));
  const f = (await loadRemote(m.descriptor, m.pkg, cache)) as (x: number) => number;
  assert.equal(f(1), 4);
});

test("imports of Stingray's public API become the bare specifier", () => {
  const { descriptor, pkg } = describeRemote(mod.usesRay, url("typed.ts"));
  assert.match(pkg.files[descriptor.entry]!, /from "stingray"/);
  assert.ok(!Object.keys(pkg.files).some((f) => f.includes("src/api")), "stingray itself is never shipped");
});

test("a function found through the caller's imports ships from its own module", () => {
  const { descriptor, pkg } = describeRemote(mod.viaImport, url("caller.ts"));
  assert.match(descriptor.entry, /^(.*\/)?__stingray_\w+\.mjs$/);
  assert.match(pkg.files[descriptor.entry]!, /x \+ 100/);
  assert.throws(() => describeRemote(mod.outer, url("lib/scale.js")), (e: unknown) =>
    e instanceof CodeShippingError && /cannot find the source/.test(e.message));
});

test("refusals name the problem: captured locals, awaited top-level values, internal imports", async () => {
  assert.throws(() => describeRemote(mod.outer(), url("typed.ts")), (e: unknown) =>
    e instanceof CodeShippingError && /captures local variable `local`/.test(e.message));
  assert.throws(() => describeRemote(mod.usesAwaited, url("typed.ts")), (e: unknown) =>
    e instanceof CodeShippingError && /top-level variable `big`.*awaits/.test(e.message));
  const deep = await import(url("deep.ts")) as { deepFn: () => unknown };
  assert.throws(() => describeRemote(deep.deepFn, url("deep.ts")), (e: unknown) =>
    e instanceof CodeShippingError && /Stingray internal module/.test(e.message));
});

test("packages are content-addressed: same code, same hash; changed code, new hash", () => {
  const a = describeRemote(mod.typedFn, url("typed.ts"));
  const b = describeRemote(mod.typedFn, url("typed.ts"));
  assert.equal(a.pkg.hash, b.pkg.hash);
  assert.equal(a.descriptor.id, b.descriptor.id);
  const c = describeRemote(mod.Acc, url("typed.ts"));
  assert.notEqual(a.descriptor.id, c.descriptor.id);
});
