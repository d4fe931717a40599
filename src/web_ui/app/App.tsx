/**
 * @module web_ui/App
 * The shell: the sidebar (navigation, connection state, log out), the page for the current hash
 * route, and the login page whenever the server says 401.
 */
import { useEffect, useState, type ReactNode } from "react";
import type { VersionResponse } from "../../dashboard/api_types.ts";
import { getJson, logout, routePath } from "./api.ts";
import { Icon, Logo } from "./components/Logo.tsx";
import { useRoute } from "./hooks.ts";
import { ActorsPage } from "./pages/Actors.tsx";
import { JobDetailPage } from "./pages/JobDetail.tsx";
import { JobsPage } from "./pages/Jobs.tsx";
import { LoginPage } from "./pages/Login.tsx";
import { LogsPage } from "./pages/Logs.tsx";
import { MetricsPage } from "./pages/Metrics.tsx";
import { NodeDetailPage } from "./pages/NodeDetail.tsx";
import { NodesPage } from "./pages/Nodes.tsx";
import { OverviewPage } from "./pages/Overview.tsx";
import { TasksPage } from "./pages/Tasks.tsx";
import { useAppState } from "./store.ts";

const NAV = [
  { id: "overview", label: "Overview" },
  { id: "nodes", label: "Nodes" },
  { id: "jobs", label: "Jobs" },
  { id: "actors", label: "Actors" },
  { id: "tasks", label: "Tasks" },
  { id: "logs", label: "Logs" },
  { id: "metrics", label: "Metrics" },
] as const;

function Page(p: { parts: string[] }): ReactNode {
  const [section = "overview", id] = p.parts;
  switch (section) {
    case "overview": return <OverviewPage />;
    case "nodes": return id ? <NodeDetailPage nodeId={id} /> : <NodesPage />;
    case "jobs": return id ? <JobDetailPage jobId={id} /> : <JobsPage />;
    case "actors": return <ActorsPage />;
    case "tasks": return <TasksPage />;
    case "logs": return <LogsPage />;
    case "metrics": return <MetricsPage />;
    default:
      return (
        <div className="page">
          <h1>Page not found</h1>
          <p>There is no page at <code>#/{p.parts.join("/")}</code>. <a href="#/overview">Go to the overview</a>.</p>
        </div>
      );
  }
}

export function App(): ReactNode {
  const app = useAppState();
  const route = useRoute();
  const [version, setVersion] = useState<VersionResponse | undefined>(undefined);

  // The first request decides whether a login is needed; it also names the cluster in the sidebar.
  useEffect(() => {
    if (app.auth === "needed") return;
    const ctrl = new AbortController();
    getJson<VersionResponse>(routePath("version"), ctrl.signal).then(setVersion, () => {});
    return () => ctrl.abort();
  }, [app.auth]);

  const section = route.parts[0] ?? "overview";
  useEffect(() => {
    const label = NAV.find((n) => n.id === section)?.label;
    document.title = `${label ? `${label} · ` : ""}Stingray${version ? ` · ${version.session_name}` : ""}`;
  }, [section, version]);

  if (app.auth === "needed") return <LoginPage message={app.authMessage} />;
  if (app.auth === "unknown" && app.connected) return <div className="splash"><Logo size={48} /><div className="muted">Connecting…</div></div>;

  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <a className="brand" href="#/overview"><Logo /><span>Stingray</span></a>
        {version && <div className="session" title="Session name">{version.session_name}</div>}
        <ul className="nav">
          {NAV.map((n) => (
            <li key={n.id}>
              <a href={`#/${n.id}`} className={section === n.id ? "active" : undefined} data-testid={`nav-${n.id}`}
                aria-current={section === n.id ? "page" : undefined}>
                <Icon name={n.id} /><span>{n.label}</span>
              </a>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <div className={`conn ${app.connected ? "ok" : "down"}`} data-testid="connection-status">
            <span className="dot" />{app.connected ? "Live" : "Disconnected"}
          </div>
          {version && <div className="muted small">v{version.stingray_version}</div>}
          <button type="button" className="btn ghost small" onClick={() => void logout()} data-testid="logout-button">
            <Icon name="logout" /> Log out
          </button>
        </div>
      </nav>
      <main className="main">
        {!app.connected && (
          <div className="banner error sticky" role="alert" data-testid="connection-banner">
            <strong>The dashboard server cannot be reached.</strong> The data below may be out of date; retrying every few seconds.
          </div>
        )}
        <Page parts={route.parts} />
      </main>
    </div>
  );
}
