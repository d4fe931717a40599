/**
 * @module worker/code/describe
 * Driver side of code shipping. For a function or class passed to `remote()` it builds:
 *  - a *synthetic module*: the imports and top-level declarations the target actually uses, then
 *    `export default (<target source>)`. The driver script's other top-level code (its `init()`,
 *    its task submissions) is never part of it, so it never re-runs on workers;
 *  - a *package*: that module plus every local module it imports, transitively, with paths
 *    relative to their common directory, content-addressed by sha256.
 * Free identifiers are resolved statically (acorn + periscopic): imports and top-level
 * declarations are shipped, globals are left alone, anything else is a captured local variable
 * and is rejected with an error that names it.
 */
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { createRequire, isBuiltin } from "node:module";
import { fileURLToPath } from "node:url";
import type * as acorn from "acorn";
import { analyze } from "periscopic";
import { CodeShippingError } from "../../common/errors.ts";
import { readModule, STINGRAY_MAIN, STINGRAY_ROOT, type ModuleSource } from "./source.ts";

export interface FunctionDescriptor { id: string; name: string; kind: "function" | "class"; pkgHash: string; entry: string }
export interface CodePackage { hash: string; files: Record<string, string>; nodeModulesDirs: string[] }

type Node = acorn.AnyNode;

interface TopBinding {
  kind: "import" | "decl";
  /** For imports: the declaration; for declarations: the statement that declares it. */
  node: Node;
  /** For imports: the local specifier node. For variable declarations: the declarator. */
  part?: Node;
}

const described = new WeakMap<Function, { descriptor: FunctionDescriptor; pkg: CodePackage }>();

function children(n: Node): Node[] {
  const out: Node[] = [];
  for (const v of Object.values(n)) {
    if (Array.isArray(v)) { for (const x of v) if (x && typeof x === "object" && typeof (x as Node).type === "string") out.push(x as Node); }
    else if (v && typeof v === "object" && typeof (v as Node).type === "string") out.push(v as Node);
  }
  return out;
}

function findNode(root: Node, start: number, end: number): Node | undefined {
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.start === start && n.end === end && n.type !== "ExpressionStatement") return n;
    if (n.start <= start && n.end >= end) stack.push(...children(n));
  }
  return undefined;
}

function topBindings(ast: acorn.Program): Map<string, TopBinding> {
  const m = new Map<string, TopBinding>();
  for (const stmt of ast.body) {
    let decl: Node | null | undefined = stmt;
    if (stmt.type === "ImportDeclaration") {
      for (const s of stmt.specifiers) m.set(s.local.name, { kind: "import", node: stmt, part: s });
      continue;
    }
    if (stmt.type === "ExportNamedDeclaration" || stmt.type === "ExportDefaultDeclaration") decl = stmt.declaration as Node | null;
    if (!decl) continue;
    if ((decl.type === "FunctionDeclaration" || decl.type === "ClassDeclaration") && decl.id) {
      m.set(decl.id.name, { kind: "decl", node: decl });
    } else if (decl.type === "VariableDeclaration") {
      for (const d of decl.declarations) {
        for (const name of patternNames(d.id)) m.set(name, { kind: "decl", node: decl, part: d });
      }
    }
  }
  return m;
}

function patternNames(p: Node): string[] {
  switch (p.type) {
    case "Identifier": return [p.name];
    case "ObjectPattern": return p.properties.flatMap((x) => patternNames(x.type === "RestElement" ? x.argument : x.value));
    case "ArrayPattern": return p.elements.flatMap((x) => (x ? patternNames(x) : []));
    case "RestElement": return patternNames(p.argument);
    case "AssignmentPattern": return patternNames(p.left);
    default: return [];
  }
}

/** Does the node contain `await` or a call to init/shutdown outside nested functions? */
function sideEffect(n: Node): string | undefined {
  const stack: Node[] = [n];
  while (stack.length) {
    const x = stack.pop()!;
    if (x.type === "AwaitExpression") return "awaits a value";
    if (x.type === "CallExpression") {
      const c = x.callee;
      const name = c.type === "Identifier" ? c.name : c.type === "MemberExpression" && c.property.type === "Identifier" ? c.property.name : "";
      if (name === "init" || name === "shutdown") return `calls ${name}()`;
    }
    if (x.type === "FunctionExpression" || x.type === "ArrowFunctionExpression" || x.type === "FunctionDeclaration") continue;
    stack.push(...children(x));
  }
  return undefined;
}

function freeNames(n: Node): string[] {
  const target = n.type === "Property" || n.type === "MethodDefinition" ? n.value : n;
  const { globals } = analyze(target as Parameters<typeof analyze>[0]);
  return [...globals.keys()].filter((k) => k !== "arguments" && k !== "undefined");
}

function resolveLocal(fromFile: string, spec: string): string | undefined {
  if (!spec.startsWith("./") && !spec.startsWith("../") && !spec.startsWith("/") && !spec.startsWith("file:")) return undefined;
  const base = spec.startsWith("file:") ? fileURLToPath(spec) : path.resolve(path.dirname(fromFile), spec);
  for (const c of [base, `${base}.ts`, `${base}.js`, path.join(base, "index.ts"), path.join(base, "index.js")]) {
    try { if (fs.statSync(c).isFile()) return c; } catch { /* next */ }
  }
  return undefined;
}

function resolveBare(fromFile: string, spec: string): string | undefined {
  try { return createRequire(fromFile).resolve(spec); } catch { /* ESM-only or missing */ }
  const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
  for (let d = path.dirname(fromFile); ; d = path.dirname(d)) {
    const cand = path.join(d, "node_modules", pkg);
    if (fs.existsSync(cand)) return cand;
    if (path.dirname(d) === d) return undefined;
  }
}

function nodeModulesDirOf(resolved: string): string | undefined {
  const i = resolved.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  return i >= 0 ? resolved.slice(0, i + "/node_modules".length) : undefined;
}

const STINGRAY_SRC = path.join(STINGRAY_ROOT, "src") + path.sep;

function insideStingray(file: string): boolean {
  return file.startsWith(STINGRAY_ROOT) && !file.slice(STINGRAY_ROOT.length).split(path.sep).includes("node_modules");
}

interface Specifier { start: number; end: number; value: string }

function moduleSpecifiers(ast: acorn.Program): Specifier[] {
  const out: Specifier[] = [];
  const stack: Node[] = [ast];
  while (stack.length) {
    const n = stack.pop()!;
    if ((n.type === "ImportDeclaration" || n.type === "ExportAllDeclaration" || n.type === "ExportNamedDeclaration") && n.source) {
      out.push({ start: n.source.start, end: n.source.end, value: String(n.source.value) });
    }
    if (n.type === "ImportExpression" && n.source.type === "Literal" && typeof n.source.value === "string") {
      out.push({ start: n.source.start, end: n.source.end, value: n.source.value });
    }
    stack.push(...children(n));
  }
  return out;
}

class PackageBuilder {
  files = new Map<string, string>(); // absolute path -> content to ship
  nodeModulesDirs = new Set<string>();

  /** Rewrite one specifier of `fromFile`; adds local files to the package. Returns the new text or undefined to keep. */
  rewrite(fromFile: string, spec: string): string | undefined {
    if (isBuiltin(spec)) return undefined;
    const local = resolveLocal(fromFile, spec);
    if (local) {
      // Stingray's own runtime is never shipped: workers use their installed copy.
      if (local.startsWith(STINGRAY_SRC)) return this.stingraySpec(local, spec, fromFile);
      this.add(local);
      return undefined;
    }
    if (spec === "stingray") return undefined;
    const resolved = resolveBare(fromFile, spec);
    if (resolved) {
      if (insideStingray(resolved)) return this.stingraySpec(resolved, spec, fromFile);
      const nm = nodeModulesDirOf(resolved);
      if (nm) this.nodeModulesDirs.add(nm);
    }
    return undefined;
  }

  private stingraySpec(file: string, spec: string, from: string): string {
    if (file === STINGRAY_MAIN || file === STINGRAY_ROOT || file === STINGRAY_ROOT.replace(/\/$/, "")) return "stingray";
    throw new CodeShippingError(`${from} imports "${spec}", a Stingray internal module; code that runs on workers ` +
      `may import only the public API: import * as ray from "stingray"`);
  }

  add(file: string): void {
    if (this.files.has(file)) return;
    this.files.set(file, ""); // reserve (cycles)
    if (!/\.(ts|mts|cts|js|mjs|cjs)$/.test(file)) {
      this.files.set(file, fs.readFileSync(file, "utf8"));
      return;
    }
    const mod = readModule(file);
    let text = mod.original;
    const specs = moduleSpecifiers(mod.ast).sort((a, b) => b.start - a.start);
    for (const s of specs) {
      const r = this.rewrite(file, s.value);
      if (r !== undefined) text = text.slice(0, s.start) + JSON.stringify(r) + text.slice(s.end);
    }
    this.files.set(file, text);
  }
}

function commonDir(paths: string[]): string {
  let dir = path.dirname(paths[0]!);
  for (const p of paths) while (!(p + path.sep).startsWith(dir + path.sep) && dir !== path.dirname(dir)) dir = path.dirname(dir);
  return dir;
}

function sha256(s: string): string { return createHash("sha256").update(s).digest("hex"); }

/** Locate the module that defines `target`: the caller, then (breadth-first) its local imports. */
function locate(src: string, callerFile: string): { mod: ModuleSource; start: number } | undefined {
  const seen = new Set<string>();
  const queue = [callerFile];
  while (queue.length && seen.size < 200) {
    const f = queue.shift()!;
    if (seen.has(f)) continue;
    seen.add(f);
    let mod: ModuleSource;
    try { mod = readModule(f); } catch { continue; }
    const i = mod.js.indexOf(src);
    if (i >= 0) return { mod, start: i };
    for (const s of moduleSpecifiers(mod.ast)) {
      const l = resolveLocal(f, s.value);
      if (l && /\.(ts|mts|js|mjs)$/.test(l)) queue.push(l);
    }
  }
  return undefined;
}

function asExpression(src: string, node: Node): string {
  if (node.type === "Property" || node.type === "MethodDefinition") return `({ ${src} })[${JSON.stringify(keyName(node))}]`;
  return `(${src})`;
}

function keyName(n: Node): string {
  if ((n.type === "Property" || n.type === "MethodDefinition") && n.key.type === "Identifier") return n.key.name;
  if ((n.type === "Property" || n.type === "MethodDefinition") && n.key.type === "Literal") return String(n.key.value);
  return "default";
}

export function describeRemote(target: Function, callerUrl: string | undefined): { descriptor: FunctionDescriptor; pkg: CodePackage } {
  const hit = described.get(target);
  if (hit) return hit;
  const name = target.name || "anonymous";
  const kind: "function" | "class" = /^class[\s{]/.test(Function.prototype.toString.call(target)) ? "class" : "function";
  const src = Function.prototype.toString.call(target);
  if (src.includes("[native code]")) {
    throw new CodeShippingError(`${name} is a native or bound function; remote() needs a function or class written in a module file`);
  }
  if (!callerUrl) {
    throw new CodeShippingError(`cannot tell which module defines ${name}: remote() must be called from a module file, not a REPL or eval`);
  }
  const callerFile = fileURLToPath(callerUrl);
  const found = locate(src, callerFile);
  if (!found) {
    throw new CodeShippingError(`cannot find the source of ${kind} ${name} in ${callerFile} or the modules it imports; ` +
      "define remote functions and classes in a module file (at its top level, or in a module it imports)");
  }
  const { mod, start } = found;
  const node = findNode(mod.ast, start, start + src.length);
  if (!node) throw new CodeShippingError(`cannot parse the source of ${name} in ${mod.file}`);
  const tops = topBindings(mod.ast);
  const builder = new PackageBuilder();
  const imports = new Map<Node, Set<Node>>(); // declaration -> needed specifiers
  const decls = new Map<Node, Set<Node | undefined>>(); // statement -> needed declarators
  const visiting = new Set<Node>();
  const visit = (n: Node, owner: string): void => {
    if (visiting.has(n)) return;
    visiting.add(n);
    for (const id of freeNames(n)) {
      const b = tops.get(id);
      if (!b) {
        if (id in globalThis) continue;
        throw new CodeShippingError(`remote ${kind} \`${name}\` captures local variable \`${id}\`` +
          (owner !== name ? ` (through \`${owner}\`)` : "") + ", which cannot be shipped to workers; " +
          "define it at module top level or pass it as an argument");
      }
      if (b.kind === "import") {
        let s = imports.get(b.node);
        if (!s) imports.set(b.node, (s = new Set()));
        s.add(b.part!);
        continue;
      }
      let s = decls.get(b.node);
      if (!s) decls.set(b.node, (s = new Set()));
      if (s.has(b.part)) continue;
      s.add(b.part);
      const scan = b.part ?? b.node;
      const why = b.part && b.part.type === "VariableDeclarator" && b.part.init ? sideEffect(b.part.init) : undefined;
      if (why) {
        throw new CodeShippingError(`remote ${kind} \`${name}\` uses the top-level variable \`${id}\` of ${mod.file}, whose ` +
          `initializer ${why}; that is driver code and does not run on workers. Pass \`${id}\` to the ${kind} as an argument instead`);
      }
      visit(scan, id);
    }
  };
  visit(node, name);

  // Assemble the synthetic module in source order.
  const parts: string[] = [];
  const js = mod.js;
  for (const stmt of mod.ast.body) {
    if (stmt.type === "ImportDeclaration" && imports.has(stmt)) {
      const needed = imports.get(stmt)!;
      let spec = String(stmt.source.value);
      const r = builder.rewrite(mod.file, spec);
      if (r !== undefined) spec = r;
      const attrs = stmt.attributes?.length ? ` with { ${stmt.attributes.map((a) => js.slice(a.start, a.end)).join(", ")} }` : "";
      const def = [...needed].find((s) => s.type === "ImportDefaultSpecifier");
      const ns = [...needed].find((s) => s.type === "ImportNamespaceSpecifier");
      const named = [...needed].filter((s) => s.type === "ImportSpecifier").map((s) => js.slice(s.start, s.end));
      if (def) parts.push(`import ${js.slice(def.start, def.end)} from ${JSON.stringify(spec)}${attrs};`);
      if (ns) parts.push(`import ${js.slice(ns.start, ns.end)} from ${JSON.stringify(spec)}${attrs};`);
      if (named.length) parts.push(`import { ${named.join(", ")} } from ${JSON.stringify(spec)}${attrs};`);
    }
  }
  for (const stmt of mod.ast.body) {
    const decl = stmt.type === "ExportNamedDeclaration" || stmt.type === "ExportDefaultDeclaration" ? stmt.declaration as Node : stmt;
    if (!decl || !decls.has(decl)) continue;
    if (decl.type === "VariableDeclaration") {
      const parts2 = [...decls.get(decl)!].filter((x): x is Node => x !== undefined).sort((a, b) => a.start - b.start);
      parts.push(`${decl.kind} ${parts2.map((d) => js.slice(d.start, d.end)).join(", ")};`);
    } else {
      parts.push(js.slice(decl.start, decl.end));
    }
  }
  parts.push(`export default ${asExpression(src, node)};`);
  const synthetic = parts.join("\n") + "\n";

  const all = [mod.file, ...builder.files.keys()];
  const root = commonDir(all);
  const fnHash = sha256(synthetic).slice(0, 16);
  const entry = path.relative(root, path.join(path.dirname(mod.file), `__stingray_${fnHash}.mjs`));
  const files: Record<string, string> = { [entry]: synthetic };
  for (const [f, text] of builder.files) files[path.relative(root, f)] = text;
  const hash = sha256(Object.keys(files).sort().map((k) => `${k}\0${files[k]}`).join("\0"));
  const pkg: CodePackage = { hash, files, nodeModulesDirs: [...builder.nodeModulesDirs].sort() };
  const descriptor: FunctionDescriptor = { id: sha256(`${hash}:${entry}`).slice(0, 32), name, kind, pkgHash: hash, entry };
  const result = { descriptor, pkg };
  described.set(target, result);
  return result;
}
