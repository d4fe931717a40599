import { test } from "node:test";
import assert from "node:assert/strict";
import { optionalSdk, str } from "../../src/launcher/providers/sdk.ts";
import { ProviderError } from "../../src/common/errors.ts";

test("a missing cloud SDK is a ProviderError naming the package to install", async () => {
  await assert.rejects(optionalSdk("aws", "@aws-sdk/client-ec2", () => import("stingray-no-such-package" as string)),
    (e: Error) => e instanceof ProviderError && e.message.includes("provider.type aws needs the npm package @aws-sdk/client-ec2") &&
      e.message.includes("npm install @aws-sdk/client-ec2"));
  assert.equal(await optionalSdk("x", "y", async () => 42), 42);
  assert.equal(str(""), undefined);
  assert.equal(str(3), undefined);
  assert.equal(str("a"), "a");
});
