/**
 * @module web_ui/pages/Login
 * Shown whenever the dashboard answers 401: the cluster token goes to POST /api/login, which sets
 * an HttpOnly cookie (the page never stores the token itself).
 */
import { useState, type FormEvent, type ReactNode } from "react";
import { login } from "../api.ts";
import { Logo } from "../components/Logo.tsx";

export function LoginPage(p: { message: string }): ReactNode {
  const [token, setToken] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (!token.trim()) { setError("Enter the cluster's auth token."); return; }
    setBusy(true);
    setError("");
    login(token.trim())
      .catch((err: unknown) => {
        const status = (err as { status?: number }).status;
        setError(status === 401 ? "That token does not match this cluster's. Print the right one on the head node with stingray get-auth-token."
          : (err as Error).message);
      })
      .finally(() => setBusy(false));
  };
  const wrongCookie = /wrong auth token/i.test(p.message);
  return (
    <div className="login-page">
      <form className="login-card" onSubmit={submit} data-testid="login-form">
        <div className="login-brand"><Logo size={36} /><div><h1>Stingray</h1><div className="muted">Cluster dashboard</div></div></div>
        <p>This dashboard needs the cluster's auth token. Print it on the head node with</p>
        <pre className="cmd">stingray get-auth-token</pre>
        {wrongCookie && <div className="banner warn">The saved login is no longer valid (the cluster was restarted?). Log in again.</div>}
        <label htmlFor="token">Auth token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" autoFocus value={token}
          onChange={(e) => setToken(e.target.value)} data-testid="login-token" placeholder="Paste the token" />
        {error && <div className="banner error" role="alert" data-testid="login-error">{error}</div>}
        <button type="submit" className="btn primary wide" disabled={busy} data-testid="login-submit">{busy ? "Logging in…" : "Log in"}</button>
        <p className="muted small">The token is kept in an HttpOnly cookie for this site only; log out to remove it.</p>
      </form>
    </div>
  );
}
