/**
 * @module gcs/service_discovery
 * Prometheus file-based service discovery: the head keeps `prom_metrics_service_discovery.json`
 * (in its session directory) listing every alive node's metrics endpoint, rewritten atomically
 * whenever a node joins or dies, so a Prometheus started with the generated prometheus.yml
 * scrapes the cluster as it changes.
 */
import fs from "node:fs";
import type { NodeInfo } from "../protocol/messages.ts";
import { serviceDiscovery } from "../metrics/config_files.ts";

export function writeServiceDiscovery(file: string, nodes: NodeInfo[]): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(serviceDiscovery(nodes), null, 2) + "\n");
  fs.renameSync(tmp, file);
}
