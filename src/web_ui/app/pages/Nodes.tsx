/**
 * @module web_ui/pages/Nodes
 * Every node with its live figures: CPU (physical use and logical CPUs taken), memory, object
 * store, disk and workers. A row opens the node's page.
 */
import { useMemo, type ReactNode } from "react";
import type { NodeState } from "../../../dashboard/api_types.ts";
import { matchingCount } from "../api.ts";
import { DataTable, type Column } from "../components/DataTable.tsx";
import { Badge, ErrorBanner, Id, UsageBar } from "../components/ui.tsx";
import { useNodes } from "../data.ts";
import { bytes, compact, count, duration, percent } from "../format.ts";
import { navigate, useNow } from "../hooks.ts";

function frac(used: number | undefined, total: number | undefined): number | null {
  return used !== undefined && total ? used / total : null;
}

export function logicalUsed(n: NodeState, r: string): number {
  return (n.resources_total[r] ?? 0) - (n.resources_available[r] ?? 0);
}

export function nodeColumns(now: number, compactView = false): Column<NodeState>[] {
  const cols: Column<NodeState>[] = [
    {
      id: "node", header: "Node", width: compactView ? 200 : 230,
      sort: (n) => `${n.is_head_node ? 0 : 1}${n.node_name || n.node_ip}`,
      text: (n) => `${n.node_name} ${n.node_ip} ${n.node_id} ${n.is_head_node ? "head" : ""}`,
      render: (n) => (
        <div className="cell-stack">
          <span className="strong">{n.node_name || n.node_ip}{n.is_head_node && <span className="tag">head</span>}</span>
          <span className="muted small"><Id id={n.node_id} n={8} /> · {n.node_ip}</span>
        </div>
      ),
    },
    { id: "state", header: "State", width: 96, sort: (n) => n.state, render: (n) => <Badge state={n.state} /> },
    {
      id: "cpu", header: "CPU", title: "Physical CPU use; logical CPUs taken by tasks and actors below", align: "left",
      sort: (n) => n.stats?.cpu_utilization ?? null,
      render: (n) => n.stats ? (
        <UsageBar compact used={n.stats.cpu_utilization} total={1}
          label={percent(n.stats.cpu_utilization)} detail={`${compact(logicalUsed(n, "CPU"))}/${compact(n.resources_total.CPU ?? n.stats.cpu_count)} CPU`} />
      ) : <span className="muted">–</span>,
    },
    {
      id: "mem", header: "Memory", sort: (n) => frac(n.stats?.mem_used_bytes, n.stats?.mem_total_bytes),
      render: (n) => n.stats ? (
        <UsageBar compact used={n.stats.mem_used_bytes} total={n.stats.mem_total_bytes}
          label={percent(frac(n.stats.mem_used_bytes, n.stats.mem_total_bytes))} detail={`${bytes(n.stats.mem_used_bytes)} / ${bytes(n.stats.mem_total_bytes)}`} />
      ) : <span className="muted">–</span>,
    },
    {
      id: "store", header: "Object store", sort: (n) => n.stats?.object_store_used_bytes ?? null,
      render: (n) => n.stats ? (
        <UsageBar compact used={n.stats.object_store_used_bytes} total={n.stats.object_store_capacity_bytes}
          label={bytes(n.stats.object_store_used_bytes)} detail={`of ${bytes(n.stats.object_store_capacity_bytes)} · ${count(n.stats.num_objects)} obj`} />
      ) : <span className="muted">–</span>,
    },
  ];
  if (!compactView) {
    cols.push({
      id: "disk", header: "Disk", width: 150, sort: (n) => frac(n.stats?.disk_used_bytes, n.stats?.disk_total_bytes),
      render: (n) => n.stats && n.stats.disk_total_bytes > 0 ? (
        <UsageBar compact used={n.stats.disk_used_bytes} total={n.stats.disk_total_bytes}
          label={percent(frac(n.stats.disk_used_bytes, n.stats.disk_total_bytes))} detail={bytes(n.stats.disk_total_bytes)} />
      ) : <span className="muted">–</span>,
    });
  }
  cols.push({
    id: "workers", header: "Workers", width: 96, align: "right", sort: (n) => n.stats?.num_workers ?? null,
    render: (n) => n.stats ? <span title={`${n.stats.num_idle_workers} idle`}>{count(n.stats.num_workers)}<span className="muted small"> ({count(n.stats.num_idle_workers)} idle)</span></span> : <span className="muted">–</span>,
  });
  if (!compactView) {
    cols.push(
      { id: "load", header: "Load", width: 110, align: "right", sort: (n) => n.stats?.load_avg[0] ?? null,
        title: "Load average over 1, 5 and 15 minutes",
        render: (n) => n.stats ? <span className="mono small">{n.stats.load_avg.map((v) => v.toFixed(2)).join(" ")}</span> : <span className="muted">–</span> },
      { id: "uptime", header: "Up", width: 90, align: "right", sort: (n) => n.start_time_ms,
        render: (n) => n.state === "ALIVE" ? duration(now - n.start_time_ms) : <span className="muted" title={n.state_message ?? ""}>{n.end_time_ms ? duration(n.end_time_ms - n.start_time_ms) : "–"}</span> },
    );
  }
  return cols;
}

export function NodesTable(p: { nodes: NodeState[]; total?: number; compact?: boolean; loading?: boolean; maxHeight?: number }): ReactNode {
  const now = useNow(5000);
  const columns = useMemo(() => nodeColumns(now, p.compact), [now, p.compact]);
  return (
    <DataTable rows={p.nodes} columns={columns} rowKey={(n) => n.node_id} rowTestId="node-row" testId="nodes-table"
      defaultSort={{ id: "node", desc: false }} total={p.total} loading={p.loading} maxHeight={p.maxHeight}
      onRowClick={(n) => navigate(`#/nodes/${encodeURIComponent(n.node_id)}`)} noFilter={p.compact}
      filterPlaceholder="Filter by name, IP, id…" rowHeight={52} empty="No nodes reported." />
  );
}

export function NodesPage(): ReactNode {
  const nodes = useNodes();
  const alive = nodes.data?.result.filter((n) => n.state === "ALIVE").length ?? 0;
  const dead = (nodes.data?.result.length ?? 0) - alive;
  return (
    <div className="page" data-testid="nodes-page">
      <header className="page-head">
        <div><h1>Nodes</h1><div className="subtitle">{nodes.data ? `${count(alive)} alive${dead ? `, ${count(dead)} dead` : ""}` : "\u00a0"}</div></div>
      </header>
      <ErrorBanner error={nodes.error} what="the node list" />
      {nodes.data?.partial_failure_warning && <div className="banner warn">{nodes.data.partial_failure_warning}</div>}
      <div className="card flush">
        <NodesTable nodes={nodes.data?.result ?? []} total={nodes.data ? matchingCount(nodes.data) : undefined} loading={nodes.loading} maxHeight={720} />
      </div>
    </div>
  );
}
