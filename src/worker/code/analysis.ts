/**
 * @module worker/code/analysis
 * Static analysis of one module for code shipping (acorn ASTs, periscopic scopes): locating a
 * function or class by its source text, the module's top-level bindings, the free identifiers of
 * a node, the names an enclosing function or block declares (captured locals), the module
 * specifiers a file uses, and the "driver-only" checks (top-level `await`, `init()`).
 */
import type * as acorn from "acorn";
import { analyze, type Scope } from "periscopic";
import type { ModuleSource } from "./source.ts";

export type Node = acorn.AnyNode;
type EstreeNode = Parameters<typeof analyze>[0];

function isNode(x: unknown): x is Node {
  return typeof x === "object" && x !== null && typeof (x as { type?: unknown }).type === "string" &&
    typeof (x as { start?: unknown }).start === "number";
}

/** The child nodes of `n`, in no particular order. */
export function children(n: Node): Node[] {
  const out: Node[] = [];
  for (const [k, v] of Object.entries(n)) {
    if (k === "loc" || k === "range") continue;
    if (Array.isArray(v)) { for (const x of v) if (isNode(x)) out.push(x); }
    else if (isNode(v)) out.push(v);
  }
  return out;
}

/** Node types `Function.prototype.toString` can return the text of. */
const TARGET_TYPES = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression",
  "ClassDeclaration", "ClassExpression", "Property", "MethodDefinition"]);

export interface Located {
  node: Node;
  /** Enclosing nodes, outermost (the Program) first. */
  ancestors: Node[];
}

/**
 * Find the function or class node whose text is exactly `js.slice(start, end)`. Class methods
 * print without `static`, so a MethodDefinition may start a little earlier than `start`.
 */
export function findTarget(ast: acorn.Program, js: string, start: number, end: number): Located | undefined {
  const path: Node[] = [];
  let n: Node | undefined = ast;
  while (n) {
    if (n.end === end && TARGET_TYPES.has(n.type) &&
      (n.start === start || (n.type === "MethodDefinition" && n.static && /^static\s+$/.test(js.slice(n.start, start))))) {
      return { node: n, ancestors: path };
    }
    path.push(n);
    n = children(n).find((c) => c.start <= start && c.end >= end);
  }
  return undefined;
}

export interface TopBinding {
  name: string;
  kind: "import" | "decl";
  /** Imports: the ImportDeclaration. Declarations: the declaration (unwrapped from export). */
  node: Node;
  /** Imports: the specifier. Variables: the declarator. Functions and classes: undefined. */
  part?: Node;
}

/** Names bound by a binding pattern. */
export function patternNames(p: Node): string[] {
  switch (p.type) {
    case "Identifier": return [p.name];
    case "ObjectPattern": return p.properties.flatMap((x) => patternNames(x.type === "RestElement" ? x.argument : x.value));
    case "ArrayPattern": return p.elements.flatMap((x) => (x ? patternNames(x) : []));
    case "RestElement": return patternNames(p.argument);
    case "AssignmentPattern": return patternNames(p.left);
    default: return [];
  }
}

/** The declaration a top-level statement carries (unwrapping `export` and `export default`). */
export function declarationOf(stmt: Node): Node | undefined {
  if (stmt.type === "ExportNamedDeclaration") return stmt.declaration ?? undefined;
  if (stmt.type === "ExportDefaultDeclaration") {
    const d = stmt.declaration;
    return d.type === "FunctionDeclaration" || d.type === "ClassDeclaration" ? d : undefined;
  }
  return stmt;
}

/** The module's top-level bindings: imports, functions, classes, variables (memoized per module). */
export function topBindings(mod: ModuleSource): Map<string, TopBinding> {
  const memo = mod.memo.get("tops");
  if (memo) return memo as Map<string, TopBinding>;
  const m = new Map<string, TopBinding>();
  for (const stmt of mod.ast.body) {
    if (stmt.type === "ImportDeclaration") {
      for (const s of stmt.specifiers) m.set(s.local.name, { name: s.local.name, kind: "import", node: stmt, part: s });
      continue;
    }
    const decl = declarationOf(stmt);
    if (!decl) continue;
    if ((decl.type === "FunctionDeclaration" || decl.type === "ClassDeclaration") && decl.id) {
      m.set(decl.id.name, { name: decl.id.name, kind: "decl", node: decl });
    } else if (decl.type === "VariableDeclaration") {
      for (const d of decl.declarations) {
        for (const name of patternNames(d.id)) m.set(name, { name, kind: "decl", node: decl, part: d });
      }
    }
  }
  mod.memo.set("tops", m);
  return m;
}

/** periscopic's scope of every scope-creating node of the module (memoized per module). */
function moduleScopes(mod: ModuleSource): WeakMap<EstreeNode, Scope> {
  const memo = mod.memo.get("scopes");
  if (memo) return memo as WeakMap<EstreeNode, Scope>;
  const { map } = analyze(mod.ast as unknown as EstreeNode);
  mod.memo.set("scopes", map);
  return map;
}

/**
 * Names declared by the functions, blocks and classes enclosing a located node (not the module
 * scope): a reference to one of them from inside the target is a captured local variable.
 */
export function enclosingDeclarations(mod: ModuleSource, ancestors: Node[]): Set<string> {
  const out = new Set<string>();
  if (ancestors.length <= 1) return out;
  const scopes = moduleScopes(mod);
  for (const a of ancestors) {
    if (a.type === "Program") continue;
    const s = scopes.get(a as unknown as EstreeNode);
    if (s) for (const k of s.declarations.keys()) out.add(k);
    // periscopic does not declare a named class expression's own name inside it.
    if (a.type === "ClassExpression" && a.id) out.add(a.id.name);
  }
  return out;
}

/** Node types that open a scope a function or class may be nested in. */
const SCOPE_TYPES = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression", "ClassDeclaration",
  "ClassExpression", "ClassBody", "StaticBlock", "BlockStatement", "ForStatement", "ForInStatement", "ForOfStatement",
  "CatchClause", "SwitchStatement", "WithStatement"]);

/** Does the located node sit inside a function, class or block (so it may capture locals)? */
export function isNested(ancestors: Node[]): boolean {
  return ancestors.some((a) => SCOPE_TYPES.has(a.type));
}

function namedClassExpressions(n: Node, out: Set<string>): void {
  const stack: Node[] = [n];
  while (stack.length) {
    const x = stack.pop()!;
    if (x.type === "ClassExpression" && x.id) out.add(x.id.name);
    stack.push(...children(x));
  }
}

/**
 * Free identifiers of a function, class or method node: names it reads or writes that it does
 * not declare itself. A method is analysed as the object literal member it is shipped as.
 */
export function freeNames(n: Node): string[] {
  let target: Node = n;
  if (n.type === "Property") {
    target = { type: "ObjectExpression", properties: [n as acorn.Property], start: n.start, end: n.end };
  } else if (n.type === "MethodDefinition") {
    target = { type: "ObjectExpression", start: n.start, end: n.end, properties: [{
      type: "Property", key: n.key as acorn.Expression, value: n.value, kind: n.kind === "get" || n.kind === "set" ? n.kind : "init",
      method: n.kind === "method", shorthand: false, computed: n.computed, start: n.start, end: n.end,
    }] };
  }
  const { globals } = analyze(target as unknown as EstreeNode);
  // periscopic reports a named class expression's own name (used inside it) as free.
  const selfNamed = new Set<string>();
  namedClassExpressions(n, selfNamed);
  return [...globals.keys()].filter((k) => k !== "arguments" && k !== "import" && k !== "new" && !selfNamed.has(k));
}

/**
 * `this`, `arguments`, `super` or `new.target` used by an arrow function target (or arrows in it)
 * outside any function or class of its own: in a nested arrow these belong to the enclosing
 * function, which workers do not have.
 */
export function lexicalCapture(n: Node): string | undefined {
  if (n.type !== "ArrowFunctionExpression") return undefined;
  const stack: Node[] = [n.body];
  while (stack.length) {
    const x = stack.pop()!;
    if (x.type === "ThisExpression") return "this";
    if (x.type === "Super") return "super";
    if (x.type === "Identifier" && x.name === "arguments") return "arguments";
    if (x.type === "MetaProperty" && x.meta.name === "new") return "new.target";
    if (x.type === "FunctionExpression" || x.type === "FunctionDeclaration" || x.type === "ClassExpression" ||
      x.type === "ClassDeclaration") continue;
    if (x.type === "MemberExpression" && !x.computed) { stack.push(x.object); continue; }
    if (x.type === "Property" && !x.computed) { stack.push(x.value); continue; }
    stack.push(...children(x));
  }
  return undefined;
}

/** How a module refers to Stingray: namespace/default locals and named imports of its API. */
export interface StingrayRefs { namespaces: Set<string>; named: Map<string, string> }

/** Visit `n` without entering functions and methods (their bodies do not run at module load). */
function walkEager(n: Node, visit: (x: Node) => string | undefined): string | undefined {
  const stack: Node[] = [n];
  while (stack.length) {
    const x = stack.pop()!;
    const r = visit(x);
    if (r) return r;
    if (x.type === "FunctionExpression" || x.type === "ArrowFunctionExpression" || x.type === "FunctionDeclaration") continue;
    if (x.type === "MethodDefinition" || (x.type === "Property" && (x.method || x.kind !== "init"))) continue;
    stack.push(...children(x));
  }
  return undefined;
}

function calleeName(c: Node): { object?: string; name: string } | undefined {
  if (c.type === "Identifier") return { name: c.name };
  if (c.type === "MemberExpression" && !c.computed && c.property.type === "Identifier") {
    return { object: c.object.type === "Identifier" ? c.object.name : undefined, name: c.property.name };
  }
  if (c.type === "ChainExpression") return calleeName(c.expression);
  return undefined;
}

/** Stingray calls that only make sense in the driver script, not in a worker loading code. */
const DRIVER_ONLY = new Set(["init", "shutdown"]);

/**
 * Why a top-level initializer must not be re-run on workers: it awaits, or it calls
 * `init()`/`shutdown()` (any function of that name, as the driver script's own setup code).
 */
export function driverOnlyInitializer(init: Node): string | undefined {
  return walkEager(init, (x) => {
    if (x.type === "AwaitExpression") return "awaits a value";
    if (x.type === "CallExpression") {
      const c = calleeName(x.callee);
      if (c && DRIVER_ONLY.has(c.name)) return `calls ${c.object ? `${c.object}.` : ""}${c.name}()`;
    }
    return undefined;
  });
}

/**
 * A top-level statement of a shipped file that would start or stop a Stingray driver on every
 * worker that imports the file: a call to Stingray's `init()` or `shutdown()` outside functions.
 */
export function driverOnlyStatement(stmt: Node, refs: StingrayRefs): string | undefined {
  if (stmt.type === "ImportDeclaration" || stmt.type === "FunctionDeclaration" || stmt.type === "ClassDeclaration") return undefined;
  return walkEager(stmt, (x) => {
    if (x.type !== "CallExpression") return undefined;
    const c = calleeName(x.callee);
    if (!c) return undefined;
    if (c.object !== undefined && refs.namespaces.has(c.object) && DRIVER_ONLY.has(c.name)) return `${c.object}.${c.name}()`;
    if (c.object === undefined) {
      const imported = refs.named.get(c.name);
      if (imported && DRIVER_ONLY.has(imported)) return `${c.name}()`;
    }
    return undefined;
  });
}

/** The variable a write target (`x`, `x.y[z]`, `[a, b]`) changes. */
function writtenNames(target: Node): string[] {
  let t = target;
  while (t.type === "MemberExpression") t = t.object;
  if (t.type === "ChainExpression") return writtenNames(t.expression);
  return t.type === "Identifier" ? [t.name] : patternNames(t);
}

/**
 * A write, by top-level code outside functions, to one of `names` (`x = ...`, `x += ...`,
 * `x++`, `x.y = ...`, `delete x.y`): such code is not shipped, so workers would not see it.
 */
export function topLevelWrite(stmt: Node, names: Set<string>): { name: string; at: number } | undefined {
  let found: { name: string; at: number } | undefined;
  walkEager(stmt, (x) => {
    let targets: string[] = [];
    if (x.type === "AssignmentExpression") targets = writtenNames(x.left);
    else if (x.type === "UpdateExpression") targets = writtenNames(x.argument);
    else if (x.type === "UnaryExpression" && x.operator === "delete") targets = writtenNames(x.argument);
    else if ((x.type === "ForOfStatement" || x.type === "ForInStatement") && x.left.type !== "VariableDeclaration") targets = writtenNames(x.left);
    const hit = targets.find((t) => names.has(t));
    if (hit) found = { name: hit, at: x.start };
    return hit;
  });
  return found;
}

export interface SpecifierRef {
  /** Position of the string literal (quotes included) in the module text. */
  start: number;
  end: number;
  value: string;
}

/**
 * Every static module specifier of a file: import/export declarations, `import("literal")`,
 * and `require("literal")` (CommonJS files, createRequire).
 */
export function moduleSpecifiers(mod: ModuleSource): SpecifierRef[] {
  const memo = mod.memo.get("specifiers");
  if (memo) return memo as SpecifierRef[];
  const out: SpecifierRef[] = [];
  const lit = (n: Node | null | undefined): void => {
    if (!n) return;
    if (n.type === "Literal" && typeof n.value === "string") out.push({ start: n.start, end: n.end, value: n.value });
    else if (n.type === "TemplateLiteral" && n.expressions.length === 0 && n.quasis.length === 1) {
      const cooked = n.quasis[0]!.value.cooked;
      if (typeof cooked === "string") out.push({ start: n.start, end: n.end, value: cooked });
    }
  };
  const stack: Node[] = [mod.ast];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.type === "ImportDeclaration" || n.type === "ExportAllDeclaration") lit(n.source);
    else if (n.type === "ExportNamedDeclaration") lit(n.source);
    else if (n.type === "ImportExpression") lit(n.source);
    else if (n.type === "CallExpression" && n.callee.type === "Identifier" && n.callee.name === "require" && n.arguments.length === 1) {
      lit(n.arguments[0] as Node);
    }
    stack.push(...children(n));
  }
  out.sort((a, b) => a.start - b.start);
  mod.memo.set("specifiers", out);
  return out;
}
