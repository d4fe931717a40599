/**
 * @module web_ui/pages/Overview
 * The cluster at a glance: headline figures with their recent trend, resource use against
 * capacity, pending demands, tasks/actors/jobs by state, the nodes, and the latest jobs.
 */
import { useMemo, type ReactNode } from "react";
import { TASK_STATES, type ClusterStatus, type MetricName, type MetricsHistory } from "../../../dashboard/api_types.ts";
import { matchingCount } from "../api.ts";
import { Sparkline } from "../components/Chart.tsx";
import { Badge, Card, Empty, ErrorBanner, Stat, StateBar, StateCounts } from "../components/ui.tsx";
import { useClusterStatus, useJobs, useMetrics, useNodes } from "../data.ts";
import { ago, bytes, compact, count, duration, formatResources } from "../format.ts";
import { href, useNow } from "../hooks.ts";
import { ACTOR_STATES } from "./Actors.tsx";
import { JOB_STATUSES, jobDuration, jobKey } from "./Jobs.tsx";
import { COLORS } from "./Metrics.tsx";
import { ResourceBars } from "./NodeDetail.tsx";
import { NodesTable } from "./Nodes.tsx";

function sum(r: Partial<Record<string, number>>): number { return Object.values(r).reduce<number>((s, v) => s + (v ?? 0), 0); }

function series(h: MetricsHistory | undefined, m: MetricName): number[] { return h?.series[m]?.slice(-120) ?? []; }

function Headline(p: { status: ClusterStatus; metrics: MetricsHistory | undefined }): ReactNode {
  const s = p.status;
  const cpuTotal = s.resources_total.CPU ?? 0;
  const cpuUsed = cpuTotal - (s.resources_available.CPU ?? cpuTotal);
  const storeTotal = s.resources_total.object_store_memory ?? 0;
  const storeUsed = storeTotal - (s.resources_available.object_store_memory ?? storeTotal);
  const running = s.tasks_by_state.RUNNING ?? 0;
  const pending = (s.tasks_by_state.PENDING_ARGS_AVAIL ?? 0) + (s.tasks_by_state.PENDING_NODE_ASSIGNMENT ?? 0) + (s.tasks_by_state.SUBMITTED_TO_WORKER ?? 0);
  const m = p.metrics;
  return (
    <div className="stats-row">
      <div className="card stat-card">
        <Stat label="Nodes" value={count(s.nodes_alive)} sub={s.nodes_dead ? <span className="error-text">{count(s.nodes_dead)} dead</span> : "all alive"} testId="stat-nodes" />
        <Sparkline values={series(m, "nodes_alive")} color={COLORS.green} />
      </div>
      <div className="card stat-card">
        <Stat label="CPUs in use" value={<>{compact(cpuUsed)}<span className="of"> / {compact(cpuTotal)}</span></>} sub={cpuTotal ? `${Math.round((cpuUsed / cpuTotal) * 100)}% of logical CPUs` : "–"} testId="stat-cpu" />
        <Sparkline values={series(m, "cpu_used")} max={cpuTotal} color={COLORS.blue} />
      </div>
      <div className="card stat-card">
        <Stat label="Tasks running" value={count(running)} sub={`${count(pending)} waiting · ${count(s.tasks_by_state.FAILED ?? 0)} failed`} testId="stat-tasks" />
        <Sparkline values={series(m, "tasks_running")} color={COLORS.blue} />
      </div>
      <div className="card stat-card">
        <Stat label="Actors alive" value={count(s.actors_by_state.ALIVE ?? 0)} sub={`${count(sum(s.actors_by_state))} in total`} testId="stat-actors" />
        <Sparkline values={series(m, "actors_alive")} color={COLORS.violet} />
      </div>
      <div className="card stat-card">
        <Stat label="Object store" value={bytes(storeUsed)} sub={`of ${bytes(storeTotal)}`} testId="stat-store" />
        <Sparkline values={series(m, "object_store_used_bytes")} max={storeTotal} color={COLORS.cyan} />
      </div>
    </div>
  );
}

function RecentJobs(): ReactNode {
  const jobs = useJobs();
  const now = useNow(1000);
  const recent = useMemo(() => (jobs.data ?? []).slice(0, 8), [jobs.data]);
  return (
    <Card title="Recent jobs" actions={<a href="#/jobs" className="small">All jobs →</a>} testId="recent-jobs">
      <ErrorBanner error={jobs.error} what="jobs" />
      {jobs.data && recent.length === 0 && <div className="muted">No jobs yet.</div>}
      <ul className="job-list">
        {recent.map((j) => (
          <li key={jobKey(j)} data-testid="recent-job">
            <a href={href(["jobs", jobKey(j)])} className="job-link">
              <Badge state={j.status} />
              <span className="mono ellipsis job-entry" title={j.entrypoint}>{j.entrypoint || "–"}</span>
              <span className="mono ellipsis muted job-id" title={jobKey(j)}>{jobKey(j)}</span>
              <span className="muted small nowrap job-time">{j.start_time ? ago(j.start_time, now) : ""}</span>
              <span className="muted small nowrap job-dur">{duration(jobDuration(j, now))}</span>
            </a>
          </li>
        ))}
      </ul>
    </Card>
  );
}

export function OverviewPage(): ReactNode {
  const status = useClusterStatus();
  const nodes = useNodes();
  const metrics = useMetrics(5000);
  const s = status.data;
  return (
    <div className="page" data-testid="overview-page">
      <header className="page-head">
        <div>
          <h1>Overview</h1>
          <div className="subtitle">{s ? <>Session <code>{s.session_name}</code> · head {s.head_ip} · Stingray {s.stingray_version}</> : "\u00a0"}</div>
        </div>
      </header>
      <ErrorBanner error={status.error} what="the cluster status" />
      {s && <Headline status={s} metrics={metrics.data} />}
      <div className="grid overview-grid">
        <Card title="Resources" testId="cluster-resources">
          {s ? <ResourceBars total={s.resources_total} available={s.resources_available} /> : status.loading ? <div className="muted">Loading…</div> : null}
          {s && s.demands.length > 0 && (
            <div className="demands">
              <h3>Waiting for resources</h3>
              <ul>
                {s.demands.map((d, i) => (
                  <li key={i} className={d.infeasible ? "error-text" : undefined}>
                    <b>{count(d.count)}×</b> {"{"}{formatResources(d.shape) || "no resources"}{"}"}{d.infeasible && <span className="tag danger">infeasible</span>}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </Card>
        <Card title="Work" testId="cluster-work">
          {s ? (
            <div className="work">
              <div className="work-row">
                <div className="work-head"><span>Tasks</span><a href="#/tasks" className="small">{count(sum(s.tasks_by_state))} →</a></div>
                <StateBar counts={s.tasks_by_state} order={TASK_STATES} height={10} />
                <StateCounts counts={s.tasks_by_state} order={TASK_STATES} hideZero />
              </div>
              <div className="work-row">
                <div className="work-head"><span>Actors</span><a href="#/actors" className="small">{count(sum(s.actors_by_state))} →</a></div>
                <StateBar counts={s.actors_by_state} order={ACTOR_STATES} height={10} />
                <StateCounts counts={s.actors_by_state} order={ACTOR_STATES} hideZero />
              </div>
              <div className="work-row">
                <div className="work-head"><span>Jobs</span><a href="#/jobs" className="small">{count(sum(s.jobs_by_status))} →</a></div>
                <StateBar counts={s.jobs_by_status} order={JOB_STATUSES} height={10} />
                <StateCounts counts={s.jobs_by_status} order={JOB_STATUSES} hideZero />
              </div>
            </div>
          ) : null}
        </Card>
        <RecentJobs />
      </div>
      <Card title={`Nodes${nodes.data ? ` (${count(matchingCount(nodes.data))})` : ""}`} actions={<a href="#/nodes" className="small">Details →</a>} className="flush">
        <ErrorBanner error={nodes.error} what="the node list" />
        {nodes.data && nodes.data.result.length === 0 ? <Empty title="No nodes" /> : (
          <NodesTable nodes={nodes.data?.result ?? []} total={nodes.data ? matchingCount(nodes.data) : undefined} compact loading={nodes.loading} maxHeight={380} />
        )}
      </Card>
    </div>
  );
}
