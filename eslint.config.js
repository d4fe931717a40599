// Lint: typescript-eslint with type information, so floating promises and unsafe patterns are caught.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "scratch/**", "dist/**", "**/build/**", "test/fixtures/**"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": ["error", {
        allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "it", "describe", "suite"] }],
      }],
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-unsafe-function-type": "off",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    // Type-level tests hold values only to inspect their types.
    files: ["test/types/**/*.ts"],
    rules: { "@typescript-eslint/no-unused-vars": "off" },
  },
);
