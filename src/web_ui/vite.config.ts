/**
 * @module web_ui/vite.config
 * Builds the dashboard's single-page app (app/) into build/web_ui/ at the repo root, which the
 * dashboard server serves (dashboard/static.ts). Asset names carry a content hash, so the server
 * can cache them forever; index.html is revalidated. `npm run dev:ui` serves it with hot reload and
 * forwards /api to a running dashboard (STINGRAY_DASHBOARD, default http://127.0.0.1:8265).
 */
import path from "node:path";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const here = import.meta.dirname;

export default defineConfig({
  root: here,
  base: "/",
  plugins: [react()],
  build: {
    outDir: path.join(here, "..", "..", "build", "web_ui"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 600,
    assetsInlineLimit: 0,
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
  server: {
    proxy: { "/api": { target: process.env.STINGRAY_DASHBOARD ?? "http://127.0.0.1:8265", changeOrigin: false } },
  },
});
