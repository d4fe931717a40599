/**
 * @module web_ui/pages/JobDetail
 * One job: status (live), the entrypoint's log as it is written (server-sent events), Stop, its
 * tasks by function and state, and a timeline download.
 */
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { TASK_STATES, type JobDetails, type JobLogEnd, type StateFilter } from "../../../dashboard/api_types.ts";
import { getJson, url } from "../api.ts";
import { LogView, bufferText, useLogBuffer, useLogStream } from "../components/LogView.tsx";
import { Badge, Card, Empty, ErrorBanner, Id, KeyValues, StateBar, StateCounts } from "../components/ui.tsx";
import { useTaskSummary } from "../data.ts";
import { count, dateTime, duration, formatResources } from "../format.ts";
import { href, usePoll, useNow } from "../hooks.ts";
import { StopButton, isTerminal, jobDuration } from "./Jobs.tsx";

function download(name: string, text: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function JobTasks(p: { jobId: string }): ReactNode {
  const filters = useMemo<StateFilter[]>(() => [{ key: "job_id", predicate: "=", value: p.jobId }], [p.jobId]);
  const sum = useTaskSummary(filters);
  const entries = useMemo(() => Object.values(sum.data?.summary ?? {}).sort((a, b) => a.func_or_class_name.localeCompare(b.func_or_class_name)), [sum.data]);
  const totals = useMemo(() => {
    const t: Partial<Record<string, number>> = {};
    for (const e of entries) for (const [k, v] of Object.entries(e.state_counts)) t[k] = (t[k] ?? 0) + (v ?? 0);
    return t;
  }, [entries]);
  return (
    <Card title={`Tasks${sum.data ? ` (${count(sum.data.total_tasks)})` : ""}`}
      actions={<>
        <a className="btn small" href={href(["tasks"], { job: p.jobId })}>Task table</a>
        <a className="btn small" href={url("timeline", {}, { job_id: p.jobId, download: 1 })} download={`timeline-${p.jobId}.json`}>Timeline</a>
      </>}>
      <ErrorBanner error={sum.error} what="the task summary" />
      {sum.data && entries.length === 0 && <div className="muted">No tasks in this job yet.</div>}
      {entries.length > 0 && (
        <>
          <StateCounts counts={totals} order={TASK_STATES} hideZero />
          <div className="func-bars">
            {entries.slice(0, 50).map((e) => {
              const n = Object.values(e.state_counts).reduce((s, v) => s + (v ?? 0), 0);
              return (
                <div className="func-bar" key={e.func_or_class_name + e.type}>
                  <span className="mono ellipsis" title={e.func_or_class_name}>{e.func_or_class_name}</span>
                  <StateBar counts={e.state_counts} order={TASK_STATES} height={10} />
                  <span className="num">{count(n)}</span>
                </div>
              );
            })}
          </div>
        </>
      )}
    </Card>
  );
}

export function JobDetailPage(p: { jobId: string }): ReactNode {
  const job = usePoll((s) => getJson<JobDetails>(url("getJob", { id: p.jobId }), s), `job:${p.jobId}`);
  const now = useNow(1000);
  const [search, setSearch] = useState("");
  const logs = useLogBuffer();
  const tailUrl = url("tailJobLogs", { id: p.jobId });
  const stream = useLogStream(job.error?.status === 404 ? null : tailUrl, logs.append, logs.reset);
  const end = stream.end as JobLogEnd | undefined;
  const refresh = job.refresh;
  useEffect(() => { if (end) refresh(); }, [end, refresh]);

  const j = job.data;
  const live = stream.status === "live" || stream.status === "connecting";
  return (
    <div className="page" data-testid="job-detail-page">
      <header className="page-head">
        <div>
          <div className="crumbs"><a href="#/jobs">Jobs</a> /</div>
          <h1><span className="mono">{p.jobId}</span> {j && <Badge state={j.status} testId="job-status" title={j.message ?? j.status} />}</h1>
          {j && <div className="subtitle">{j.message ?? "\u00a0"}</div>}
        </div>
        <div className="actions">{j && <StopButton job={j} testId="job-stop" onDone={refresh} />}</div>
      </header>
      <ErrorBanner error={job.error?.status === 404 ? undefined : job.error} what="the job" />
      {job.error?.status === 404 && <Empty title="No such job">The cluster has no job <code>{p.jobId}</code>. <a href="#/jobs">All jobs</a></Empty>}
      {j && (
        <div className="grid two">
          <Card title="Job">
            <KeyValues items={[
              ["Entrypoint", <code className="mono wrap">{j.entrypoint || "–"}</code>],
              ["Type", j.type === "SUBMISSION" ? "Submitted job" : "Driver"],
              ["Submission id", <Id id={j.submission_id} n={40} />],
              ["Job id", <Id id={j.job_id} n={40} />],
              ["Started", dateTime(j.start_time)],
              ["Ended", j.end_time ? dateTime(j.end_time) : isTerminal(j.status) ? "–" : "running"],
              ["Duration", duration(jobDuration(j, now))],
              ...(j.error_type ? [["Error type", <span className="error-text">{j.error_type}</span>] as [string, ReactNode]] : []),
              ...(j.driver_exit_code !== null ? [["Exit code", String(j.driver_exit_code)] as [string, string]] : []),
            ]} />
          </Card>
          <Card title="Driver and environment">
            <KeyValues items={[
              ["Driver node", j.driver_node_id ? <a href={href(["nodes", j.driver_node_id])}><Id id={j.driver_node_id} /></a> : "–"],
              ["Driver", j.driver_info ? `pid ${j.driver_info.pid} on ${j.driver_info.node_ip_address}` : "–"],
              ["Resources", formatResources({
                ...(j.entrypoint_num_cpus ? { CPU: j.entrypoint_num_cpus } : {}),
                ...(j.entrypoint_num_gpus ? { GPU: j.entrypoint_num_gpus } : {}),
                ...(j.entrypoint_memory ? { memory: j.entrypoint_memory } : {}),
                ...j.entrypoint_resources,
              }) || "–"],
              ["Working dir", j.runtime_env.working_dir ? <code className="mono wrap">{j.runtime_env.working_dir}</code> : "–"],
              ["Env vars", j.runtime_env.env_vars ? <code className="mono wrap">{Object.keys(j.runtime_env.env_vars).join(", ")}</code> : "–"],
              ...Object.entries(j.metadata).map(([k, v]) => [<span className="mono">{k}</span>, v] as [ReactNode, ReactNode]),
            ]} />
          </Card>
        </div>
      )}
      {j?.job_id && <JobTasks jobId={j.job_id} />}
      <Card title="Log" className="flush" testId="job-log-card"
        actions={<>
          <span className={`live-dot ${live ? "on" : ""}`} data-testid="job-log-status" data-status={stream.status}>
            {stream.status === "live" ? "Live" : stream.status === "connecting" ? "Connecting…" : stream.status === "ended" ? `Ended${end?.status ? ` · ${end.status}` : ""}` : stream.status === "error" ? "Disconnected" : ""}
          </span>
          <input className="filter" type="search" placeholder="Search log…" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search the log" />
          <button type="button" className="btn small" onClick={() => download(`${p.jobId}.log`, bufferText(logs.buffer))}>Download</button>
        </>}>
        {stream.error && <div className="banner warn">{stream.error}</div>}
        <LogView buffer={logs.buffer} version={logs.version} search={search} testId="job-log"
          empty={stream.status === "ended" ? "This job wrote nothing." : "Waiting for output…"} />
      </Card>
    </div>
  );
}
