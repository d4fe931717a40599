/**
 * @module metrics/grafana
 * Grafana configuration a head writes next to prometheus.yml, for seed 003's
 * `grafana-server --config /tmp/stingray/session_latest/metrics/grafana/grafana.ini web`:
 * grafana.ini (bound to 127.0.0.1, no anonymous access), provisioning (the Prometheus data source
 * and a dashboards folder) and five dashboards built from the metrics in definitions.ts. Every
 * panel's query is checked against a live Prometheus by the metrics test.
 */
import fs from "node:fs";
import path from "node:path";

export const DATASOURCE_UID = "stingray-prometheus";

interface Target { expr: string; legend: string }
interface PanelSpec { title: string; kind: "timeseries" | "stat"; unit?: string; targets: Target[] }
export interface DashboardSpec { uid: string; title: string; file: string; panels: PanelSpec[] }

const t = (expr: string, legend = ""): Target => ({ expr, legend });

export const DASHBOARDS: DashboardSpec[] = [
  {
    uid: "stingray-cluster", title: "Stingray: cluster overview", file: "cluster_overview.json", panels: [
      { title: "Nodes alive", kind: "stat", targets: [t('sum(stingray_cluster_nodes{State="ALIVE"})', "nodes")] },
      { title: "CPUs in use", kind: "stat", targets: [t('sum(stingray_resources_total{Name="CPU"}) - sum(stingray_resources_available{Name="CPU"})', "in use")] },
      { title: "Actors alive", kind: "stat", targets: [t('sum(stingray_actors{State="ALIVE"}) or vector(0)', "actors")] },
      { title: "Logical CPUs", kind: "timeseries", targets: [
        t('sum(stingray_resources_total{Name="CPU"})', "total"),
        t('sum(stingray_resources_total{Name="CPU"}) - sum(stingray_resources_available{Name="CPU"})', "in use")] },
      { title: "Tasks finished per second", kind: "timeseries", targets: [t('sum(rate(stingray_tasks{State="FINISHED"}[$__rate_interval]))', "finished/s")] },
      { title: "Object store in use", kind: "timeseries", unit: "bytes", targets: [t('sum(stingray_object_store_memory{Location="MMAP_SHM"})', "in memory")] },
      { title: "RPC requests per second", kind: "timeseries", targets: [t("sum by (Component) (rate(stingray_grpc_server_req_handled_total[$__rate_interval]))", "{{Component}}")] },
      { title: "RPC errors per second", kind: "timeseries", targets: [t("sum by (Component, Method) (rate(stingray_grpc_server_req_failed_total[$__rate_interval]))", "{{Component}} {{Method}}")] },
      { title: "RPC handling time, p99 (ms)", kind: "timeseries", unit: "ms",
        targets: [t("histogram_quantile(0.99, sum by (le, Component) (rate(stingray_grpc_server_req_process_time_ms_bucket[$__rate_interval])))", "{{Component}}")] },
    ],
  },
  {
    uid: "stingray-nodes", title: "Stingray: nodes", file: "nodes.json", panels: [
      { title: "CPU utilisation", kind: "timeseries", unit: "percent", targets: [t("stingray_node_cpu_utilization", "{{NodeAddress}}")] },
      { title: "Memory in use", kind: "timeseries", unit: "percentunit", targets: [t("stingray_node_mem_used / stingray_node_mem_total", "{{NodeAddress}}")] },
      { title: "Disk in use", kind: "timeseries", unit: "bytes", targets: [t("stingray_node_disk_usage", "{{NodeAddress}}")] },
      { title: "Network received", kind: "timeseries", unit: "Bps", targets: [t("rate(stingray_node_network_received[$__rate_interval])", "{{NodeAddress}}")] },
      { title: "Network sent", kind: "timeseries", unit: "Bps", targets: [t("rate(stingray_node_network_sent[$__rate_interval])", "{{NodeAddress}}")] },
      { title: "Workers", kind: "timeseries", targets: [t("sum by (NodeAddress, State) (stingray_workers)", "{{NodeAddress}} {{State}}")] },
      { title: "Load average (1 min)", kind: "timeseries", targets: [t("stingray_node_load1", "{{NodeAddress}}")] },
    ],
  },
  {
    uid: "stingray-tasks", title: "Stingray: tasks and actors", file: "tasks_and_actors.json", panels: [
      { title: "Tasks by state", kind: "timeseries", targets: [t("sum by (State) (stingray_tasks)", "{{State}}")] },
      { title: "Finished tasks by function", kind: "timeseries", targets: [t('sum by (Name) (stingray_tasks{State="FINISHED"})', "{{Name}}")] },
      { title: "Failed tasks by function", kind: "timeseries", targets: [t('sum by (Name) (stingray_tasks{State="FAILED"})', "{{Name}}")] },
      { title: "Actors by state and class", kind: "timeseries", targets: [t("sum by (State, Name) (stingray_actors)", "{{Name}} {{State}}")] },
      { title: "Pending lease requests", kind: "timeseries", targets: [t("sum by (NodeAddress) (stingray_scheduler_pending_leases)", "{{NodeAddress}}")] },
      { title: "Infeasible demands", kind: "timeseries", targets: [t("sum(stingray_scheduler_infeasible_demands)", "shapes")] },
    ],
  },
  {
    uid: "stingray-objects", title: "Stingray: object store", file: "object_store.json", panels: [
      { title: "Object store by location", kind: "timeseries", unit: "bytes", targets: [t("sum by (NodeAddress, Location) (stingray_object_store_memory)", "{{NodeAddress}} {{Location}}")] },
      { title: "Object store free", kind: "timeseries", unit: "bytes", targets: [t("stingray_object_store_available_memory", "{{NodeAddress}}")] },
      { title: "Objects in node stores", kind: "timeseries", targets: [t("stingray_object_store_num_local_objects", "{{NodeAddress}}")] },
      { title: "Spilled bytes", kind: "timeseries", unit: "bytes", targets: [t("stingray_spill_manager_spilled_bytes", "{{NodeAddress}}")] },
    ],
  },
  {
    uid: "stingray-jobs", title: "Stingray: jobs", file: "jobs.json", panels: [
      { title: "Submitted jobs by status", kind: "timeseries", targets: [t("sum by (Status) (stingray_submitted_jobs)", "{{Status}}")] },
      { title: "Drivers by state", kind: "timeseries", targets: [t("sum by (State) (stingray_jobs)", "{{State}}")] },
      { title: "GCS tables", kind: "timeseries", targets: [t("stingray_gcs_table_size", "{{Table}}")] },
      { title: "Dropped task records", kind: "stat", targets: [t("stingray_gcs_task_events_dropped", "dropped")] },
    ],
  },
];

/** Grafana's JSON model of a dashboard spec. */
export function dashboardJson(d: DashboardSpec): Record<string, unknown> {
  const panels = d.panels.map((p, i) => ({
    id: i + 1, type: p.kind, title: p.title,
    gridPos: p.kind === "stat" ? { x: (i % 4) * 6, y: Math.floor(i / 4) * 4, w: 6, h: 4 } : { x: (i % 2) * 12, y: 8 + Math.floor(i / 2) * 8, w: 12, h: 8 },
    datasource: { type: "prometheus", uid: DATASOURCE_UID },
    fieldConfig: { defaults: p.unit ? { unit: p.unit } : {}, overrides: [] },
    targets: p.targets.map((x, j) => ({ refId: String.fromCharCode(65 + j), expr: x.expr, legendFormat: x.legend, datasource: { type: "prometheus", uid: DATASOURCE_UID } })),
  }));
  return { uid: d.uid, title: d.title, tags: ["stingray"], timezone: "browser", schemaVersion: 37, version: 1, refresh: "10s",
    time: { from: "now-30m", to: "now" }, panels };
}

export function grafanaIni(sessionDir: string): string {
  return [
    `; Written by Stingray for ${path.basename(sessionDir)}. Run Grafana with:`,
    `;   grafana-server --config ${path.join(sessionDir, "metrics", "grafana", "grafana.ini")} web`,
    "[server]",
    "; Only this host. To open Grafana to others, set http_addr = 0.0.0.0 and change the admin password first.",
    "http_addr = 127.0.0.1",
    "http_port = 3000",
    "[auth.anonymous]",
    "enabled = false",
    "[paths]",
    `provisioning = ${path.join(sessionDir, "metrics", "grafana", "provisioning")}`,
    "",
  ].join("\n");
}

/** Write grafana.ini, the provisioning files and the dashboards. */
export function writeGrafanaConfig(sessionDir: string, prometheusUrl: string): void {
  const root = path.join(sessionDir, "metrics", "grafana");
  const prov = path.join(root, "provisioning");
  const dashDir = path.join(root, "dashboards");
  for (const d of [path.join(prov, "datasources"), path.join(prov, "dashboards"), dashDir]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(root, "grafana.ini"), grafanaIni(sessionDir));
  fs.writeFileSync(path.join(prov, "datasources", "stingray.yml"), [
    "apiVersion: 1", "datasources:", "  - name: Prometheus", "    type: prometheus", `    uid: ${DATASOURCE_UID}`,
    "    access: proxy", `    url: ${prometheusUrl}`, "    isDefault: true", "",
  ].join("\n"));
  fs.writeFileSync(path.join(prov, "dashboards", "stingray.yml"), [
    "apiVersion: 1", "providers:", "  - name: Stingray", "    folder: Stingray", "    type: file", "    options:", `      path: ${dashDir}`, "",
  ].join("\n"));
  for (const d of DASHBOARDS) fs.writeFileSync(path.join(dashDir, d.file), JSON.stringify(dashboardJson(d), null, 2) + "\n");
}
