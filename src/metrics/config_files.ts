/**
 * @module metrics/config_files
 * The monitoring configuration a head writes into its session directory, so that seed 003's flow
 * works unchanged with Stingray's paths:
 *
 *   prometheus --config.file=/tmp/stingray/session_latest/metrics/prometheus/prometheus.yml
 *
 * Prometheus finds the nodes through `prom_metrics_service_discovery.json` (kept current by the
 * GCS) and sends the cluster token from the session's 0600 token file, never inline.
 */
import fs from "node:fs";
import path from "node:path";
import type { NodeInfo } from "../protocol/messages.ts";
import { writeGrafanaConfig } from "./grafana.ts";

export const SD_FILE = "prom_metrics_service_discovery.json";

export function prometheusConfigPath(sessionDir: string): string {
  return path.join(sessionDir, "metrics", "prometheus", "prometheus.yml");
}

export function prometheusConfig(sessionDir: string, o: { allowUnauthenticated: boolean; scrapeIntervalS?: number }): string {
  const interval = `${o.scrapeIntervalS ?? 10}s`;
  const auth = o.allowUnauthenticated ? "" : [
    "    authorization:",
    "      type: Bearer",
    `      credentials_file: ${JSON.stringify(path.join(sessionDir, "auth_token"))}`,
  ].join("\n") + "\n";
  return [
    `# Written by Stingray for ${path.basename(sessionDir)}. Run Prometheus with:`,
    `#   prometheus --config.file=${prometheusConfigPath(sessionDir)}`,
    "global:",
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    "scrape_configs:",
    "  - job_name: stingray",
    auth + "    file_sd_configs:",
    "      - files:",
    `          - ${JSON.stringify(path.join(sessionDir, SD_FILE))}`,
    "        refresh_interval: 5s",
    "",
  ].join("\n");
}

/** Where Grafana's data source and the dashboard's charts find Prometheus (Ray's RAY_PROMETHEUS_HOST). */
export function prometheusUrl(): string {
  return process.env.STINGRAY_PROMETHEUS_HOST || "http://localhost:9090";
}

/** Write the monitoring configuration: Prometheus's, Grafana's, and an empty discovery file until nodes register. */
export function writeMonitoringConfig(sessionDir: string, o: { allowUnauthenticated: boolean }): void {
  const file = prometheusConfigPath(sessionDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, prometheusConfig(sessionDir, o));
  const sd = path.join(sessionDir, SD_FILE);
  if (!fs.existsSync(sd)) fs.writeFileSync(sd, "[]\n");
  writeGrafanaConfig(sessionDir, prometheusUrl());
}

export interface SdTargetGroup { labels: Record<string, string>; targets: string[] }

/** Prometheus service discovery: one target group of `ip:metricsPort` per alive node that exports metrics. */
export function serviceDiscovery(nodes: NodeInfo[]): SdTargetGroup[] {
  const targets = nodes.filter((n) => n.state === "ALIVE" && n.metricsPort).map((n) => `${n.ip}:${n.metricsPort}`).sort();
  // No SessionName target label: every series carries its own (a target label would rename it).
  return [{ labels: { job: "stingray" }, targets }];
}
