/**
 * @module launcher/providers/sdk
 * What the cloud providers share: loading their optional SDK with an error that says which
 * package to install, and reading optional string keys of a provider config.
 */
import { ProviderError } from "../../common/errors.ts";

/** `load()` is the provider's own `import("<pkg>")` (a literal, so its types are kept). */
export async function optionalSdk<T>(providerType: string, pkg: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    throw new ProviderError(`provider.type ${providerType} needs the npm package ${pkg}, which is not installed: run \`npm install ${pkg}\``, { cause: e });
  }
}

/** A non-empty string, else undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}
