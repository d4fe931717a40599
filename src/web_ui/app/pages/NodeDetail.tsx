/**
 * @module web_ui/pages/NodeDetail
 * One node: its live figures, logical resources, labels, and its worker processes.
 */
import { useMemo, type ReactNode } from "react";
import type { NodeState, WorkerState } from "../../../dashboard/api_types.ts";
import { matchingCount } from "../api.ts";
import { DataTable, type Column } from "../components/DataTable.tsx";
import { Badge, Card, Empty, ErrorBanner, Id, KeyValues, UsageBar } from "../components/ui.tsx";
import { useNodes, useWorkers } from "../data.ts";
import { bytes, count, dateTime, duration, isDisplayResource, percent, resourceAmount, resourceLabel, resourceOrder } from "../format.ts";
import { href, useNow } from "../hooks.ts";

export function ResourceBars(p: { total: Record<string, number>; available: Record<string, number> }): ReactNode {
  const names = Object.keys(p.total).filter((r) => isDisplayResource(r) && (p.total[r] ?? 0) > 0).sort(resourceOrder);
  if (names.length === 0) return <div className="muted">No resources reported.</div>;
  return (
    <div className="resource-bars">
      {names.map((r) => {
        const total = p.total[r] ?? 0;
        const used = total - (p.available[r] ?? total);
        return <UsageBar key={r} used={used} total={total} label={resourceLabel(r)} detail={`${resourceAmount(r, used)} / ${resourceAmount(r, total)}`} />;
      })}
    </div>
  );
}

function workerColumns(now: number): Column<WorkerState>[] {
  return [
    { id: "pid", header: "PID", width: 90, sort: (w) => w.pid, render: (w) => <span className="mono">{w.pid}</span> },
    { id: "type", header: "Type", width: 100, sort: (w) => w.worker_type, render: (w) => <Badge state={w.worker_type} /> },
    { id: "state", header: "State", width: 110, sort: (w) => w.state, render: (w) => <Badge state={w.state} /> },
    { id: "alive", header: "Alive", width: 80, sort: (w) => w.is_alive, render: (w) => (w.is_alive ? "yes" : <span className="muted">no</span>) },
    { id: "job", header: "Job", width: 120, sort: (w) => w.job_id, render: (w) => <Id id={w.job_id} /> },
    { id: "actor", header: "Actor", sort: (w) => w.actor_id, render: (w) => w.actor_id ? <a href={href(["actors"], { actor: w.actor_id })}><Id id={w.actor_id} /></a> : <span className="muted">–</span> },
    { id: "worker", header: "Worker id", sort: (w) => w.worker_id, render: (w) => <Id id={w.worker_id} /> },
    { id: "up", header: "Up", width: 100, align: "right", sort: (w) => w.start_time_ms, render: (w) => duration(now - w.start_time_ms) },
  ];
}

export function NodeDetailPage(p: { nodeId: string }): ReactNode {
  const nodes = useNodes();
  const workers = useWorkers(p.nodeId);
  const now = useNow(5000);
  const columns = useMemo(() => workerColumns(now), [now]);
  const node: NodeState | undefined = nodes.data?.result.find((n) => n.node_id === p.nodeId);
  const s = node?.stats;
  return (
    <div className="page" data-testid="node-detail-page">
      <header className="page-head">
        <div>
          <div className="crumbs"><a href="#/nodes">Nodes</a> /</div>
          <h1>{node ? (node.node_name || node.node_ip) : <Id id={p.nodeId} n={16} />} {node && <Badge state={node.state} />} {node?.is_head_node && <span className="tag">head</span>}</h1>
        </div>
        <div className="actions"><a className="btn" href={href(["logs"], { node: p.nodeId })}>Logs</a></div>
      </header>
      <ErrorBanner error={nodes.error} what="the node list" />
      {nodes.data && !node && <Empty title="No such node">The cluster does not list a node with id <code>{p.nodeId}</code>.</Empty>}
      {node && (
        <div className="grid two">
          <Card title="Node">
            <KeyValues items={[
              ["Node id", <code className="id wrap">{node.node_id}</code>],
              ["Address", node.node_ip],
              ["Started", dateTime(node.start_time_ms)],
              ["Up", node.state === "ALIVE" ? duration(now - node.start_time_ms) : node.end_time_ms ? `ended ${dateTime(node.end_time_ms)}` : "–"],
              ...(node.state_message ? [["Message", node.state_message] as [string, string]] : []),
              ...Object.entries(node.labels).map(([k, v]) => [<span className="mono">{k}</span>, v] as [ReactNode, ReactNode]),
            ]} />
          </Card>
          <Card title="Live usage">
            {s ? (
              <div className="resource-bars">
                <UsageBar used={s.cpu_utilization} total={1} label={`CPU (${s.cpu_count} cores)`} detail={`${percent(s.cpu_utilization)} · load ${s.load_avg.map((v) => v.toFixed(2)).join(" ")}`} />
                <UsageBar used={s.mem_used_bytes} total={s.mem_total_bytes} label="Memory" detail={`${bytes(s.mem_used_bytes)} / ${bytes(s.mem_total_bytes)}`} />
                <UsageBar used={s.object_store_used_bytes} total={s.object_store_capacity_bytes} label="Object store" detail={`${bytes(s.object_store_used_bytes)} / ${bytes(s.object_store_capacity_bytes)} · ${count(s.num_objects)} objects`} />
                {s.disk_total_bytes > 0 && <UsageBar used={s.disk_used_bytes} total={s.disk_total_bytes} label="Disk" detail={`${bytes(s.disk_used_bytes)} / ${bytes(s.disk_total_bytes)}`} />}
              </div>
            ) : <div className="muted">No live figures from this node.</div>}
          </Card>
          <Card title="Logical resources" className="span-2">
            <ResourceBars total={node.resources_total} available={node.resources_available} />
          </Card>
        </div>
      )}
      <Card title={`Workers${workers.data ? ` (${count(matchingCount(workers.data))})` : ""}`} className="flush">
        <ErrorBanner error={workers.error} what="the worker list" />
        <DataTable rows={workers.data?.result ?? []} columns={columns} rowKey={(w) => w.worker_id} rowTestId="worker-row"
          defaultSort={{ id: "pid", desc: false }} total={workers.data ? matchingCount(workers.data) : undefined} loading={workers.loading}
          filterPlaceholder="Filter by PID, job, actor…" empty="No workers on this node." />
      </Card>
    </div>
  );
}
