import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { providerConformance } from "../helpers/provider_conformance.ts";
import { loadProviderModule } from "../../src/launcher/providers/index.ts";
import { ConfigError } from "../../src/common/errors.ts";

// `provider: {type: external, module: ./my_provider.ts}` as the launcher loads it (relative to
// the config's directory): the shipped example module passes the conformance suite, and bad
// module settings are ConfigErrors that say what to fix.
const EXAMPLE_DIR = path.resolve(import.meta.dirname, "../../examples/cluster/external");

providerConformance("external (examples/cluster/external/my_provider.ts)", async ({ clusterName }) => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "external-conf-"));
  const mod = await loadProviderModule({ type: "external", module: "./my_provider.ts" }, EXAMPLE_DIR);
  const provider = await mod.createProvider({ type: "external", module: "./my_provider.ts", state_file_prefix: "conf" },
    { clusterName, onHead: false, stateDir, log: () => {} });
  return { provider, nodeConfig: { size: "small" }, teardown: async () => { fs.rmSync(stateDir, { recursive: true, force: true }); } };
});

test("external: a missing module key, an unloadable module, a module without createProvider", async () => {
  await assert.rejects(loadProviderModule({ type: "external" }), (e: Error) => e instanceof ConfigError && /provider\.module is missing/.test(e.message));
  await assert.rejects(loadProviderModule({ type: "external", module: "./nope.ts" }, EXAMPLE_DIR),
    (e: Error) => e instanceof ConfigError && /could not be imported/.test(e.message));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "external-bad-"));
  fs.writeFileSync(path.join(dir, "bad.mjs"), "export default { hello: 1 };\n");
  await assert.rejects(loadProviderModule({ type: "external", module: "./bad.mjs" }, dir),
    (e: Error) => e instanceof ConfigError && /must export a ProviderModule/.test(e.message));
  fs.rmSync(dir, { recursive: true, force: true });
});
