/**
 * @module worker/function_manager
 * Bridges code shipping (worker/code) and the GCS: the driver describes a remote function or
 * class once, uploads its content-addressed code package to the GCS KV store (namespace "code",
 * once per package per cluster), and workers fetch, unpack and import it on first use. Results
 * are cached on both sides, so after the first call a task costs no code traffic at all.
 */
import path from "node:path";
import { Packr } from "msgpackr";
import { describeRemote, loadRemote, type CodePackage, type FunctionDescriptor } from "./code/index.ts";
import type { Connection } from "../protocol/connection.ts";
import { CodeShippingError } from "../common/errors.ts";

const codec = new Packr({ useRecords: false });

/**
 * Stingray's own remote classes (Ray's internal actors, such as the job supervisor): shipped by
 * name, not as code. A worker imports them from its own copy of Stingray, and only these.
 */
export const BUILTIN_PACKAGE = "builtin";
const BUILTINS: Record<string, string> = {
  JobSupervisor: "../dashboard/job_supervisor.ts",
};

/** The descriptor of a built-in class, for `CoreWorker.createActor`. */
export function builtinClass(name: keyof typeof BUILTINS & string): Described {
  if (!BUILTINS[name]) throw new CodeShippingError(`no built-in class ${name}`);
  return { descriptor: { id: `builtin:${name}`, name, kind: "class", pkgHash: BUILTIN_PACKAGE, entry: name }, uploaded: undefined };
}

async function loadBuiltin(d: FunctionDescriptor): Promise<unknown> {
  const rel = Object.hasOwn(BUILTINS, d.entry) ? BUILTINS[d.entry] : undefined;
  if (!rel) throw new CodeShippingError(`${d.entry} is not one of Stingray's built-in classes`);
  const mod = await import(new URL(rel, import.meta.url).href) as Record<string, unknown>;
  return mod[d.entry];
}

export interface Described {
  descriptor: FunctionDescriptor;
  /** Resolves when the package is in the GCS; undefined once it is. */
  uploaded: Promise<void> | undefined;
}

export class FunctionManager {
  private uploads = new Map<string, Promise<void> | undefined>();
  private loaded = new Map<string, Promise<unknown>>();
  private gcs: Connection;
  private cacheDir: string;

  constructor(gcs: Connection, sessionDir: string) {
    this.gcs = gcs;
    this.cacheDir = path.join(sessionDir, "runtime_resources", "code");
  }

  /** Driver side: describe `target` and make sure its package reaches the GCS. */
  describe(target: Function, callerUrl: string | undefined): Described {
    const { descriptor, pkg } = describeRemote(target, callerUrl);
    if (!this.uploads.has(pkg.hash)) {
      const p = this.gcs.request("gcs.KvPut", { ns: "code", key: pkg.hash, value: codec.pack(pkg), overwrite: false })
        .then(() => { this.uploads.set(pkg.hash, undefined); });
      this.uploads.set(pkg.hash, p);
    }
    return { descriptor, uploaded: this.uploads.get(pkg.hash) };
  }

  /** Worker side: the function or class for a descriptor. */
  load(d: FunctionDescriptor): Promise<unknown> {
    let p = this.loaded.get(d.id);
    if (!p) {
      p = d.pkgHash === BUILTIN_PACKAGE ? loadBuiltin(d) : (async () => {
        const { value } = await this.gcs.request("gcs.KvGet", { ns: "code", key: d.pkgHash });
        if (!value) throw new CodeShippingError(`code package ${d.pkgHash} for ${d.name} is not in the GCS; was the driver's cluster restarted?`);
        const pkg = codec.unpack(value) as CodePackage;
        return loadRemote(d, pkg, this.cacheDir);
      })();
      p.then((f) => this.ready.set(d.id, f), () => this.loaded.delete(d.id));
      this.loaded.set(d.id, p);
    }
    return p;
  }

  /** The function or class for a descriptor if it has finished loading, else undefined. */
  loadedNow(d: FunctionDescriptor): unknown {
    return this.ready.get(d.id);
  }
  private ready = new Map<string, unknown>();
}
