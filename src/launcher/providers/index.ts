/**
 * @module launcher/providers
 * The provider registry: `provider.type` → a lazily imported ProviderModule, so a cluster on SSH
 * hosts never loads a cloud SDK. `external` loads the user's module named by `provider.module`.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../../common/errors.ts";
import type { ProviderModule } from "../provider.ts";
import type { ProviderConfig } from "../types.ts";

const BUILTIN: Record<string, () => Promise<ProviderModule>> = {
  local: async () => (await import("./local.ts")).default,
  fake_multinode: async () => (await import("./fake_multinode.ts")).default,
  aws: async () => (await import("./aws.ts")).default,
  gcp: async () => (await import("./gcp.ts")).default,
  kubernetes: async () => (await import("./kubernetes.ts")).default,
};

export const PROVIDER_TYPES = [...Object.keys(BUILTIN), "external"] as const;

/** Load the provider module for `provider.type` (relative external modules resolve against `baseDir`). */
export async function loadProviderModule(provider: ProviderConfig, baseDir = process.cwd()): Promise<ProviderModule> {
  if (provider.type === "external") {
    const spec = provider.module;
    if (typeof spec !== "string" || !spec) {
      throw new ConfigError("provider.type is external but provider.module is missing: set it to the file or package that exports the provider");
    }
    const url = spec.startsWith(".") || spec.startsWith("/") ? pathToFileURL(path.resolve(baseDir, spec)).href : spec;
    let mod: Record<string, unknown>;
    try {
      mod = await import(url) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`provider.module "${spec}" could not be imported: ${(e as Error).message}`);
    }
    const m = (mod.default ?? mod.provider ?? mod) as Partial<ProviderModule>;
    if (typeof m.createProvider !== "function") {
      throw new ConfigError(`provider.module "${spec}" must export a ProviderModule (an object with createProvider(providerConfig, ctx)) as default or as "provider"`);
    }
    return m as ProviderModule;
  }
  const load = BUILTIN[provider.type];
  if (!load) throw new ConfigError(`provider.type "${provider.type}" is not known; use one of ${PROVIDER_TYPES.join(", ")}`);
  return load();
}
