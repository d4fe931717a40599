/**
 * @module web_ui/pages/Actors
 * Every actor (up to 10,000 listed; the total comes from the server): state, class, where it runs,
 * restarts and why it died. A row opens its details and its log.
 */
import { useMemo, type ReactNode } from "react";
import type { ActorState, ActorStateName } from "../../../dashboard/api_types.ts";
import { getText, matchingCount, url } from "../api.ts";
import { DataTable, type Column } from "../components/DataTable.tsx";
import { LogView, useLogBuffer } from "../components/LogView.tsx";
import { Badge, Drawer, ErrorBanner, Id, KeyValues, StateCounts } from "../components/ui.tsx";
import { useActors } from "../data.ts";
import { count, formatResources } from "../format.ts";
import { href, usePoll, useHashParam } from "../hooks.ts";

export const ACTOR_STATES: readonly ActorStateName[] = ["DEPENDENCIES_UNREADY", "PENDING_CREATION", "ALIVE", "RESTARTING", "DEAD"];

const COLUMNS: Column<ActorState>[] = [
  { id: "id", header: "Actor", width: 150, sort: (a) => a.actor_id, render: (a) => <Id id={a.actor_id} n={12} /> },
  { id: "class", header: "Class", sort: (a) => a.class_name, render: (a) => <span className="strong">{a.class_name}</span> },
  { id: "name", header: "Name", sort: (a) => a.name, text: (a) => `${a.name ?? ""} ${a.namespace}`,
    render: (a) => a.name ? <span title={`namespace ${a.namespace}`}>{a.name}</span> : <span className="muted">–</span> },
  { id: "state", header: "State", width: 150, sort: (a) => ACTOR_STATES.indexOf(a.state), text: (a) => a.state, render: (a) => <Badge state={a.state} /> },
  { id: "job", header: "Job", width: 100, sort: (a) => a.job_id, render: (a) => <Id id={a.job_id} /> },
  { id: "node", header: "Node", width: 120, sort: (a) => a.node_id, render: (a) => a.node_id ? <a href={href(["nodes", a.node_id])} onClick={(e) => e.stopPropagation()}><Id id={a.node_id} n={8} /></a> : <span className="muted">–</span> },
  { id: "pid", header: "PID", width: 80, align: "right", sort: (a) => a.pid, render: (a) => a.pid ?? <span className="muted">–</span> },
  { id: "restarts", header: "Restarts", width: 90, align: "right", sort: (a) => a.num_restarts,
    render: (a) => <span className={a.num_restarts > 0 ? "warn-text" : undefined}>{a.num_restarts}{a.max_restarts !== 0 && <span className="muted">/{a.max_restarts < 0 ? "∞" : a.max_restarts}</span>}</span> },
  { id: "death", header: "Death cause", sort: (a) => a.death_cause, render: (a) => <span className="muted" title={a.death_cause ?? ""}>{a.death_cause ?? ""}</span> },
];

function ActorDrawer(p: { actor: ActorState | undefined; actorId: string; onClose: () => void }): ReactNode {
  const a = p.actor;
  const logs = useLogBuffer();
  const { append, reset } = logs;
  const log = usePoll(async (s) => {
    const text = await getText(url("getLog", {}, { actor_id: p.actorId, lines: 1000 }), s);
    reset();
    append(text);
    return text.length;
  }, `actor-log:${p.actorId}`, { intervalMs: 4000 });
  return (
    <Drawer title={<>Actor {a ? <span className="strong">{a.class_name}</span> : null}</>} onClose={p.onClose} testId="actor-drawer">
      {!a ? <div className="muted">This actor is not in the list (any more).</div> : (
        <KeyValues items={[
          ["Actor id", <code className="id wrap">{a.actor_id}</code>],
          ["State", <Badge state={a.state} />],
          ["Name", a.name ? `${a.name} (namespace ${a.namespace})` : "–"],
          ["Job", <Id id={a.job_id} n={40} />],
          ["Node", a.node_id ? <a href={href(["nodes", a.node_id])}><Id id={a.node_id} n={40} /></a> : "–"],
          ["Worker", a.worker_id ? <>pid {a.pid ?? "?"} · <Id id={a.worker_id} /></> : "–"],
          ["Restarts", `${a.num_restarts} of ${a.max_restarts < 0 ? "unlimited" : a.max_restarts}`],
          ["Detached", a.is_detached ? "yes" : "no"],
          ["Resources", formatResources(a.required_resources) || "–"],
          ...(a.death_cause ? [["Death cause", <span className="error-text wrap">{a.death_cause}</span>] as [string, ReactNode]] : []),
        ]} />
      )}
      <div className="drawer-section">
        <h3>Log <a className="small" href={href(["tasks"], { actor: p.actorId })}>tasks of this actor →</a></h3>
        <ErrorBanner error={log.error} what="this actor's log" />
        <LogView buffer={logs.buffer} version={logs.version} height={320} empty="No output from this actor." />
      </div>
    </Drawer>
  );
}

export function ActorsPage(): ReactNode {
  const actors = useActors();
  const [state, setState] = useHashParam("state");
  const [selected, setSelected] = useHashParam("actor");
  const all = actors.data?.result;
  const counts = useMemo(() => {
    const c: Partial<Record<ActorStateName, number>> = {};
    for (const a of all ?? []) c[a.state] = (c[a.state] ?? 0) + 1;
    return c;
  }, [all]);
  const rows = useMemo(() => (state ? (all ?? []).filter((a) => a.state === state) : all ?? []), [all, state]);
  const actor = useMemo(() => all?.find((a) => a.actor_id === selected), [all, selected]);
  return (
    <div className="page" data-testid="actors-page">
      <header className="page-head">
        <div><h1>Actors</h1><div className="subtitle">{actors.data ? `${count(matchingCount(actors.data))} actors${counts.ALIVE ? `, ${count(counts.ALIVE)} alive` : ""}` : "\u00a0"}</div></div>
      </header>
      <ErrorBanner error={actors.error} what="the actor list" />
      {actors.data?.partial_failure_warning && <div className="banner warn">{actors.data.partial_failure_warning}</div>}
      <div className="card flush">
        <DataTable rows={rows} columns={COLUMNS} rowKey={(a) => a.actor_id} rowTestId="actor-row" testId="actors-table"
          defaultSort={{ id: "state", desc: false }} total={state || !actors.data ? undefined : matchingCount(actors.data)} loading={actors.loading} maxHeight={680}
          toolbar={<StateCounts counts={counts} order={ACTOR_STATES} onPick={setState} active={state} testId="actor-state-filter" />}
          onRowClick={(a) => setSelected(a.actor_id)} selectedKey={selected}
          filterPlaceholder="Filter by class, name, id, node…" empty="No actors in this cluster." />
      </div>
      {selected && <ActorDrawer actor={actor} actorId={selected} onClose={() => setSelected("")} />}
    </div>
  );
}
