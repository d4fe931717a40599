/**
 * @module worker/code
 * Shipping user functions and classes to workers, like Ray's remote functions: the driver
 * describes a target as a content-addressed code package (a synthetic module holding only what
 * the target uses, plus its local import closure), workers unpack and import it without ever
 * re-running the driver script. See describe.ts (driver side), load.ts (worker side),
 * analysis.ts (free identifiers, checks), package.ts (import closure), source.ts (reading and
 * parsing modules) and stack.ts (finding the caller module).
 */
export { describeRemote, type CodePackage, type Described, type FunctionDescriptor } from "./describe.ts";
export { loadRemote } from "./load.ts";
export { callerModuleUrl } from "./stack.ts";
