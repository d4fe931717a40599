/**
 * @module web_ui/pages/Logs
 * Log files of every node: pick a node, then a file (grouped by category as the server lists
 * them), then read its last lines or follow it live.
 */
import { useMemo, useState, type ReactNode } from "react";
import type { LogListing } from "../../../dashboard/api_types.ts";
import { getState, getText, url } from "../api.ts";
import { LogView, useLogBuffer, useLogStream } from "../components/LogView.tsx";
import { Badge, Empty, ErrorBanner } from "../components/ui.tsx";
import { useNodes } from "../data.ts";
import { count } from "../format.ts";
import { usePoll, useHashParam } from "../hooks.ts";

const LINE_CHOICES = [1000, 10_000, 50_000];

function FileList(p: { nodeId: string; file: string; onPick: (f: string) => void }): ReactNode {
  const listing = usePoll((s) => getState<LogListing>(url("listLogs", {}, { node_id: p.nodeId }), s), `log-list:${p.nodeId}`, { intervalMs: 10_000 });
  const [filter, setFilter] = useState("");
  const cats = useMemo(() => {
    const f = filter.toLowerCase();
    return Object.entries(listing.data?.categories ?? {})
      .map(([cat, files]) => [cat, [...files].filter((x) => x.toLowerCase().includes(f)).sort()] as const)
      .filter(([, files]) => files.length > 0)
      .sort(([a], [b]) => a.localeCompare(b));
  }, [listing.data, filter]);
  const n = cats.reduce((s, [, f]) => s + f.length, 0);
  return (
    <div className="file-list" data-testid="log-files">
      <input className="filter wide" type="search" placeholder="Filter files…" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter log files" />
      <ErrorBanner error={listing.error} what="the log files" />
      {listing.data && n === 0 && <div className="muted small pad">{filter ? "No file matches." : "No log files on this node."}</div>}
      {cats.map(([cat, files]) => (
        <div key={cat} className="file-cat">
          <div className="file-cat-name">{cat} <span className="muted">{files.length}</span></div>
          <ul>
            {files.map((f) => (
              <li key={f}>
                <button type="button" className={`file ${f === p.file ? "active" : ""}`} onClick={() => p.onPick(f)} title={f} data-testid="log-file">{f}</button>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </div>
  );
}

function Viewer(p: { nodeId: string; file: string }): ReactNode {
  const [follow, setFollow] = useHashParam("follow");
  const [linesParam, setLines] = useHashParam("lines", "1000");
  const [search, setSearch] = useState("");
  const lines = Number(linesParam) || 1000;
  const logs = useLogBuffer();
  const { append, reset } = logs;
  const following = follow === "1";
  const base = { node_id: p.nodeId, filename: p.file, lines };
  const snapshot = usePoll(async (s) => {
    const text = await getText(url("getLog", {}, base), s);
    reset();
    append(text);
    return text.length;
  }, `log:${p.nodeId}:${p.file}:${lines}`, { intervalMs: 0, enabled: !following });
  const stream = useLogStream(following ? url("getLog", {}, { ...base, follow: 1 }) : null, append, reset);
  // Leaving follow mode re-enables the snapshot query, which reads the file again.
  const { refresh } = snapshot;

  return (
    <div className="viewer" data-testid="log-viewer">
      <div className="viewer-head">
        <div className="viewer-title mono" title={p.file}>{p.file}</div>
        <div className="viewer-tools">
          {following
            ? <span className={`live-dot ${stream.status === "live" ? "on" : ""}`}>{stream.status === "live" ? "Following" : stream.status === "connecting" ? "Connecting…" : stream.status === "ended" ? "Ended" : "Disconnected"}</span>
            : <button type="button" className="btn small" onClick={refresh}>Reload</button>}
          <label className="toggle" title="Stream new lines as they are written">
            <input type="checkbox" checked={following} onChange={(e) => setFollow(e.target.checked ? "1" : "")} data-testid="log-follow" /> Follow
          </label>
          <select value={lines} onChange={(e) => setLines(e.target.value)} aria-label="Lines to load">
            {LINE_CHOICES.map((n) => <option key={n} value={n}>last {count(n)} lines</option>)}
          </select>
          <input className="filter" type="search" placeholder="Search…" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search the log" />
          <a className="btn small" href={url("getLog", {}, { node_id: p.nodeId, filename: p.file, lines: 50_000 })} download={p.file}>Download</a>
        </div>
      </div>
      {!following && <ErrorBanner error={snapshot.error} what="this file" />}
      {following && stream.error && <div className="banner warn">{stream.error}</div>}
      <LogView buffer={logs.buffer} version={logs.version} search={search} testId="log-view"
        empty={snapshot.loading && !following ? "Loading…" : "This file is empty."} />
    </div>
  );
}

export function LogsPage(): ReactNode {
  const nodes = useNodes();
  const [nodeParam, setNode] = useHashParam("node");
  const [file, setFile] = useHashParam("file");
  const list = nodes.data?.result;
  const head = list?.find((n) => n.is_head_node && n.state === "ALIVE") ?? list?.find((n) => n.state === "ALIVE");
  const nodeId = nodeParam || head?.node_id || "";
  const node = list?.find((n) => n.node_id === nodeId);
  return (
    <div className="page logs-page" data-testid="logs-page">
      <header className="page-head">
        <div><h1>Logs</h1><div className="subtitle">Files on each node: daemons, workers, job drivers</div></div>
        <div className="actions">
          <label className="field">
            Node
            <select value={nodeId} onChange={(e) => { setFile(""); setNode(e.target.value); }} data-testid="log-node-select" aria-label="Node">
              {!node && nodeId && <option value={nodeId}>{nodeId}</option>}
              {(list ?? []).map((n) => (
                <option key={n.node_id} value={n.node_id}>{n.node_name || n.node_ip}{n.is_head_node ? " (head)" : ""}{n.state === "DEAD" ? " – dead" : ""} · {n.node_id.slice(0, 8)}</option>
              ))}
            </select>
          </label>
          {node && <Badge state={node.state} />}
        </div>
      </header>
      <ErrorBanner error={nodes.error} what="the node list" />
      {!nodeId ? (nodes.data && <Empty title="No nodes">The cluster lists no nodes, so there are no logs to show.</Empty>) : (
        <div className="logs-layout">
          <FileList nodeId={nodeId} file={file} onPick={setFile} />
          {file ? <Viewer key={`${nodeId}/${file}`} nodeId={nodeId} file={file} />
            : <div className="viewer"><Empty title="Pick a file">Choose a log file on the left to read it; turn on Follow to watch it grow.</Empty></div>}
        </div>
      )}
    </div>
  );
}
