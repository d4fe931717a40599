/**
 * @module worker/code
 * Shipping user functions and classes to workers (see describe.ts for the design).
 */
export { describeRemote, type FunctionDescriptor, type CodePackage } from "./describe.ts";
export { loadRemote } from "./load.ts";
export { callerModuleUrl } from "./source.ts";
