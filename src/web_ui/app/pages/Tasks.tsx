/**
 * @module web_ui/pages/Tasks
 * Tasks by function and state (the server's summary, exact for any number of tasks), then the
 * task table (at most 10,000 listed; the state, job and actor filters are applied by the server).
 * A task opens its details: state history, and for a failed one the error with its remote stack.
 */
import { useMemo, type ReactNode } from "react";
import { TASK_STATES, type StateFilter, type TaskState, type TaskSummaryEntry } from "../../../dashboard/api_types.ts";
import { getText, listState, matchingCount, url } from "../api.ts";
import { DataTable, type Column } from "../components/DataTable.tsx";
import { LogView, useLogBuffer } from "../components/LogView.tsx";
import { Badge, Card, Drawer, ErrorBanner, Id, KeyValues, StateBar, StateCounts, stateLabel } from "../components/ui.tsx";
import { TASK_LIMIT, useTaskSummary, useTasks } from "../data.ts";
import { count, dateTime, duration, formatResources } from "../format.ts";
import { href, usePoll, useHashParam, useNow } from "../hooks.ts";

/** What needs a look first: failures, then work in progress, then what waits, then what is done. */
const ATTENTION: readonly string[] = ["FAILED", "RUNNING", "SUBMITTED_TO_WORKER", "PENDING_NODE_ASSIGNMENT", "PENDING_ARGS_AVAIL", "FINISHED"];

/** A function's name for display (tasks whose name was not recorded have none). */
function funcName(n: string): string { return n || "(unnamed)"; }

function firstLine(s: string | null): string { return s ? s.split("\n", 1)[0]! : ""; }

function taskKey(t: TaskState): string { return `${t.task_id}:${t.attempt_number}`; }

function taskDuration(t: TaskState, now: number): number | null {
  if (!t.start_time_ms) return null;
  return (t.end_time_ms ?? (t.state === "RUNNING" ? now : t.start_time_ms)) - t.start_time_ms;
}

function taskColumns(now: number): Column<TaskState>[] {
  return [
    { id: "id", header: "Task", width: 190, sort: (t) => t.task_id, text: (t) => t.task_id,
      render: (t) => <span><Id id={t.task_id} n={24} />{t.attempt_number > 0 && <span className="tag" title="Retry attempt">#{t.attempt_number}</span>}</span> },
    { id: "name", header: "Function", width: 200, sort: (t) => t.name || t.func_or_class_name, text: (t) => `${t.name} ${t.func_or_class_name}`,
      render: (t) => <span className="mono ellipsis" title={t.func_or_class_name}>{funcName(t.name || t.func_or_class_name)}</span> },
    { id: "state", header: "State", width: 150, sort: (t) => ATTENTION.indexOf(t.state), text: (t) => t.state, render: (t) => <Badge state={t.state} /> },
    { id: "type", header: "Type", width: 100, sort: (t) => t.type, render: (t) => <span className="muted small">{stateLabel(t.type.replace(/_TASK$/, ""))}</span> },
    { id: "job", header: "Job", width: 90, sort: (t) => t.job_id, render: (t) => <Id id={t.job_id} n={8} /> },
    { id: "node", header: "Node", width: 100, sort: (t) => t.node_id, render: (t) => <Id id={t.node_id} n={8} /> },
    { id: "pid", header: "PID", width: 70, align: "right", sort: (t) => t.worker_pid, render: (t) => t.worker_pid ?? <span className="muted">–</span> },
    { id: "duration", header: "Duration", width: 90, align: "right", sort: (t) => taskDuration(t, now), render: (t) => duration(taskDuration(t, now)) },
    { id: "error", header: "Error", sort: (t) => t.error_type, text: (t) => `${t.error_type ?? ""} ${t.error_message ?? ""}`,
      render: (t) => t.error_type || t.error_message
        ? <span className="error-text ellipsis" title={`${t.error_type ?? ""}: ${t.error_message ?? ""}`}>{firstLine(t.error_message) || t.error_type}</span>
        : null },
  ];
}

const SUMMARY_COLUMNS: Column<TaskSummaryEntry & { total: number }>[] = [
  { id: "func", header: "Function", sort: (e) => e.func_or_class_name, render: (e) => <span className="mono strong ellipsis" title={e.func_or_class_name}>{funcName(e.func_or_class_name)}</span> },
  { id: "type", header: "Type", width: 120, sort: (e) => e.type, render: (e) => <span className="muted small">{stateLabel(e.type.replace(/_TASK$/, ""))}</span> },
  { id: "bar", header: "States", width: 260, render: (e) => <StateBar counts={e.state_counts} order={TASK_STATES} height={12} /> },
  { id: "running", header: "Running", width: 90, align: "right", sort: (e) => e.state_counts.RUNNING ?? 0, render: (e) => count(e.state_counts.RUNNING ?? 0) },
  { id: "pending", header: "Pending", width: 90, align: "right",
    sort: (e) => (e.state_counts.PENDING_ARGS_AVAIL ?? 0) + (e.state_counts.PENDING_NODE_ASSIGNMENT ?? 0) + (e.state_counts.SUBMITTED_TO_WORKER ?? 0),
    render: (e) => count((e.state_counts.PENDING_ARGS_AVAIL ?? 0) + (e.state_counts.PENDING_NODE_ASSIGNMENT ?? 0) + (e.state_counts.SUBMITTED_TO_WORKER ?? 0)) },
  { id: "finished", header: "Finished", width: 90, align: "right", sort: (e) => e.state_counts.FINISHED ?? 0, render: (e) => count(e.state_counts.FINISHED ?? 0) },
  { id: "failed", header: "Failed", width: 80, align: "right", sort: (e) => e.state_counts.FAILED ?? 0,
    render: (e) => <span className={e.state_counts.FAILED ? "error-text strong" : undefined}>{count(e.state_counts.FAILED ?? 0)}</span> },
  { id: "total", header: "Total", width: 90, align: "right", sort: (e) => e.total, render: (e) => <b>{count(e.total)}</b> },
];

function TaskDrawer(p: { taskId: string; onClose: () => void }): ReactNode {
  const detail = usePoll(async (s) => {
    const r = await listState<TaskState>("listTasks", { limit: 10, detail: true, filters: [{ key: "task_id", predicate: "=", value: p.taskId }] }, s);
    return r.result.sort((a, b) => b.attempt_number - a.attempt_number);
  }, `task:${p.taskId}`, { intervalMs: 3000 });
  const logs = useLogBuffer();
  const { append, reset } = logs;
  const log = usePoll(async (s) => {
    const text = await getText(url("getLog", {}, { task_id: p.taskId, lines: 1000 }), s);
    reset();
    append(text);
    return true;
  }, `task-log:${p.taskId}`, { intervalMs: 5000 });
  const attempts = detail.data ?? [];
  const t = attempts[0];
  return (
    <Drawer title={<>Task {t ? <span className="mono strong">{t.name || t.func_or_class_name}</span> : null}</>} onClose={p.onClose} testId="task-drawer">
      <ErrorBanner error={detail.error} what="the task" />
      {detail.data && !t && <div className="muted">The cluster no longer lists task <code>{p.taskId}</code>.</div>}
      {t && (
        <>
          <KeyValues items={[
            ["Task id", <code className="id wrap">{t.task_id}</code>],
            ["State", <Badge state={t.state} testId="task-state" />],
            ["Attempts", String(attempts.length > 1 ? attempts.length : t.attempt_number + 1)],
            ["Function", <code className="mono wrap">{t.func_or_class_name}</code>],
            ["Type", stateLabel(t.type)],
            ["Job", <Id id={t.job_id} n={40} />],
            ["Actor", t.actor_id ? <a href={href(["actors"], { actor: t.actor_id })}><Id id={t.actor_id} /></a> : "–"],
            ["Node", t.node_id ? <a href={href(["nodes", t.node_id])}><Id id={t.node_id} /></a> : "–"],
            ["Worker", t.worker_pid ? `pid ${t.worker_pid}` : "–"],
            ["Resources", formatResources(t.required_resources) || "–"],
            ["Created", dateTime(t.creation_time_ms)],
            ["Ran", t.start_time_ms ? `${dateTime(t.start_time_ms)}${t.end_time_ms ? ` for ${duration(t.end_time_ms - t.start_time_ms)}` : ""}` : "–"],
          ]} />
          {(t.error_type || t.error_message || t.error_stack) && (
            <div className="drawer-section">
              <h3 className="error-text">{t.error_type ?? "Error"}</h3>
              {t.error_message && <p className="error-message" data-testid="task-error-message">{t.error_message}</p>}
              {t.error_stack ? <pre className="stack" data-testid="task-error-stack">{t.error_stack}</pre>
                : <div className="muted small">No stack was recorded.</div>}
            </div>
          )}
          {t.events.length > 0 && (
            <div className="drawer-section">
              <h3>State history</h3>
              <ol className="events">
                {t.events.map((e, i) => {
                  const next = t.events[i + 1];
                  return (
                    <li key={i}><Badge state={e.state} /> <span className="muted small">{dateTime(e.created_ms)}{next ? ` · ${duration(next.created_ms - e.created_ms)}` : ""}</span></li>
                  );
                })}
              </ol>
            </div>
          )}
        </>
      )}
      <div className="drawer-section">
        <h3>Output</h3>
        {log.error && !log.error.notServed && <ErrorBanner error={log.error} what="this task's output" />}
        <LogView buffer={logs.buffer} version={logs.version} height={260} empty={log.error?.notServed ? "No output recorded for this task." : "No output."} />
      </div>
    </Drawer>
  );
}

export function TasksPage(): ReactNode {
  const [state, setState] = useHashParam("state");
  const [job] = useHashParam("job");
  const [actor] = useHashParam("actor");
  const [func, setFunc] = useHashParam("func");
  const [selected, setSelected] = useHashParam("task");
  const now = useNow(2000);

  const scope = useMemo<StateFilter[]>(() => [
    ...(job ? [{ key: "job_id", predicate: "=" as const, value: job }] : []),
    ...(actor ? [{ key: "actor_id", predicate: "=" as const, value: actor }] : []),
  ], [job, actor]);
  const filters = useMemo<StateFilter[]>(() => [...scope, ...(state ? [{ key: "state", predicate: "=" as const, value: state }] : [])], [scope, state]);
  const summary = useTaskSummary(scope);
  const tasks = useTasks(filters);

  const entries = useMemo(() => Object.values(summary.data?.summary ?? {}).map((e) => ({
    ...e, total: Object.values(e.state_counts).reduce<number>((s, v) => s + (v ?? 0), 0),
  })), [summary.data]);
  const totals = useMemo(() => {
    const t: Partial<Record<string, number>> = {};
    for (const e of entries) for (const [k, v] of Object.entries(e.state_counts)) t[k] = (t[k] ?? 0) + (v ?? 0);
    return t;
  }, [entries]);
  const columns = useMemo(() => taskColumns(now), [now]);
  const selectedFunc = useMemo(() => {
    const e = func ? entries.find((x) => x.func_or_class_name === func) : undefined;
    return e ? `${e.func_or_class_name}:${e.type}` : undefined;
  }, [entries, func]);
  const all = tasks.data?.result;
  const rows = useMemo(() => (func ? (all ?? []).filter((t) => t.func_or_class_name === func) : all ?? []), [all, func]);
  const matching = tasks.data ? matchingCount(tasks.data) : undefined;

  return (
    <div className="page" data-testid="tasks-page">
      <header className="page-head">
        <div>
          <h1>Tasks</h1>
          <div className="subtitle">
            {summary.data ? `${count(summary.data.total_tasks)} tasks` : "\u00a0"}
            {job && <> · job <code>{job}</code></>}{actor && <> · actor <Id id={actor} /></>}
            {(job || actor) && <> · <a href="#/tasks">all tasks</a></>}
          </div>
        </div>
        <div className="actions">
          <a className="btn" href={url("timeline", {}, { download: 1, job_id: job || undefined })} download="timeline.json" data-testid="timeline-download"
            title="Chrome trace of the tasks; open in Perfetto (ui.perfetto.dev) or chrome://tracing">Download timeline</a>
        </div>
      </header>
      <ErrorBanner error={summary.error} what="the task summary" />
      {summary.data && summary.data.num_dropped_events > 0 && (
        <div className="banner warn">Events of {count(summary.data.num_dropped_events)} tasks were dropped (buffers full); the counts below are lower bounds.</div>
      )}
      <Card title="By function" className="flush" testId="task-summary">
        <DataTable rows={entries} columns={SUMMARY_COLUMNS} rowKey={(e) => `${e.func_or_class_name}:${e.type}`} rowTestId="task-summary-row"
          defaultSort={{ id: "total", desc: true }} loading={summary.loading} maxHeight={260} rowHeight={34}
          toolbar={<StateCounts counts={totals} order={TASK_STATES} onPick={setState} active={state} testId="task-state-filter" />}
          onRowClick={(e) => setFunc(func === e.func_or_class_name ? "" : e.func_or_class_name)} selectedKey={selectedFunc}
          filterPlaceholder="Filter functions…" empty="No tasks yet." />
      </Card>
      <ErrorBanner error={tasks.error} what="the task list" />
      {matching !== undefined && all && matching > all.length && (
        <div className="banner info">Listing {count(all.length)} of {count(matching)} {state ? stateLabel(state).toLowerCase() + " " : ""}tasks (the server sends at most {count(TASK_LIMIT)}). Narrow by state, job or function to see others.</div>
      )}
      <Card title={<>Task list{state && <> · <Badge state={state} /></>}{func && <> · <code>{func}</code> <button type="button" className="btn ghost small" onClick={() => setFunc("")}>✕</button></>}</>} className="flush">
        <DataTable rows={rows} columns={columns} rowKey={taskKey} rowTestId="task-row" testId="tasks-table"
          defaultSort={{ id: "state", desc: false }} loading={tasks.loading} maxHeight={640} total={func ? undefined : matching}
          rowClass={(t) => (t.state === "FAILED" ? "row-failed" : undefined)}
          onRowClick={(t) => setSelected(t.task_id)}
          filterPlaceholder="Filter by id, function, error…" empty={state ? `No ${stateLabel(state).toLowerCase()} tasks.` : "No tasks yet."} />
      </Card>
      {selected && <TaskDrawer taskId={selected} onClose={() => setSelected("")} />}
    </div>
  );
}
