/**
 * @module web_ui/pages/Jobs
 * Submitted jobs and drivers, newest first: status, entrypoint, duration, and Stop for the ones
 * still running. A row opens the job (live log, tasks).
 */
import { useMemo, useState, type MouseEvent, type ReactNode } from "react";
import { TERMINAL_JOB_STATUSES, type JobDetails, type JobStatus, type JobStopResponse } from "../../../dashboard/api_types.ts";
import { call, url } from "../api.ts";
import { DataTable, type Column } from "../components/DataTable.tsx";
import { Badge, ErrorBanner, Id, StateCounts } from "../components/ui.tsx";
import { useJobs } from "../data.ts";
import { ago, count, dateTime, duration } from "../format.ts";
import { href, navigate, useHashParam, useNow } from "../hooks.ts";

export const JOB_STATUSES: readonly JobStatus[] = ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "STOPPED"];

/** The id the job routes take: the submission id when there is one, else the driver's job id. */
export function jobKey(j: JobDetails): string { return j.submission_id ?? j.job_id ?? ""; }

export function isTerminal(s: JobStatus): boolean { return TERMINAL_JOB_STATUSES.includes(s); }

export function jobDuration(j: JobDetails, now: number): number | null {
  if (!j.start_time) return null;
  return (j.end_time ?? (isTerminal(j.status) ? j.start_time : now)) - j.start_time;
}

/** Stop button with its own busy/error state. */
export function StopButton(p: { job: JobDetails; testId: string; onDone?: () => void; small?: boolean }): ReactNode {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  if (isTerminal(p.job.status) || p.job.type !== "SUBMISSION") return null;
  const stop = (e: MouseEvent): void => {
    e.stopPropagation();
    setBusy(true);
    setError("");
    call<JobStopResponse>("stopJob", { id: jobKey(p.job) })
      .then(() => p.onDone?.())
      .catch((err: unknown) => setError((err as Error).message))
      .finally(() => setBusy(false));
  };
  return (
    <span className="stop-wrap">
      <button type="button" className={`btn danger ${p.small ? "small" : ""}`} onClick={stop} disabled={busy} data-testid={p.testId}
        title="Stop this job (its driver process is killed)">{busy ? "Stopping…" : "Stop"}</button>
      {error && <span className="error-text small" role="alert" title={error}>{error}</span>}
    </span>
  );
}

function jobColumns(now: number, refresh: () => void): Column<JobDetails>[] {
  return [
    {
      id: "id", header: "Job", width: 230, sort: (j) => jobKey(j), text: (j) => `${j.submission_id ?? ""} ${j.job_id ?? ""}`,
      render: (j) => (
        <div className="cell-stack">
          <a href={href(["jobs", jobKey(j)])} className="strong mono" onClick={(e) => e.stopPropagation()}>{jobKey(j)}</a>
          <span className="muted small">{j.type === "DRIVER" ? "driver" : j.job_id ? `job ${j.job_id}` : "not started"}</span>
        </div>
      ),
    },
    { id: "status", header: "Status", width: 120, sort: (j) => JOB_STATUSES.indexOf(j.status), text: (j) => j.status,
      render: (j) => <Badge state={j.status} testId="job-status" title={j.message ?? j.status} /> },
    { id: "entrypoint", header: "Entrypoint", sort: (j) => j.entrypoint,
      render: (j) => <code className="mono ellipsis" title={j.entrypoint}>{j.entrypoint || <span className="muted">–</span>}</code> },
    { id: "message", header: "Message", sort: (j) => j.message,
      render: (j) => <span className={j.status === "FAILED" ? "error-text" : "muted"} title={j.message ?? ""}>{j.message ?? ""}</span> },
    { id: "start", header: "Started", width: 120, align: "right", sort: (j) => j.start_time,
      render: (j) => <span title={dateTime(j.start_time)}>{ago(j.start_time, now)}</span> },
    { id: "duration", header: "Duration", width: 100, align: "right", sort: (j) => jobDuration(j, now), render: (j) => duration(jobDuration(j, now)) },
    { id: "actions", header: "", width: 90, align: "right", render: (j) => <StopButton job={j} testId="job-row-stop" small onDone={refresh} /> },
  ];
}

export function JobsPage(): ReactNode {
  const jobs = useJobs();
  const now = useNow(1000);
  const [status, setStatus] = useHashParam("status");
  const columns = useMemo(() => jobColumns(now, jobs.refresh), [now, jobs.refresh]);
  const all = jobs.data;
  const counts = useMemo(() => {
    const c: Partial<Record<JobStatus, number>> = {};
    for (const j of all ?? []) c[j.status] = (c[j.status] ?? 0) + 1;
    return c;
  }, [all]);
  const rows = useMemo(() => (status ? (all ?? []).filter((j) => j.status === status) : all ?? []), [all, status]);
  return (
    <div className="page" data-testid="jobs-page">
      <header className="page-head">
        <div><h1>Jobs</h1><div className="subtitle">{all ? `${count(all.length)} jobs` : "\u00a0"}</div></div>
        <div className="actions"><a className="btn" href={url("timeline", {}, { download: 1 })} download="timeline.json" title="Chrome trace of every task; open in Perfetto or chrome://tracing">Download timeline</a></div>
      </header>
      <ErrorBanner error={jobs.error} what="the job list" />
      <div className="card flush">
        <DataTable rows={rows} columns={columns} rowKey={jobKey} rowTestId="job-row" testId="jobs-table"
          defaultSort={{ id: "start", desc: true }} loading={jobs.loading}
          toolbar={<StateCounts counts={counts} order={JOB_STATUSES} onPick={setStatus} active={status} testId="job-status-filter" />}
          onRowClick={(j) => navigate(href(["jobs", jobKey(j)]))} filterPlaceholder="Filter by id, entrypoint, message…"
          empty={<span>No jobs yet. Submit one with <code>stingray job submit -- node my_script.ts</code>.</span>} />
      </div>
    </div>
  );
}

/** Ids of a job list, for `Id` display elsewhere. */
export function JobRef(p: { job: JobDetails }): ReactNode {
  return <a href={href(["jobs", jobKey(p.job)])}><Id id={jobKey(p.job)} n={22} /></a>;
}
