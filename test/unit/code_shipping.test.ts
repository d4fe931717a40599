// Code shipping (src/worker/code): describing remote functions and classes on the driver,
// loading them on a worker, and the refusals that keep driver-only code off workers.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { callerModuleUrl, describeRemote, loadRemote, type CodePackage, type FunctionDescriptor } from "../../src/worker/code/index.ts";
import { sourceStats } from "../../src/worker/code/source.ts";
import { CodeShippingError } from "../../src/common/errors.ts";

const ROOT = fs.realpathSync(path.resolve(import.meta.dirname, "../.."));
const FIX = path.join(ROOT, "test/fixtures/code");
const url = (f: string): string => pathToFileURL(path.join(FIX, f)).href;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-code-test-"));
const cache = path.join(tmp, "cache");
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const globals = globalThis as Record<string, unknown>;

// Importing the fixture runs its top level once here, as the driver would; then the markers are
// cleared, so a load that re-ran it (or its side-effect import) would set them again.
const mod = await import(url("typed.ts")) as typeof import("../fixtures/code/typed.ts");
delete globals.__typedSideEffect;
delete globals.__sideImport;

/** A function with the same source text as one in a fixture that must not run (it imports Stingray). */
function lookalike(src: string): Function {
  return (0, eval)(`(${src})`) as Function;
}

function refusal(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof CodeShippingError, `expected a CodeShippingError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  };
}

async function load<T>(d: { descriptor: FunctionDescriptor; pkg: CodePackage }): Promise<T> {
  return (await loadRemote(d.descriptor, d.pkg, cache)) as T;
}

test("an arrow function ships with its imports, top-level const, helper function and local modules", async () => {
  const d = describeRemote(mod.typedFn, url("typed.ts"));
  assert.equal(d.descriptor.kind, "function");
  assert.equal(d.descriptor.name, "typedFn");
  assert.equal(d.descriptor.pkgHash, d.pkg.hash);
  const files = Object.keys(d.pkg.files).sort();
  assert.deepEqual(files, [d.descriptor.entry, "lib/data.json", "lib/helper.ts", "lib/scale.js", "package.json"].sort());
  assert.match(d.descriptor.entry, /^__stingray_[0-9a-f]{16}\.mjs$/);
  const entry = d.pkg.files[d.descriptor.entry]!;
  assert.match(entry, /import \{ helper \} from "\.\/lib\/helper\.ts";/);
  assert.match(entry, /import data from "\.\/lib\/data\.json" with \{ type: "json" \};/);
  assert.match(entry, /const FACTOR\s*=\s*3;/);
  assert.match(entry, /function util/);
  assert.match(entry, /export default \(/);
  assert.ok(entry.includes(Function.prototype.toString.call(mod.typedFn)), "the target's text is shipped verbatim");
  for (const unwanted of [/__typedSideEffect/, /side\.ts/, /await/, /types\.ts/, /class Acc/, /viaImport/]) {
    assert.doesNotMatch(entry, unwanted, "only what the function uses is shipped");
  }
  // Pieces keep their original line numbers, so remote stack traces point at the user's lines.
  const line = (text: string, needle: string): number => text.slice(0, text.indexOf(needle)).split("\n").length;
  const original = fs.readFileSync(path.join(FIX, "typed.ts"), "utf8");
  assert.equal(line(entry, "function util"), line(original, "function util"));
  assert.equal(line(entry, Function.prototype.toString.call(mod.typedFn)), line(original, "export const typedFn"));
  assert.deepEqual(JSON.parse(d.pkg.files["package.json"]!), { type: "module" });
});

test("a round trip: loaded on a worker, the function works and the module's top level does not re-run", async () => {
  const d = describeRemote(mod.typedFn, url("typed.ts"));
  const fn = await load<typeof mod.typedFn>(d);
  assert.equal(fn({ x: 2, y: 1 }), mod.typedFn({ x: 2, y: 1 }));
  assert.equal(fn({ x: 2, y: 1 }), 76);
  assert.notEqual(fn, mod.typedFn, "a fresh copy, imported from the unpacked package");
  assert.equal(Function.prototype.toString.call(fn), Function.prototype.toString.call(mod.typedFn));
  assert.equal(globals.__typedSideEffect, undefined, "typed.ts's top level did not run on load");
  assert.equal(globals.__sideImport, undefined, "its side-effect-only import did not run on load");
  assert.equal(await loadRemote(d.descriptor, d.pkg, cache), fn, "loaded once per descriptor");

  const dir = path.join(cache, d.pkg.hash);
  assert.equal(fs.readFileSync(path.join(dir, "lib/helper.ts"), "utf8"), fs.readFileSync(path.join(FIX, "lib/helper.ts"), "utf8"));
  assert.equal(fs.realpathSync(path.join(dir, "node_modules/stingray")), ROOT, "stingray links to the worker's own copy");
  assert.ok(!fs.readdirSync(cache).some((e) => e.startsWith(".tmp")), "no temp dirs left behind");
});

test("a JavaScript module using a node_modules package ships bare imports and links the driver's node_modules", async () => {
  const js = await import(url("uses_pkg.js")) as { countStatements: (src: string) => number };
  delete globals.__jsSideEffect;
  const d = describeRemote(js.countStatements, url("uses_pkg.js"));
  const entry = d.pkg.files[d.descriptor.entry]!;
  assert.match(entry, /import \{ parse \} from "acorn";/);
  assert.deepEqual(d.pkg.nodeModulesDirs, [path.join(ROOT, "node_modules")]);
  assert.ok(!Object.keys(d.pkg.files).some((f) => f.includes("acorn")), "packages are never shipped");
  const fn = await load<(src: string) => number>(d);
  assert.equal(fn("let a = 1; a++;"), 2 + 1);
  assert.equal(globals.__jsSideEffect, undefined);
  assert.ok(fs.lstatSync(path.join(cache, d.pkg.hash, "node_modules/acorn")).isSymbolicLink());
});

test("classes, class expressions, static methods and recursive functions ship", async () => {
  const c = describeRemote(mod.Acc, url("typed.ts"));
  assert.equal(c.descriptor.kind, "class");
  assert.equal(c.descriptor.name, "Acc");
  const Acc = await load<typeof mod.Acc>(c);
  const a = new Acc();
  a.add(2);
  assert.equal(a.add(1), 9);

  const n = describeRemote(mod.Named, url("typed.ts"));
  assert.equal(n.descriptor.kind, "class");
  const Named = await load<typeof mod.Named>(n);
  assert.ok(Named.make() instanceof Named, "a named class expression may use its own name");
  assert.equal(new Named().twice(4), 8);

  const s = describeRemote(mod.Statics.triple, url("typed.ts"));
  assert.equal((await load<(x: number) => number>(s))(5), 15);

  const f = describeRemote(mod.fact, url("typed.ts"));
  assert.equal((await load<(n: number) => number>(f))(5), 120);

  const fib = describeRemote(mod.fib, url("typed.ts"));
  assert.match(fib.pkg.files[fib.descriptor.entry]!, /export default fib;/, "self-reference: one copy, exported by name");
  assert.equal((await load<(n: number) => number>(fib))(10), 55);

  const def = describeRemote(mod.default, url("typed.ts"));
  assert.equal((await load<(x: number) => number>(def))(7), 21);
});

test("method shorthand (plain, async, generator, computed key) ships as an object literal member", async () => {
  const plain = describeRemote(mod.obj.shorthand, url("typed.ts"));
  assert.match(plain.pkg.files[plain.descriptor.entry]!, /\{\s*shorthand\(x/);
  assert.equal((await load<(x: number) => number>(plain))(1), 4);
  const later = await load<(x: number) => Promise<number>>(describeRemote(mod.obj.later, url("typed.ts")));
  assert.equal(await later(2), 6);
  const count = await load<(n: number) => Generator<number>>(describeRemote(mod.obj.count, url("typed.ts")));
  assert.deepEqual([...count(3)], [0, 3, 6]);
  const computed = await load<(x: number) => string>(describeRemote((mod.obj as unknown as Record<string, Function>).computed!, url("typed.ts")));
  assert.equal(computed(3), "v3");
});

test("a function defined in an imported module ships from that module", async () => {
  const d = describeRemote(mod.viaImport, url("caller.ts"));
  assert.match(d.pkg.files[d.descriptor.entry]!, /x \+ 100/);
  assert.doesNotMatch(d.pkg.files[d.descriptor.entry]!, /FACTOR/);
  assert.equal((await load<(x: number) => number>(d))(1), 101);
  // Two levels down: caller.ts -> typed.ts -> lib/helper.ts.
  const { helper } = await import(url("lib/helper.ts")) as typeof import("../fixtures/code/lib/helper.ts");
  const h = describeRemote(helper, url("caller.ts"));
  assert.match(h.pkg.files[h.descriptor.entry]!, /import \{ scale \} from "\.\/scale\.js";/);
  assert.equal((await load<(x: number) => number>(h))(2), 21);
  // Not defined in the caller or anything it imports.
  assert.throws(() => describeRemote(lookalike("(q) => q * 12345"), url("caller.ts")),
    refusal(/cannot find the source of remote function.*top level/s));
  assert.throws(() => describeRemote(mod.typedFn.bind(null), url("typed.ts")), refusal(/native or bound/));
  assert.throws(() => describeRemote(lookalike("(x) => x + 100"), undefined), refusal(/module file/));
});

test("captured local variables are refused, naming the function and the variable", () => {
  assert.throws(() => describeRemote(mod.outer(), url("typed.ts")), refusal(
    /remote function `anonymous` captures local variable `local`, which cannot be shipped to workers; define it at module top level or pass it as an argument/));
  assert.throws(() => describeRemote(mod.shadow(), url("typed.ts")), refusal(/captures local variable `FACTOR`/),
    "a local that shadows a top-level name is still a captured local");
  const ok = describeRemote(mod.nestedOk(), url("typed.ts"));
  assert.match(ok.pkg.files[ok.descriptor.entry]!, /const FACTOR/, "a nested function using only top-level names ships");
  assert.throws(() => describeRemote(new mod.Service().task(), url("typed.ts")), refusal(/uses `this` of the function it is defined in/));
  assert.throws(() => describeRemote(mod.usesUndeclared, url("typed.ts")), refusal(/`notDefinedAnywhere`.*not a global/));
});

test("top-level values computed by driver code (await, init()) are refused", () => {
  assert.throws(() => describeRemote(mod.usesAwaited, url("typed.ts")), refusal(
    /remote function `usesAwaited` uses the top-level variable `big` \(.*typed\.ts:\d+\), whose initializer awaits a value.*as an argument/s));
  assert.throws(() => describeRemote(mod.usesSession, url("typed.ts")), refusal(/`session`.*calls init\(\)/s));
  assert.throws(() => describeRemote(lookalike("(i) => big[i]"), url("driver.js")), refusal(/`big`.*awaits/s));
  assert.throws(() => describeRemote(lookalike("() => ctx"), url("driver.js")), refusal(/`ctx`.*calls ray\.init\(\)/s));
});

test("top-level variables changed by top-level code are refused (that code does not run on workers)", async () => {
  assert.throws(() => describeRemote(mod.usesMode, url("typed.ts")), refusal(/`mode`, which top-level code changes at .*typed\.ts:\d+/));
  assert.throws(() => describeRemote(mod.usesRegistry, url("typed.ts")), refusal(/`registry`, which top-level code changes/));
  // Changed only inside functions: fine, each worker has its own copy.
  const bump = await load<() => number>(describeRemote(mod.bump, url("typed.ts")));
  assert.equal(bump(), 1);
  assert.equal(bump(), 2);
});

test("a driver script's remote functions ship without its top-level code; Stingray imports become \"stingray\"", () => {
  const sq = describeRemote(lookalike("(x) => helper(util(x))"), url("driver.js"));
  const entry = sq.pkg.files[sq.descriptor.entry]!;
  assert.match(entry, /const FACTOR = 3;/);
  assert.match(entry, /function util\(x\)/);
  assert.doesNotMatch(entry, /init|ray\.|acorn|side/, "no init(), no unused imports, no side-effect imports");

  // Nested task submission: the worker re-creates the remote handle.
  const nested = describeRemote(lookalike("async (x) => ray.get(other.remote(x))"), url("driver.js"));
  const text = nested.pkg.files[nested.descriptor.entry]!;
  assert.match(text, /import \* as ray from "stingray";/);
  assert.match(text, /function fn2\(x\)/);
  assert.match(text, /const other = ray\.remote\(fn2\);/);
  assert.doesNotMatch(text, /init|square/);
  assert.ok(!Object.keys(nested.pkg.files).some((f) => f.includes("src/")), "Stingray itself is never shipped");

  const p = describeRemote(lookalike("(src) => parse(src, { ecmaVersion: \"latest\" }).body.length"), url("driver.js"));
  assert.deepEqual(p.pkg.nodeModulesDirs, [path.join(ROOT, "node_modules")]);
});

test("imports of Stingray internals are refused, in the defining module and in shipped files", () => {
  assert.throws(() => describeRemote(lookalike("() => config(\"max_frame_bytes\")"), url("deep.ts")),
    refusal(/imports "\.\.\/\.\.\/\.\.\/src\/common\/config\.ts", which is inside Stingray itself.*import \* as ray from "stingray"/s));
  // cycle_lib.js imports the driver script back: shipping it would re-run ray.init() on workers.
  assert.throws(() => describeRemote(lookalike("(x) => libFn(x)"), url("cycle_main.js")),
    refusal(/cycle_main\.js:\d+ calls ray\.init\(\) at its top level/));
});

test("packages are content-addressed; describing is cached per function and per module", async () => {
  const a = describeRemote(mod.typedFn, url("typed.ts"));
  assert.equal(describeRemote(mod.typedFn, url("typed.ts")), a, "cached per function object");
  assert.match(a.pkg.hash, /^[0-9a-f]{64}$/);
  assert.match(a.descriptor.id, /^[0-9a-f]{64}$/);
  const c = describeRemote(mod.Acc, url("typed.ts"));
  assert.notEqual(a.descriptor.id, c.descriptor.id);
  // Same source, another function object: same package, same id.
  const again = describeRemote(lookalike(Function.prototype.toString.call(mod.typedFn)), url("typed.ts"));
  assert.equal(again.pkg.hash, a.pkg.hash);
  assert.equal(again.descriptor.id, a.descriptor.id);

  const parses = sourceStats.parses;
  for (const f of [mod.fact, mod.fib, mod.Statics, mod.obj.shorthand, mod.viaImport, mod.nestedOk()]) describeRemote(f, url("typed.ts"));
  assert.equal(sourceStats.parses, parses, "a module is parsed once for all its functions");

  // Changing a helper file changes the package hash (a copy of a small project in a temp dir).
  const proj = path.join(tmp, "proj");
  fs.mkdirSync(proj);
  fs.writeFileSync(path.join(proj, "helper.mjs"), "export const k = 1;\n");
  fs.writeFileSync(path.join(proj, "main.mjs"), "import { k } from \"./helper.mjs\";\nexport const f = (x) => x + k;\n");
  const main = pathToFileURL(path.join(proj, "main.mjs")).href;
  const v1 = await import(`${main}?v=1`) as { f: (x: number) => number };
  const first = describeRemote(v1.f, main);
  const v2 = await import(`${main}?v=2`) as { f: (x: number) => number };
  assert.equal(describeRemote(v2.f, main).pkg.hash, first.pkg.hash, "same files, same hash");
  fs.writeFileSync(path.join(proj, "helper.mjs"), "export const k = 2;\n");
  fs.utimesSync(path.join(proj, "helper.mjs"), new Date(), new Date(Date.now() + 5000));
  const v3 = await import(`${main}?v=3`) as { f: (x: number) => number };
  const changed = describeRemote(v3.f, main);
  assert.notEqual(changed.pkg.hash, first.pkg.hash);
  assert.notEqual(changed.descriptor.id, first.descriptor.id);
  assert.equal(changed.descriptor.entry, first.descriptor.entry, "the entry module itself did not change");
  assert.equal((await load<(x: number) => number>(changed))(1), 3);
});

test("code loaded on a worker can be described again there (nested remote calls)", async () => {
  const d = describeRemote(mod.typedFn, url("typed.ts"));
  const fn = await load<Function>(d);
  const there = describeRemote(fn, pathToFileURL(path.join(cache, d.pkg.hash, d.descriptor.entry)).href);
  assert.deepEqual(Object.keys(there.pkg.files).sort(), Object.keys(d.pkg.files).sort());
  assert.equal(there.pkg.hash, d.pkg.hash, "the same package, so nothing new to upload or unpack");
});

test("callerModuleUrl skips Stingray's own frames and handles file URLs and plain paths", () => {
  const src = path.join(ROOT, "src");
  const stack = (...frames: string[]): string => ["Error", ...frames.map((f) => `    at ${f}`)].join("\n");
  assert.equal(callerModuleUrl(stack(
    `remote (file://${src}/api/remote.ts:151:16)`,
    `RemoteCode (file://${src}/worker/function_manager.ts:3:1)`,
    "file:///home/u/my%20app/main.ts:10:20",
  )), "file:///home/u/my%20app/main.ts");
  assert.equal(callerModuleUrl(stack(
    `describe (${src}/client/client.ts:90:5)`,
    "Object.<anonymous> (/home/u/app (copy)/main.js:3:7)",
  )), pathToFileURL("/home/u/app (copy)/main.js").href);
  assert.equal(callerModuleUrl(stack(
    "ModuleJob.run (node:internal/modules/esm/module_job:271:25)",
    "new Promise (<anonymous>)",
    "async main (file:///srv/job.mjs:1:1)",
  )), "file:///srv/job.mjs");
  assert.equal(callerModuleUrl(stack(`remote (file://${src}/api/remote.ts:1:1)`, "eval (eval at <anonymous> (file:///x.mjs:1:1), <anonymous>:1:1)")), undefined);
  assert.equal(callerModuleUrl(stack(`remote (file://${src}/api/remote.ts:1:1)`, "[eval]:1:1")), undefined);
  assert.equal(callerModuleUrl(), import.meta.url, "with no stack: the current one");
});
