/**
 * @module worker/code/describe
 * Driver side of code shipping. For a function or class passed to `remote()` it builds:
 *  - a *synthetic module*: the imports and top-level declarations the target actually uses, in
 *    their original order (and, where possible, on their original lines, so remote stack traces
 *    point at the user's line numbers), then `export default (<target source>)`. The driver
 *    script's other top-level code (its `init()`, its task submissions) is never part of it, so
 *    it never re-runs on workers;
 *  - a *code package*: that module plus every local module it imports, transitively, with paths
 *    relative to their common directory, content-addressed by sha256.
 * Free identifiers are resolved statically (acorn + periscopic): imports and top-level
 * declarations are shipped, globals are left alone, anything else is a captured local variable
 * and is refused with an error that names it.
 */
import path from "node:path";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { CodeShippingError } from "../../common/errors.ts";
import {
  declarationOf, driverOnlyInitializer, enclosingDeclarations, findTarget, freeNames, isNested, moduleSpecifiers,
  lexicalCapture, topBindings, topLevelWrite, type Node, type TopBinding,
} from "./analysis.ts";
import { isRelative, nearestPackageType, PackageBuilder, resolveSpecifier, sha256 } from "./package.ts";
import { STINGRAY_SRC, isScriptFile, isStingraySource, lineOf, readModule, type ModuleSource } from "./source.ts";

/** What a task or actor creation names on the wire: which package, which module in it. */
export interface FunctionDescriptor {
  /** sha256 of the package hash and the entry path. */
  id: string;
  name: string;
  kind: "function" | "class";
  pkgHash: string;
  /** Relative path of the synthetic module inside the package. */
  entry: string;
}

/** The files a worker needs to run a remote function or actor class. */
export interface CodePackage {
  /** sha256 over the sorted (path, content) pairs and the node_modules directories. */
  hash: string;
  /** Relative path ("/"-separated) → file text. */
  files: Record<string, string>;
  /** Driver-side node_modules directories that bare imports resolved from. */
  nodeModulesDirs: string[];
}

export interface Described { descriptor: FunctionDescriptor; pkg: CodePackage }

const described = new WeakMap<Function, Described>();

/** Most modules searched for a function's source, starting from the caller. */
const SEARCH_LIMIT = 500;

function message(e: unknown): string { return e instanceof Error ? e.message : String(e); }

interface Found { mod: ModuleSource; node: Node; ancestors: Node[] }

/** Find the module defining a function with source `src`: the caller, then (breadth first) its local imports. */
function locate(src: string, callerFile: string, what: string): Found {
  const seen = new Set<string>();
  const queue = [callerFile];
  let callerError: unknown;
  while (queue.length && seen.size < SEARCH_LIMIT) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    let mod: ModuleSource;
    try {
      mod = readModule(file);
    } catch (e) {
      if (file === callerFile) callerError = e;
      continue;
    }
    for (let i = mod.js.indexOf(src); i >= 0; i = mod.js.indexOf(src, i + 1)) {
      const hit = findTarget(mod.ast, mod.js, i, i + src.length);
      if (hit) return { mod, ...hit };
    }
    for (const s of moduleSpecifiers(mod)) {
      if (!isRelative(s.value)) continue;
      let r;
      try { r = resolveSpecifier(file, s.value); } catch { continue; }
      if (r.kind === "local" && isScriptFile(r.file) && !seen.has(r.file)) queue.push(r.file);
    }
  }
  const why = callerError ? ` (${message(callerError)})` : "";
  throw new CodeShippingError(`cannot find the source of ${what} in ${callerFile} or the modules it imports${why}. ` +
    "Stingray ships a remote function or actor class by its source text, so it must be written in a module file: " +
    "define it at the top level of the script that calls remote() or of a module that script imports " +
    "(not in eval, new Function, the REPL or a bound function), and pass values it needs as arguments");
}

/** Line and column (both 0-based) of an offset in a module's JavaScript text. */
function position(mod: ModuleSource, offset: number): { line: number; col: number } {
  let starts = mod.memo.get("lineStarts") as number[] | undefined;
  if (!starts) {
    starts = [0];
    for (let i = mod.js.indexOf("\n"); i >= 0; i = mod.js.indexOf("\n", i + 1)) starts.push(i + 1);
    mod.memo.set("lineStarts", starts);
  }
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid; else hi = mid - 1;
  }
  return { line: lo, col: offset - starts[lo]! };
}

/**
 * Writes the synthetic module, putting each piece on its original line and column when the
 * pieces so far leave room, so that line numbers in remote stack traces match the user's file.
 */
class Emitter {
  private parts: string[] = [];
  private line = 0;
  private col = 0;
  private mod: ModuleSource;
  constructor(mod: ModuleSource) { this.mod = mod; }

  /** Append `text`, placed at the original position of `offset` when given and still possible. */
  put(text: string, offset?: number): void {
    if (offset !== undefined) {
      const p = position(this.mod, offset);
      if (p.line > this.line) {
        this.parts.push("\n".repeat(p.line - this.line), " ".repeat(p.col));
        this.line = p.line;
        this.col = p.col;
      } else if (p.line === this.line && p.col >= this.col) {
        this.parts.push(" ".repeat(p.col - this.col));
        this.col = p.col;
      } else {
        this.newline();
      }
    }
    this.parts.push(text);
    const nl = text.lastIndexOf("\n");
    if (nl < 0) {
      this.col += text.length;
    } else {
      for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) this.line++;
      this.col = text.length - nl - 1;
    }
  }

  /** Start a new line unless the current one is empty. */
  newline(): void {
    if (this.col === 0) return;
    this.parts.push("\n");
    this.line++;
    this.col = 0;
  }

  toString(): string { return this.parts.join("") + "\n"; }
}

function captured(what: string, id: string): CodeShippingError {
  if (id === "this" || id === "super" || id === "arguments" || id === "new.target") {
    return new CodeShippingError(`${what} uses \`${id}\` of the function it is defined in, which cannot be shipped ` +
      "to workers; define it at module top level and pass what it needs as an argument");
  }
  return new CodeShippingError(`${what} captures local variable \`${id}\`, which cannot be shipped to workers; ` +
    "define it at module top level or pass it as an argument");
}

const COMMONJS_NAMES = new Set(["require", "module", "exports", "__dirname", "__filename"]);

/** The top-level binding whose declaration is the target itself (`function f`, `class C`, `const f = () => ...`). */
function selfBinding(tops: Map<string, TopBinding>, node: Node): TopBinding | undefined {
  for (const b of tops.values()) {
    if (b.kind !== "decl") continue;
    if (!b.part && b.node === node) return b;
    if (b.part?.type === "VariableDeclarator" && b.part.init === node && b.part.id.type === "Identifier") return b;
  }
  return undefined;
}

/**
 * Describe a function or class for shipping to workers. `callerUrl` is the file URL of the
 * module that called `remote()` (see `callerModuleUrl`). Cached per target object.
 */
export function describeRemote(target: Function, callerUrl: string | undefined): Described {
  const hit = described.get(target);
  if (hit) return hit;
  if (typeof target !== "function") throw new CodeShippingError(`remote() takes a function or a class, got ${typeof target}`);
  const src = Function.prototype.toString.call(target);
  const kind: "function" | "class" = /^class[\s{]/.test(src) ? "class" : "function";
  const name = target.name || "anonymous";
  const what = `remote ${kind} \`${name}\``;
  if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
    throw new CodeShippingError(`${what} is a native or bound function; remote() needs a function or class written in a module file`);
  }
  if (!callerUrl) {
    throw new CodeShippingError(`cannot tell which module defines ${what}: remote() must be called from a module file, ` +
      "not from a REPL, eval or node -e");
  }
  let callerFile: string;
  try {
    callerFile = fileURLToPath(callerUrl);
  } catch {
    throw new CodeShippingError(`${what} was passed to remote() from ${callerUrl}, which is not a module file; ` +
      "define remote functions and classes in .ts/.js module files");
  }

  const { mod, node, ancestors } = locate(src, callerFile, what);
  const where = path.relative(process.cwd(), mod.file) || mod.file;
  if (node.type === "MethodDefinition" && node.key.type === "PrivateIdentifier") {
    throw new CodeShippingError(`${what} is a private method; pass a function or a class to remote()`);
  }
  // Stingray's own tools may ship code (the microbenchmark's tasks live in src/cli); its runtime may not.
  if (isStingraySource(mod.file) && !mod.file.startsWith(path.join(STINGRAY_SRC, "cli") + path.sep)) {
    throw new CodeShippingError(`${what} is defined inside Stingray (${mod.file}); only user code can be shipped to workers`);
  }

  const nested = isNested(ancestors);
  const lexical = nested ? lexicalCapture(node) : undefined;
  if (lexical) throw captured(what, lexical);

  // Resolve free identifiers, transitively through the top-level declarations they need.
  const tops = topBindings(mod);
  const enclosing = enclosingDeclarations(mod, ancestors);
  const imports = new Map<Node, Set<Node>>(); // ImportDeclaration -> needed specifiers
  const decls = new Map<Node, Set<Node>>(); // declaration -> needed declarators (itself for functions/classes)
  const queue: { node: Node; owner: string | undefined }[] = [{ node, owner: undefined }];
  while (queue.length) {
    const { node: n, owner } = queue.shift()!;
    for (const id of freeNames(n)) {
      if (owner === undefined && enclosing.has(id)) throw captured(what, id);
      const b = tops.get(id);
      if (!b) {
        if (id in globalThis) continue;
        if (owner === undefined && nested) throw captured(what, id);
        const hint = COMMONJS_NAMES.has(id)
          ? " (CommonJS names do not exist in ES modules; use import, import.meta.dirname and import.meta.filename)" : "";
        throw new CodeShippingError(`${what} uses \`${id}\`${owner ? ` (through \`${owner}\`)` : ""}, which is not ` +
          `imported or declared at the top level of ${where} and is not a global, so workers cannot provide it${hint}; ` +
          "define it at module top level or pass it as an argument");
      }
      if (b.kind === "import") {
        let s = imports.get(b.node);
        if (!s) imports.set(b.node, (s = new Set()));
        s.add(b.part!);
        continue;
      }
      const part = b.part ?? b.node;
      let s = decls.get(b.node);
      if (!s) decls.set(b.node, (s = new Set()));
      if (s.has(part)) continue;
      s.add(part);
      const init = part.type === "VariableDeclarator" ? part.init : undefined;
      const why = init ? driverOnlyInitializer(init) : undefined;
      if (why) {
        throw new CodeShippingError(`${what} uses the top-level variable \`${id}\` (${where}:${lineOf(mod.js, part.start)}), ` +
          `whose initializer ${why}. That is driver code: the driver script's top-level code does not run on workers. ` +
          `Pass \`${id}\` to the ${kind} as an argument instead (large values: ray.put() them and pass the ObjectRef)`);
      }
      queue.push({ node: part, owner: id });
    }
  }

  // Top-level code that changes a shipped variable after its declaration is not shipped with it.
  const shipped = new Set<string>();
  for (const b of tops.values()) {
    if (b.kind === "decl" && decls.get(b.node)?.has(b.part ?? b.node)) shipped.add(b.name);
  }
  if (shipped.size) {
    for (const stmt of mod.ast.body) {
      const decl = declarationOf(stmt);
      const included = decl ? decls.get(decl) : undefined;
      if (stmt.type === "ImportDeclaration" || (included && decl?.type !== "VariableDeclaration")) continue;
      const parts: Node[] = decl?.type === "VariableDeclaration" && included
        ? decl.declarations.filter((d) => !included.has(d)) : [stmt];
      for (const part of parts) {
        const w = topLevelWrite(part, shipped);
        if (w) {
          throw new CodeShippingError(`${what} uses the top-level variable \`${w.name}\`, which top-level code changes at ` +
            `${where}:${lineOf(mod.js, w.at)}. That code is not shipped (the top-level code of the module that defines ` +
            `${name} does not run on workers), so workers would see \`${w.name}\` without the change. Compute it in its ` +
            "initializer or in a function, or pass the value as an argument");
        }
      }
    }
  }

  // Assemble the synthetic module: imports, declarations in source order, the default export.
  const builder = new PackageBuilder();
  const js = mod.js;
  const out = new Emitter(mod);
  for (const stmt of mod.ast.body) {
    if (stmt.type !== "ImportDeclaration") continue;
    const needed = imports.get(stmt);
    if (!needed) continue;
    const from = JSON.stringify(builder.specifier(mod.file, String(stmt.source.value)));
    const attrs = stmt.attributes.length ? ` with { ${stmt.attributes.map((a) => js.slice(a.start, a.end)).join(", ")} }` : "";
    const list = [...needed].sort((a, b) => a.start - b.start);
    const pieces: string[] = [];
    for (const sp of list) {
      if (sp.type === "ImportDefaultSpecifier" || sp.type === "ImportNamespaceSpecifier") {
        pieces.push(`import ${js.slice(sp.start, sp.end)} from ${from}${attrs};`);
      }
    }
    const named = list.filter((sp) => sp.type === "ImportSpecifier").map((sp) => js.slice(sp.start, sp.end));
    if (named.length) pieces.push(`import { ${named.join(", ")} } from ${from}${attrs};`);
    out.put(pieces.join(" "), stmt.start);
  }
  const self = selfBinding(tops, node);
  const selfIncluded = self !== undefined && decls.get(self.node)?.has(self.part ?? self.node) === true;
  for (const stmt of mod.ast.body) {
    const decl = declarationOf(stmt);
    const needed = decl ? decls.get(decl) : undefined;
    if (!decl || !needed) continue;
    if (decl.type === "VariableDeclaration") {
      const list = [...needed].sort((a, b) => a.start - b.start);
      out.put(`${decl.kind} `, decl.start);
      list.forEach((d, i) => {
        if (i > 0) out.put(",");
        out.put(js.slice(d.start, d.end), d.start);
      });
      out.put(";");
    } else {
      out.put(js.slice(decl.start, decl.end), decl.start);
    }
  }
  const srcStart = node.end - src.length; // a static method's text starts after `static`
  out.newline();
  if (selfIncluded) {
    // The target refers to itself by its top-level name: export that binding, one copy only.
    out.put(`export default ${self.name};`);
  } else if (node.type === "Property" || node.type === "MethodDefinition") {
    // Method shorthand (`f(x) {}`, `async f() {}`, `*g() {}`, `get x() {}`) is only valid inside an
    // object literal: ship it as the only member of one and take that member back out.
    out.put("export default ((o) => { const d = Object.getOwnPropertyDescriptor(o, Reflect.ownKeys(o)[0]); " +
      "return d.value ?? d.get ?? d.set; })({");
    out.put(src, srcStart);
    out.put("});");
  } else {
    out.put("export default (");
    out.put(src, srcStart);
    out.put(");");
  }
  const synthetic = out.toString();

  // The package: the synthetic module next to the defining module, plus the import closure.
  const absFiles = [mod.file, ...builder.files.keys()];
  const root = commonDir(absFiles.map((f) => path.dirname(f)));
  const rel = (f: string): string => path.relative(root, f).split(path.sep).join("/");
  const entry = rel(path.join(path.dirname(mod.file), `__stingray_${sha256(synthetic).slice(0, 16)}.mjs`));
  const files: Record<string, string> = { [entry]: synthetic };
  const digests = new Map<string, string>();
  for (const [f, { text, digest }] of builder.files) {
    files[rel(f)] = text;
    digests.set(rel(f), digest);
  }
  if (files["package.json"] === undefined) {
    // Module type of shipped .js/.ts files, as on the driver (and so no package.json above the cache interferes).
    const type = nearestPackageType(path.dirname(mod.file));
    if (type !== undefined) files["package.json"] = JSON.stringify(type === null ? {} : { type }) + "\n";
  }
  const nodeModulesDirs = [...builder.nodeModulesDirs].sort();
  // sha256 over the sorted (path, content) pairs (each content by its own sha256, computed once
  // per file version) and the node_modules directories, which decide what bare imports load.
  const h = createHash("sha256");
  for (const k of Object.keys(files).sort()) h.update(`${k}\0${digests.get(k) ?? sha256(files[k]!)}\n`);
  h.update(`node_modules\0${nodeModulesDirs.join("\0")}\n`);
  const hash = h.digest("hex");
  const pkg: CodePackage = { hash, files, nodeModulesDirs };
  const descriptor: FunctionDescriptor = { id: sha256(`${hash}\0${entry}`), name, kind, pkgHash: hash, entry };
  const result = { descriptor, pkg };
  described.set(target, result);
  return result;
}

/** Deepest directory containing all of `dirs`. */
function commonDir(dirs: string[]): string {
  let dir = dirs[0]!;
  for (const d of dirs) {
    while (!(d + path.sep).startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  }
  return dir;
}
